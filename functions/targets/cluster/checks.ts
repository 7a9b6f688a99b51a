import type { DBCluster, DBClusterSnapshot } from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { isTerminalInstanceStatus } from '#aws/rds.js';
import { PreconditionFailedError, ResourceFailedError } from '#domain/errors.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { ClusterPlan } from '#domain/plan.js';
import { asideIdentifier } from './lookups.js';

/** The health and ownership checks of the cluster steps: a terminal status fails, what is not ours is refused. */

/** Cluster statuses that will not become `available` (or `stopped`) on their own. */
const TERMINAL_CLUSTER_STATUS = [
  /^failed$/,
  /^incompatible-/,
  /^inaccessible-encryption-credentials/,
  /^storage-full$/,
  /^migration-failed$/,
];

export const assertClusterHealthy = (cluster: DBCluster, role: string): void => {
  const status = cluster.Status ?? 'unknown';
  if (TERMINAL_CLUSTER_STATUS.some((pattern) => pattern.test(status))) {
    throw new ResourceFailedError(
      `The ${role} DB cluster ${cluster.DBClusterIdentifier} is in status "${status}", which RDS does not recover from by itself. ` +
        'See the RDS console events for the cluster.',
    );
  }
};

export const assertMemberHealthy = (status: string, id: string, role: string): void => {
  if (isTerminalInstanceStatus(status)) {
    throw new ResourceFailedError(
      `The ${role} DB instance ${id} is in status "${status}", which RDS does not recover from by itself. ` +
        'See the RDS console events for the instance.',
    );
  }
};

export const assertClusterSnapshotHealthy = (snapshot: DBClusterSnapshot, role: string): void => {
  const status = snapshot.Status ?? 'unknown';
  if (status === 'failed' || status === 'error' || status === 'incompatible-restore') {
    throw new ResourceFailedError(
      `The ${role} cluster snapshot ${snapshot.DBClusterSnapshotIdentifier} is in status "${status}". ` +
        'Delete it in the RDS console (or let rollback do it) and start a new rotation.',
    );
  }
};

const tagValue = (tags: { Key?: string; Value?: string }[] | undefined, key: string) =>
  (tags ?? []).find((t) => t.Key === key)?.Value;

const whyNotOurs = (tags: { Key?: string; Value?: string }[] | undefined): string => {
  const found = tagValue(tags, TAG_ROTATION_ID);
  return found === undefined
    ? `it has no ${TAG_ROTATION_ID} tag`
    : `its ${TAG_ROTATION_ID} tag is "${found}"`;
};

/** Throws unless the cluster snapshot was taken from the source cluster and carries this rotation's tag. */
export const assertClusterSnapshotOwned = (
  snapshot: DBClusterSnapshot,
  plan: ClusterPlan,
  what: string,
): void => {
  const id = snapshot.DBClusterSnapshotIdentifier ?? '(unknown)';
  const sourceIds = [plan.source.dbClusterIdentifier, asideIdentifier(plan)].filter(Boolean);
  const problems: string[] = [];
  if (!sourceIds.includes(snapshot.DBClusterIdentifier ?? '')) {
    problems.push(
      `it was taken from DB cluster ${snapshot.DBClusterIdentifier ?? '(unknown)'}, not ${plan.source.dbClusterIdentifier}`,
    );
  }
  if (!carriesRotationId(snapshot.TagList, plan.rotationId)) problems.push(whyNotOurs(snapshot.TagList));
  if (problems.length > 0) {
    throw new PreconditionFailedError(
      `A DB cluster snapshot named ${id} already exists, but it is not the ${what} of rotation ${plan.rotationId}: ` +
        `${problems.join('; ')}. Rekey never adopts a snapshot it did not create. Nothing was changed; ` +
        'find out who owns that snapshot, then start the rotation under another execution name.',
    );
  }
};

/** Throws unless the cluster or instance carries this rotation's id. */
export const assertOwned = (
  tags: { Key?: string; Value?: string }[] | undefined,
  what: string,
  plan: ClusterPlan,
): void => {
  if (carriesRotationId(tags, plan.rotationId)) return;
  throw new PreconditionFailedError(
    `A ${what} already exists, but it was not created by rotation ${plan.rotationId} (${whyNotOurs(tags)}). ` +
      'Rekey never adopts, changes or cuts over to a database it did not create, and did not touch it. ' +
      'Find out who owns it, then start the rotation under another execution name.',
  );
};

/** True when the cluster carries this rotation's id (it is the new cluster). */
export const carriesOurTag = (cluster: DBCluster, plan: ClusterPlan): boolean =>
  carriesRotationId(cluster.TagList, plan.rotationId);
