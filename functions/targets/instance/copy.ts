import { CopyDBSnapshotCommand, type DBSnapshot } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { resolveToSameKey } from '#aws/kms-keys.js';
import { assertSnapshotOwned, rotationTags } from '#aws/ownership.js';
import { assertSnapshotHealthy, findSnapshot } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError, ValidationFailedError } from '#domain/errors.js';
import { userTags } from '#domain/instance-config.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { SnapshotResult } from '#domain/results.js';
import { type InstanceState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * Copy the source snapshot with `KmsKeyId` = the new key: this is where the data is re-encrypted.
 * Reconciles like `snapshot-source`; once the copy is `available` it must be under the new key.
 *
 * Tags: `CopyTags` and `Tags` are never merged. The API reference only says CopyTags copies all
 * of the source snapshot's tags (default false); measured on AWS (getmoto/moto#8320), a request
 * with `Tags` gets exactly those tags and CopyTags is ignored. So CopyTags stays false and the
 * source snapshot's user tags are passed in `Tags`, next to this rotation's own tags.
 */
export const copyInstanceSnapshot = async (state: InstanceState): Promise<SnapshotResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const id = plan.names.copySnapshotIdentifier;
  const sourceSnapshotId = state.sourceSnapshot?.snapshotIdentifier ?? plan.names.sourceSnapshotIdentifier;
  const what = `The re-encrypting copy ${id} of ${sourceSnapshotId}`;
  const waiting = (status: string, snapshot?: DBSnapshot): SnapshotResult => ({
    done: false,
    poll: nextPoll(state.copySnapshot?.poll, 'copySnapshot', status, what, {
      percent: snapshot?.PercentProgress,
      awaits: awaiting('SNAPSHOT', id, RDS_EVENTS.snapshotCopied),
      expectedSeconds: EXPECTED_SECONDS.copy(plan.source.config.allocatedStorage),
    }),
    ...snapshotFields(id, status, snapshot),
  });

  let copy = await findSnapshot(rds, id);
  if (!copy) {
    const source = await findSnapshot(rds, sourceSnapshotId);
    if (!source) {
      throw new PreconditionFailedError(
        `The source snapshot ${sourceSnapshotId} no longer exists, so it cannot be copied under the new key. ` +
          'Someone deleted it while the rotation ran; start a new rotation.',
      );
    }
    assertSnapshotOwned(source, plan, 'source snapshot');
    try {
      const { DBSnapshot: created } = await rds.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: sourceSnapshotId,
          TargetDBSnapshotIdentifier: id,
          KmsKeyId: newKey.keyArn,
          CopyTags: false,
          Tags: rotationTags(plan, 'reencrypted-snapshot', userTags(source.TagList)),
        }),
      );
      logger.info('copying the source snapshot under the new key', {
        from: sourceSnapshotId,
        to: id,
        kmsKeyId: newKey.keyArn,
      });
      if (!created) return waiting('creating');
      copy = created;
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.snapshot.alreadyExists)) {
        return waiting('creating');
      }
      if (isAwsError(error, ...RDS_ERRORS.snapshot.invalidState)) {
        logger.info('the source snapshot cannot be copied yet', { error: error.message });
        return waiting('waiting-for-source-snapshot');
      }
      if (isAwsError(error, ...RDS_ERRORS.kms.keyNotAccessible)) {
        throw new PreconditionFailedError(
          `RDS cannot use the new key ${newKey.keyArn} to copy ${sourceSnapshotId} (${error.message}). ` +
            'Check that the key is Enabled and that its key policy lets this role call kms:CreateGrant and ' +
            'kms:DescribeKey through RDS, then start a new rotation.',
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.snapshot.quotaExceeded)) {
        throw new PreconditionFailedError(
          `RDS refused to copy ${sourceSnapshotId}: the Region's manual DB snapshot quota is used up. ` +
            'Delete old manual snapshots or ask for a higher quota (Service Quotas: "Manual DB instance snapshots"), ' +
            'then start a new rotation.',
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.snapshot.notFound)) {
        throw new PreconditionFailedError(
          `The source snapshot ${sourceSnapshotId} disappeared before it could be copied. Start a new rotation.`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  assertSnapshotOwned(copy, plan, 're-encrypted copy');
  assertSnapshotHealthy(copy, 're-encrypted');
  const status = copy.Status ?? 'unknown';
  if (status !== 'available') return waiting(status, copy);

  await assertUnderKey(copy, newKey.keyArn);
  logger.info('the re-encrypted copy is available under the new key', { dbSnapshotIdentifier: id });
  return { done: true, ...snapshotFields(id, status, copy) };
};

const assertUnderKey = async (copy: DBSnapshot, keyArn: string): Promise<void> => {
  const id = copy.DBSnapshotIdentifier;
  const reported = copy.KmsKeyId;
  let matches = false;
  let detail = '';
  if (reported) {
    try {
      matches = await resolveToSameKey(getClients().kms, reported, keyArn);
    } catch (error) {
      detail = ` (KMS could not describe it: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`;
    }
  }
  if (!matches) {
    throw new ValidationFailedError(
      `The snapshot copy ${id} is encrypted with ${reported ?? 'no KMS key'}${detail}, not with the new key ` +
        `${keyArn}, so restoring it would not move the data to the new key. Delete the copy and start a new rotation.`,
    );
  }
};

const snapshotFields = (id: string, status: string, snapshot: DBSnapshot | undefined) => ({
  snapshotIdentifier: id,
  snapshotArn: snapshot?.DBSnapshotArn ?? null,
  kmsKeyId: snapshot?.KmsKeyId ?? null,
  status,
});
