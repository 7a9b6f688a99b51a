import { ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DeleteDBInstanceCommand, DeleteDBSnapshotCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { type KeyScanCursor, scanForKeyOfRotation } from '#aws/kms-key-scan.js';
import { describeKeyOrNull, listKeyTags } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance, findSnapshot } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError } from '#domain/errors.js';
import type { ObservedKey, RollbackFact } from '#domain/facts.js';
import { TAG_PROPAGATION_WINDOW_MS, UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { setDeletionProtection } from './deletion-protection.js';

const NOT_NOW = [...RDS_ERRORS.instance.invalidState, ...RDS_ERRORS.snapshot.invalidState];
const GONE = [...RDS_ERRORS.instance.notFound, ...RDS_ERRORS.snapshot.notFound];

export interface CleanupStep {
  /** False while something is still being deleted: poll again. */
  done: boolean;
  /** What this call removed (or, for the key, could not), as facts. */
  removed: RollbackFact[];
  /** The unaliased-key search's cursor while it is not finished. */
  keySearch?: KeyScanCursor;
  /** The keys RDS reported on the new resources this call found (see ObservedKey). */
  observed?: ObservedKey[];
}

/**
 * Removes what a failed rotation created before any client could use it: the restored instance,
 * both snapshots, then the new key (scheduled for deletion with the minimum window, once nothing
 * under it remains). Only resources carrying this rotation's `rekey:rotation-id` tag are touched,
 * and anything already gone is fine, so it can run any number of times. One call does what can be
 * done now and reports `done: false` while a deletion is still in progress.
 */
export const removeArtifacts = async (state: RotationState): Promise<CleanupStep> => {
  const { plan } = state;
  const { rds } = getClients();
  const removed: RollbackFact[] = [];

  const db = await findInstance(rds, plan.names.newDbInstanceIdentifier);
  if (db && carriesRotationId(db.TagList, plan.rotationId)) {
    const id = plan.names.newDbInstanceIdentifier;
    const observed: ObservedKey[] = [
      { resource: 'db-instance', identifier: id, kmsKeyArn: db.KmsKeyId ?? null },
    ];
    if (db.DBInstanceStatus !== 'deleting') {
      try {
        if (db.DeletionProtection) {
          await setDeletionProtection(rds, 'db-instance', id, false);
        } else {
          await rds.send(
            new DeleteDBInstanceCommand({
              DBInstanceIdentifier: id,
              SkipFinalSnapshot: true,
              DeleteAutomatedBackups: true,
            }),
          );
          removed.push({ kind: 'deleted', resource: 'db-instance', identifier: id });
        }
      } catch (error) {
        if (!isAwsError(error, ...NOT_NOW, ...GONE)) throw error;
      }
    }
    return { done: false, removed, observed };
  }
  // Gone, though this rotation created it: an earlier attempt of this rollback deleted it and its
  // answer was lost. Say so again, so a re-run reports what the first run did.
  if (!db && state.restore) {
    removed.push({
      kind: 'deleted',
      resource: 'db-instance',
      identifier: plan.names.newDbInstanceIdentifier,
    });
  }

  // An Aurora plan has no copy (its names have no copySnapshotIdentifier).
  const created = new Map([
    ...(plan.names.copySnapshotIdentifier
      ? [[plan.names.copySnapshotIdentifier, state.copySnapshot] as const]
      : []),
    [plan.names.sourceSnapshotIdentifier, state.sourceSnapshot] as const,
  ]);
  for (const [snapshotId, createdBy] of created) {
    const snapshot = await findSnapshot(rds, snapshotId);
    const deleted: RollbackFact = { kind: 'deleted', resource: 'db-snapshot', identifier: snapshotId };
    if (!snapshot && createdBy) removed.push(deleted);
    if (!snapshot || !carriesRotationId(snapshot.TagList, plan.rotationId)) continue;
    try {
      await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshotId }));
      removed.push(deleted);
    } catch (error) {
      if (isAwsError(error, ...GONE)) continue;
      if (isAwsError(error, ...NOT_NOW)) return { done: false, removed };
      throw error;
    }
  }

  const key = await scheduleUnusedKey(state);
  if (key === 'wait') return { done: false, removed };
  if (key && 'search' in key) return { done: false, removed, keySearch: key.search };
  if (key) removed.push(key);
  return { done: true, removed };
};

/** The rollback does not know its Lambda's remaining time: the page budget alone bounds the search. */
const UNTIMED = { remainingMs: () => Number.POSITIVE_INFINITY };

/**
 * Schedules this rotation's new key for deletion. Returns what it did, `null` if there was nothing
 * to do, or `'wait'` while a denial may still be KMS's tag propagation.
 */
const scheduleUnusedKey = async (
  state: RotationState,
): Promise<RollbackFact | null | 'wait' | { search: KeyScanCursor }> => {
  const { plan } = state;
  const { kms } = getClients();
  // Without CreateKey's result, the key may still exist: CreateKey (or the CreateAlias after it) failed
  // or lost its answer after KMS created the key. Then it has no alias, only this rotation's tag.
  // A CreateKey still searching for such a key (a NewKey without keyId) has not found one yet.
  // The search reads a bounded share of the account's keys per poll (as CreateKey's does).
  let metadata = state.newKey?.keyId
    ? await describeKeyOrNull(kms, state.newKey.keyId)
    : await describeKeyOrNull(kms, plan.names.keyAlias);
  if (!metadata && !state.newKey?.keyId) {
    const step = await scanForKeyOfRotation(kms, plan.rotationId, state.rollback?.keySearch, UNTIMED);
    if (step.status === 'more') return { search: step.cursor };
    metadata = step.status === 'found' ? step.key : null;
  }
  if (!metadata?.KeyId || metadata.KeyManager !== 'CUSTOMER') return null;
  const tags = await listKeyTags(kms, metadata.KeyId);
  if (tags.get(TAG_ROTATION_ID) !== plan.rotationId) {
    logger.warn('not scheduling a key that is not this rotation’s', { keyId: metadata.KeyId });
    return null;
  }
  // Scheduled by an earlier attempt whose answer was lost: report it as that attempt would have.
  const keyArn = metadata.Arn ?? metadata.KeyId;
  if (metadata.KeyState === 'PendingDeletion') return scheduled(keyArn, metadata.DeletionDate);
  let DeletionDate: Date | undefined;
  try {
    ({ DeletionDate } = await kms.send(
      new ScheduleKeyDeletionCommand({
        KeyId: metadata.KeyId,
        PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
      }),
    ));
  } catch (error) {
    if (!isAwsError(error, 'AccessDeniedException')) throw error;
    const age = Date.now() - (metadata.CreationDate?.getTime() ?? 0);
    // The rollback's permission is conditioned on the rotation-id tag, which KMS may take minutes
    // to authorize on: a denial this soon after the key's creation means "not yet".
    if (age < TAG_PROPAGATION_WINDOW_MS) return 'wait';
    logger.warn('not allowed to schedule the unused new key', { keyId: metadata.KeyId });
    return { kind: 'key-not-scheduled', keyArn, errorName: 'AccessDeniedException' };
  }
  return scheduled(keyArn, DeletionDate);
};

const scheduled = (keyArn: string, deletionDate: Date | undefined): RollbackFact => ({
  kind: 'key-scheduled-for-deletion',
  keyArn,
  deletionDate: deletionDate?.toISOString() ?? null,
  windowDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
});
