import {
  type DBCluster,
  type DBClusterSnapshot,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { isTerminalInstanceStatus } from '#aws/rds.js';
import { isAwsError, PreconditionFailedError, ResourceFailedError } from '#domain/errors.js';
import type { ClusterNames } from '#domain/naming.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { ClusterPlan } from '#domain/plan.js';

/** Shared by the cluster steps: lookups, names and ownership checks for Aurora clusters. */

export const CLUSTER_NOT_FOUND = ['DBClusterNotFoundFault', 'DBClusterNotFound'];
export const CLUSTER_NOT_NOW = ['InvalidDBClusterStateFault', 'InvalidDBClusterState'];
export const INSTANCE_NOT_NOW = ['InvalidDBInstanceStateFault', 'InvalidDBInstanceState'];
export const INSTANCE_NOT_FOUND = ['DBInstanceNotFoundFault', 'DBInstanceNotFound'];
export const CLUSTER_SNAPSHOT_NOT_FOUND = ['DBClusterSnapshotNotFoundFault', 'DBClusterSnapshotNotFound'];

/** The cluster, or `null` when it does not exist (any other error propagates). */
export const findCluster = async (rds: RDSClient, dbClusterIdentifier: string): Promise<DBCluster | null> => {
  try {
    const { DBClusters } = await rds.send(
      new DescribeDBClustersCommand({ DBClusterIdentifier: dbClusterIdentifier }),
    );
    return DBClusters?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, ...CLUSTER_NOT_FOUND)) return null;
    throw error;
  }
};

/** The manual cluster snapshot, or `null` when it does not exist. */
export const findClusterSnapshot = async (
  rds: RDSClient,
  identifier: string,
): Promise<DBClusterSnapshot | null> => {
  try {
    const { DBClusterSnapshots } = await rds.send(
      new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }),
    );
    return DBClusterSnapshots?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, ...CLUSTER_SNAPSHOT_NOT_FOUND)) return null;
    throw error;
  }
};

/** The cluster names of a cluster plan (preflight always sets them). */
export const clusterNames = (plan: ClusterPlan): ClusterNames => {
  if (!plan.names.cluster) {
    throw new PreconditionFailedError(
      'The rotation plan has no cluster names. This is a bug in preflight: report it with the execution ARN.',
    );
  }
  return plan.names.cluster;
};

/** The aside identifier when the plan renames, else `null`. */
export const asideIdentifier = (plan: ClusterPlan): string | null =>
  plan.cutover.type === 'rename' ? plan.cutover.asideIdentifier : null;

/** True when `cluster` is the source this plan described (not a new cluster that now has its name). */
export const isSourceCluster = (cluster: DBCluster, plan: ClusterPlan): boolean => {
  if (carriesRotationId(cluster.TagList, plan.rotationId)) return false;
  const expected = plan.source.dbClusterResourceId;
  return !expected || !cluster.DbClusterResourceId || cluster.DbClusterResourceId === expected;
};

/**
 * Where the source cluster is now. A rename cutover moves it aside before the freeze, so the aside
 * name wins when it exists; after the cutover the original name holds the NEW cluster, which
 * `isSourceCluster` tells apart.
 */
export const locateSource = async (
  rds: RDSClient,
  plan: ClusterPlan,
): Promise<{ cluster: DBCluster; identifier: string; aside: boolean } | null> => {
  const aside = asideIdentifier(plan);
  if (aside) {
    const found = await findCluster(rds, aside);
    if (found && isSourceCluster(found, plan)) return { cluster: found, identifier: aside, aside: true };
  }
  const original = await findCluster(rds, plan.source.dbClusterIdentifier);
  if (original && isSourceCluster(original, plan)) {
    return { cluster: original, identifier: plan.source.dbClusterIdentifier, aside: false };
  }
  return null;
};

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

/** Source members, writer first: the writer is created first so it becomes the new cluster's writer. */
export const membersWriterFirst = (plan: ClusterPlan) =>
  [...plan.source.members].sort((a, b) => Number(b.isWriter) - Number(a.isWriter));

/** True when the cluster carries this rotation's id (it is the new cluster). */
export const carriesOurTag = (cluster: DBCluster, plan: ClusterPlan): boolean =>
  carriesRotationId(cluster.TagList, plan.rotationId);
