import { CopyDBClusterSnapshotCommand, type DBClusterSnapshot } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { isSameKey } from '#aws/kms-keys.js';
import { rotationTags } from '#aws/ownership.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError, ValidationFailedError } from '#domain/errors.js';
import { userTags } from '#domain/instance-config.js';
import type { SnapshotResult } from '#domain/results.js';
import { type ClusterState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertClusterSnapshotHealthy, assertClusterSnapshotOwned } from './checks.js';
import { findClusterSnapshot } from './lookups.js';
import { clusterSnapshotFields } from './snapshot.js';

/**
 * Copy the source cluster snapshot with `KmsKeyId` = the new key: the data is re-encrypted here.
 * CopyTags stays false and the source snapshot's user tags go in `Tags` (see the instance step).
 * Once `available`, the copy must be under the new key.
 */
export const copyClusterSnapshot = async (state: ClusterState): Promise<SnapshotResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const id = plan.names.copySnapshotIdentifier;
  const sourceId = plan.names.sourceSnapshotIdentifier;
  const waiting = (status: string, snapshot?: DBClusterSnapshot): SnapshotResult => ({
    done: false,
    poll: nextPoll(
      state.copySnapshot?.poll,
      'copySnapshot',
      status,
      `The re-encrypting copy ${id} of ${sourceId}`,
    ),
    ...clusterSnapshotFields(id, status, snapshot),
  });

  let copy = await findClusterSnapshot(rds, id);
  if (!copy) {
    const source = await findClusterSnapshot(rds, sourceId);
    if (!source) {
      throw new PreconditionFailedError(
        `The source cluster snapshot ${sourceId} no longer exists, so it cannot be copied under the new key. ` +
          'Someone deleted it while the rotation ran; start a new rotation.',
      );
    }
    assertClusterSnapshotOwned(source, plan, 'source snapshot');
    try {
      const { DBClusterSnapshot: created } = await rds.send(
        new CopyDBClusterSnapshotCommand({
          SourceDBClusterSnapshotIdentifier: sourceId,
          TargetDBClusterSnapshotIdentifier: id,
          KmsKeyId: newKey.keyArn,
          CopyTags: false,
          Tags: rotationTags(plan, 'reencrypted-snapshot', userTags(source.TagList)),
        }),
      );
      logger.info('copying the source cluster snapshot under the new key', { from: sourceId, to: id });
      if (!created) return waiting('creating');
      copy = created;
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.alreadyExists)) {
        return waiting('creating');
      }
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.invalidState)) {
        return waiting('waiting-for-source-snapshot');
      }
      if (isAwsError(error, ...RDS_ERRORS.kms.keyNotAccessible)) {
        throw new PreconditionFailedError(
          `RDS cannot use the new key ${newKey.keyArn} to copy ${sourceId} (${error.message}). ` +
            'Check that the key is Enabled and that its key policy lets this role call kms:CreateGrant and ' +
            'kms:DescribeKey through RDS, then start a new rotation.',
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.quotaExceeded)) {
        throw new PreconditionFailedError(
          `RDS refused to copy ${sourceId}: the Region's manual DB cluster snapshot quota is used up. ` +
            'Delete old manual cluster snapshots or ask for a higher quota, then start a new rotation.',
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.notFound)) {
        throw new PreconditionFailedError(
          `The source cluster snapshot ${sourceId} disappeared before it could be copied. Start a new rotation.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  assertClusterSnapshotOwned(copy, plan, 're-encrypted copy');
  assertClusterSnapshotHealthy(copy, 're-encrypted');
  const status = copy.Status ?? 'unknown';
  if (status !== 'available') return waiting(status, copy);
  if (!isSameKey(copy.KmsKeyId, newKey.keyArn, plan)) {
    throw new ValidationFailedError(
      `The cluster snapshot copy ${id} is encrypted with ${copy.KmsKeyId ?? 'no KMS key'}, not with the new key ` +
        `${newKey.keyArn}, so restoring it would not move the data to the new key. Delete the copy and start a new rotation.`,
    );
  }
  return { done: true, ...clusterSnapshotFields(id, status, copy) };
};
