import { CreateDBClusterSnapshotCommand, type DBClusterSnapshot } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { rotationTags } from '#aws/ownership.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { SnapshotResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertClusterSnapshotHealthy, assertClusterSnapshotOwned } from './checks.js';
import { findClusterSnapshot, locateSource } from './lookups.js';

/**
 * Snapshot the source cluster (still under the old key) and wait until the snapshot is `available`.
 * Reconciles like the instance step: a re-run finds its own snapshot by name and checks it is ours.
 * A stopped Aurora cluster can be snapshotted. The source's user tags are passed explicitly when it
 * copies tags to snapshots (CreateDBClusterSnapshot with `Tags` takes exactly those).
 */
export const snapshotCluster = async (state: ClusterState): Promise<SnapshotResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const id = plan.names.sourceSnapshotIdentifier;
  const waiting = (status: string, snapshot?: DBClusterSnapshot): SnapshotResult => ({
    done: false,
    poll: nextPoll(state.sourceSnapshot?.poll, 'snapshotSource', status, `The cluster snapshot ${id}`, {
      percent: snapshot?.PercentProgress,
      awaits: awaiting('CLUSTER_SNAPSHOT', id, RDS_EVENTS.clusterSnapshotCreated),
    }),
    ...clusterSnapshotFields(id, status, snapshot),
  });

  let snapshot = await findClusterSnapshot(rds, id);
  if (!snapshot) {
    const located = await locateSource(rds, plan);
    if (!located) {
      throw new PreconditionFailedError(
        `The source DB cluster ${plan.source.dbClusterIdentifier} no longer exists, so it cannot be snapshotted. ` +
          'It was deleted while the rotation ran; nothing else was changed.',
      );
    }
    try {
      const { DBClusterSnapshot: created } = await rds.send(
        new CreateDBClusterSnapshotCommand({
          DBClusterIdentifier: located.identifier,
          DBClusterSnapshotIdentifier: id,
          Tags: rotationTags(
            plan,
            'source-snapshot',
            plan.source.config.copyTagsToSnapshot ? plan.source.config.tags : {},
          ),
        }),
      );
      logger.info('creating the source cluster snapshot', {
        dbClusterSnapshotIdentifier: id,
        dbClusterIdentifier: located.identifier,
      });
      if (!created) return waiting('creating');
      snapshot = created;
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.alreadyExists)) {
        return waiting('creating');
      }
      if (isAwsError(error, ...RDS_ERRORS.cluster.invalidState)) return waiting('waiting-for-source');
      if (isAwsError(error, ...RDS_ERRORS.cluster.notFound)) {
        throw new PreconditionFailedError(
          `The source DB cluster ${located.identifier} disappeared before it could be snapshotted; nothing else was changed.`,
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.quotaExceeded)) {
        throw new PreconditionFailedError(
          `RDS refused to snapshot ${located.identifier}: the Region's manual DB cluster snapshot quota is used up. ` +
            'Delete old manual cluster snapshots or ask for a higher quota, then start a new rotation.',
          { cause: error },
        );
      }
      throw error;
    }
  }

  assertClusterSnapshotOwned(snapshot, plan, 'source snapshot');
  assertClusterSnapshotHealthy(snapshot, 'source');
  const status = snapshot.Status ?? 'unknown';
  if (status === 'available') return { done: true, ...clusterSnapshotFields(id, status, snapshot) };
  return waiting(status, snapshot);
};

export const clusterSnapshotFields = (
  id: string,
  status: string,
  snapshot: DBClusterSnapshot | undefined,
) => ({
  snapshotIdentifier: id,
  snapshotArn: snapshot?.DBClusterSnapshotArn ?? null,
  kmsKeyId: snapshot?.KmsKeyId ?? null,
  status,
});
