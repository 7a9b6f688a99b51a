import { type KeyMetadata, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DeleteDBClusterSnapshotCommand, DeleteDBSnapshotCommand, type RDSClient } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { describeKeyOrNull, isPendingDeletion } from '#aws/kms-keys.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { decisionsOf, isKeyPendingWindow } from '#domain/decisions.js';
import { InvalidInputError, isAwsError, PreconditionFailedError, WaitTimeoutError } from '#domain/errors.js';
import { type KindNames, namesOfKind } from '#domain/kinds.js';
import { KEY_PENDING_WINDOW_DAYS, POLL_LIMITS, type Poll, SCAN_BUDGETS } from '#domain/limits.js';
import type { RotationPlan } from '#domain/plan.js';
import type { OldKeyOutcome } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { NO_DEADLINE, type StepContext } from '#runtime/handler.js';
import { logger } from '#runtime/logger.js';
import {
  continueInventory,
  describe,
  type EncryptedResource,
  type Inventory,
  inventoryStatus,
  isComplete,
  label,
} from './encrypted-under.js';

/** How many blocking resources the reason names before it says "and N more". */
const NAMED_IN_REASON = 5;

export const AWS_MANAGED_KEY_REASON =
  'The old key is the AWS-managed aws/rds key, which can never be scheduled for deletion; it stays.';

/**
 * RetireKey's result while its inventory is not finished: a true `Retained` outcome (the key has
 * not been scheduled), so that the evidence and the rollback read it as such if the execution
 * ends here, plus the progress and the next check.
 */
export type OldKeyInProgress = Extract<OldKeyOutcome, { state: 'Retained' }> & {
  done: false;
  poll: Poll;
  inventory: Inventory;
};

/**
 * Retire the old key: schedule its deletion only when nothing but this rotation's own disposable
 * artifact (the source snapshot, superseded by the re-encrypted copy) is still encrypted under it
 * in RDS. Otherwise keep it and say which resources keep it alive. Runs last, after the old
 * instance was deleted (or retained).
 *
 * The source snapshot is deleted whenever the inventory completes, whether the key goes or stays:
 * by then the cutover was verified and the old database deleted, so no rollback can need it (a
 * rollback after a verified cutover undoes nothing), and its data is in the new database and in
 * the re-encrypted copy. Left behind, it would keep the shared key alive for the rotation of the
 * key's last database (a fleet runs the databases of one old key one after another). Only this
 * rotation's own snapshot: another rotation's source snapshot, a user's snapshot or anything else
 * under the key keeps the key.
 *
 * The inventory reads every RDS resource of the account and Region, a bounded share per call
 * (encrypted-under.ts): until it is complete the step returns `{ done: false, poll }` and the state
 * machine calls it again; only a complete inventory can delete the snapshot or schedule the deletion.
 *
 * Re-runnable: a key already pending deletion is reported as it is; the source snapshot is deleted
 * tolerating that an earlier attempt deleted it.
 */
export const retireKey = async (
  state: RotationState,
  { remainingMs = NO_DEADLINE.remainingMs }: Partial<StepContext> = {},
): Promise<OldKeyOutcome | OldKeyInProgress> => {
  const { plan } = state;
  const keyArn = plan.source.kmsKeyArn;

  // Preflight decided; this step follows the decision and checks only what may have changed since.
  const decision = decisionsOf(plan).oldKey;
  if (decision.action === 'retain') return retained(keyArn, decision.reason);
  if (state.retireInstance?.outcome !== 'deleted') {
    const why = state.retireInstance?.reason ? ` (${state.retireInstance.reason})` : '';
    return retained(
      keyArn,
      `The old ${namesOfKind(plan.kind).noun} ${plan.target.identifier} was not deleted${why} and is still encrypted under the old key, so the key stays.`,
    );
  }
  const pendingWindowDays = checkedPendingWindow(decision.pendingWindowDays, keyArn);

  const { kms, rds } = getClients();
  const key = await describeKeyOrNull(kms, keyArn);
  if (!key?.KeyId) {
    throw new PreconditionFailedError(
      `The old key ${keyArn} no longer exists (KMS DescribeKey: not found), so there is nothing to retire. ` +
        'The new database is in service; check in CloudTrail who deleted the key and when.',
    );
  }
  // The plan's key facts came from DescribeKey in preflight; KMS has the last word.
  if (key.KeyManager === 'AWS') return retained(keyArn, AWS_MANAGED_KEY_REASON);
  if (isPendingDeletion(key)) {
    logger.info('the old key is already pending deletion', { keyArn, deletionDate: key.DeletionDate });
    return pendingDeletion(keyArn, key, pendingWindowDays);
  }

  // A cluster rotation's source snapshot is a DB cluster snapshot with the same name pattern.
  const ownLabel = label({
    kind: namesOfKind(plan.kind).snapshotResource,
    id: plan.names.sourceSnapshotIdentifier,
  });
  const isOwnArtifact = (r: EncryptedResource) => label(r) === ownLabel;
  const previous = inProgressOf(state.oldKey);
  const inventory = await continueInventory(rds, keyArn, plan, isOwnArtifact, previous?.inventory, {
    remainingMs,
  });
  if (!isComplete(inventory)) return inProgress(keyArn, inventory, previous, ownLabel);

  // Disposable whether the key goes or stays: the old database is gone and clients use the new one.
  if (inventory.ownArtifactAt !== null) {
    await deleteSourceSnapshot(
      rds,
      plan.names.sourceSnapshotIdentifier,
      namesOfKind(plan.kind).snapshotResource,
    );
  }
  if (inventory.blockingCount > 0) {
    const encryptedResources = inventory.blocking.map(label);
    logger.warn('the old key is still in use; it is kept', {
      keyArn,
      encryptedResources,
      blockingCount: inventory.blockingCount,
    });
    // Made by this rotation (SnapshotSource ran): gone now, deleted above or by an earlier attempt.
    const sourceSnapshotDeleted = state.sourceSnapshot !== undefined || inventory.ownArtifactAt !== null;
    return {
      state: 'Retained',
      keyArn,
      reason: blockingReason(keyArn, key.KeyId, pendingWindowDays, inventory, plan, sourceSnapshotDeleted),
      encryptedResources,
      ...(sourceSnapshotDeleted && { sourceSnapshotDeleted }),
    };
  }
  return scheduleDeletion(keyArn, key.KeyId, pendingWindowDays);
};

/** What is under the key, in the order the inventory found it (at most KEPT_BY_NAME others). */
const encryptedLabels = ({ blocking, ownArtifactAt }: Inventory, ownLabel: string): string[] => {
  const labels = blocking.map(label);
  if (ownArtifactAt !== null) labels.splice(Math.min(ownArtifactAt, labels.length), 0, ownLabel);
  return labels;
};

const inProgressOf = (slot: RotationState['oldKey']): OldKeyInProgress | undefined =>
  slot && 'inventory' in slot ? (slot as OldKeyInProgress) : undefined;

const inProgress = (
  keyArn: string,
  inventory: Inventory,
  previous: OldKeyInProgress | undefined,
  ownLabel: string,
): OldKeyInProgress => {
  const attempt = (previous?.poll.attempt ?? 0) + 1;
  const cap = POLL_LIMITS.retireKey;
  const lastStatus = inventoryStatus(inventory);
  if (attempt > cap) {
    throw new WaitTimeoutError(
      `RetireKey did not finish the inventory of RDS resources encrypted under the old key ${keyArn} in ${cap} calls ` +
        `(${lastStatus}), so the key was not scheduled for deletion and stays usable. The new database is in service. ` +
        'Check with the console or aws rds describe-db-snapshots that nothing you need is still encrypted under the ' +
        'key, then schedule its deletion yourself (aws kms schedule-key-deletion).',
    );
  }
  return {
    state: 'Retained',
    keyArn,
    reason:
      `RetireKey had not finished its inventory of what is still encrypted under the old key (${lastStatus}), ` +
      'so the key has not been scheduled for deletion.',
    encryptedResources: encryptedLabels(inventory, ownLabel),
    done: false,
    poll: { attempt, waitSeconds: SCAN_BUDGETS.continueSeconds, lastStatus },
    inventory,
  };
};

const retained = (keyArn: string, reason: string): OldKeyOutcome => ({
  state: 'Retained',
  keyArn,
  reason,
  encryptedResources: [],
});

const pendingDeletion = (keyArn: string, key: KeyMetadata, pendingWindowDays: number): OldKeyOutcome => ({
  state: 'PendingDeletion',
  keyArn,
  deletionDate: toIso(key.DeletionDate),
  pendingWindowDays,
});

const toIso = (date: Date | string | undefined): string =>
  date ? new Date(date).toISOString() : 'unknown (see the key in the KMS console)';

/**
 * The plan carries a waiting period the input schema accepted; a plan edited by hand (a sample
 * event, a redriven execution) may not. KMS refuses a period outside KEY_PENDING_WINDOW_DAYS, but
 * moto silently ignores it, so it is checked here, before anything is deleted.
 */
const checkedPendingWindow = (days: unknown, keyArn: string): number => {
  if (isKeyPendingWindow(days)) return days;
  const { min, max, default: usual } = KEY_PENDING_WINDOW_DAYS;
  throw new InvalidInputError(
    `plan.decisions.oldKey.pendingWindowDays is ${JSON.stringify(days)}: the KMS waiting period must be a whole number ` +
      `of days from ${min} to ${max}. The old key ${keyArn} was not scheduled for deletion; schedule it by hand with ` +
      `aws kms schedule-key-deletion --key-id ${keyArn.split('/').pop()} --pending-window-in-days ${usual} (or ${min} to ${max}).`,
  );
};

const scheduleDeletion = async (
  keyArn: string,
  keyId: string,
  pendingWindowDays: number,
): Promise<OldKeyOutcome> => {
  const { kms } = getClients();
  try {
    // The key id, not the ARN: valid on AWS, and moto answers HTTP 500 for an ARN.
    const result = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }),
    );
    logger.info('scheduled the old key for deletion', { keyArn, deletionDate: result.DeletionDate });
    return {
      state: 'PendingDeletion',
      keyArn,
      deletionDate: toIso(result.DeletionDate),
      pendingWindowDays: result.PendingWindowInDays ?? pendingWindowDays,
    };
  } catch (error) {
    // A concurrent attempt scheduled it first: KMS refuses a second schedule with KMSInvalidStateException.
    if (!isAwsError(error, 'KMSInvalidStateException')) throw error;
    const key = await describeKeyOrNull(kms, keyId);
    if (!key || !isPendingDeletion(key)) throw error;
    return pendingDeletion(keyArn, key, pendingWindowDays);
  }
};

const deleteSourceSnapshot = async (
  rds: RDSClient,
  snapshotIdentifier: string,
  resource: KindNames['snapshotResource'],
): Promise<void> => {
  try {
    if (resource === 'db-cluster-snapshot') {
      await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotIdentifier }));
      logger.info(
        'deleted the source cluster snapshot (the new cluster was restored from it under the new key)',
        {
          snapshotIdentifier,
        },
      );
      return;
    }
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
    logger.info('deleted the source snapshot (superseded by the re-encrypted copy)', { snapshotIdentifier });
  } catch (error) {
    if (!isAwsError(error, ...RDS_ERRORS.snapshot.notFound, ...RDS_ERRORS.clusterSnapshot.notFound))
      throw error;
  }
};

const blockingReason = (
  keyArn: string,
  keyId: string,
  pendingWindowDays: number,
  { blocking, blockingCount }: Inventory,
  plan: RotationPlan,
  sourceSnapshotDeleted: boolean,
): string => {
  const named = blocking.slice(0, NAMED_IN_REASON).map(describe).join(', ');
  const more = blockingCount > NAMED_IN_REASON ? ` and ${blockingCount - NAMED_IN_REASON} more` : '';
  const count = blockingCount === 1 ? '1 other RDS resource is' : `${blockingCount} other RDS resources are`;
  const deleted = sourceSnapshotDeleted
    ? ` This rotation's source snapshot ${plan.names.sourceSnapshotIdentifier} was deleted: the old database is gone ` +
      (plan.kind === 'cluster'
        ? 'and its data is in the new cluster, restored from that snapshot under the new key.'
        : 'and its data is in the new database and in the re-encrypted copy.')
    : '';
  return (
    `The old key ${keyArn} is kept because ${count} still encrypted under it: ${named}${more}. ` +
    'Deleting the key would make them unreadable. Re-encrypt them under another key (copy snapshots with a new ' +
    'KmsKeyId, or run Rekey for each instance) or delete those you no longer need, then schedule the deletion ' +
    `yourself: aws kms schedule-key-deletion --key-id ${keyId} --pending-window-in-days ${pendingWindowDays}.${deleted}`
  );
};
