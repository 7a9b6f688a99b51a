import { COPY_NOT_NEEDED, type SnapshotResult } from '#domain/results.js';
import { type ClusterState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

/**
 * An Aurora cluster needs no copy: RestoreDBClusterFromSnapshot takes `KmsKeyId`, so RestoreInstance
 * restores the new cluster straight from the source snapshot under the new key
 * (docs/aws-facts.md#restore). The state machine never enters CopySnapshot for a cluster
 * (SnapshotSourceDone? goes on to RestoreInstance). This entry answers only an execution that
 * started on an earlier definition, which still passes through CopySnapshot: it copies nothing,
 * makes no AWS call, and lets it go on to the restore.
 */
export const noClusterCopy = async (state: ClusterState): Promise<SnapshotResult> => {
  const source = required(state, 'sourceSnapshot');
  logger.info('no copy for an Aurora cluster: the restore re-encrypts under the new key', {
    sourceSnapshotIdentifier: source.snapshotIdentifier,
  });
  return {
    done: true,
    snapshotIdentifier: source.snapshotIdentifier,
    snapshotArn: source.snapshotArn,
    kmsKeyId: source.kmsKeyId,
    status: COPY_NOT_NEEDED,
  };
};
