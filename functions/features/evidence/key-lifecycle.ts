import { namesOfKind } from '#domain/kinds.js';
import type { RotationPlan } from '#domain/plan.js';
import { type AddResource, type EvidenceState, rdsArn, type StepTime } from './context.js';
import type { EvidenceRecord, ExecutionStatus, KeyEvidence } from './schema.js';

/**
 * The keys in the record: the new key and its alias as CreateKey made them, the old key as
 * RetireKey left it (scheduled for deletion, with the source snapshot deleted first, or retained),
 * and what became of the old key when RetireKey never ran. Pure.
 */

/** The new key and its alias (CreateKey). */
export const addNewKeyResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: AddResource,
  stepAt: StepTime,
) => {
  const { newKey } = state;
  if (newKey) {
    add({
      kind: 'kms-key',
      identifier: newKey.keyId,
      arn: newKey.keyArn,
      action: 'created',
      at: stepAt('CreateKey'),
      detail: newKey.created
        ? `new customer-managed key, alias ${newKey.alias}`
        : `new customer-managed key, alias ${newKey.alias} (found: an earlier attempt of this rotation created it)`,
    });
    add({
      kind: 'kms-alias',
      identifier: newKey.alias,
      arn: `arn:${plan.partition}:kms:${plan.region}:${plan.accountId}:${newKey.alias}`,
      action: 'created',
      at: stepAt('CreateKey'),
      detail: `points at ${newKey.keyArn}`,
    });
  }
};

/** The old key, and the source snapshot RetireKey deleted (before the key's deletion was scheduled, or while it keeps the key). */
export const addOldKeyResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: AddResource,
  stepAt: StepTime,
) => {
  const kind = namesOfKind(plan.kind);
  const oldKey = state.oldKey;
  if (oldKey) {
    const at = stepAt('RetireKey');
    const sourceSnapshotDeleted = (detail: string) => {
      if (!state.sourceSnapshot) return;
      add({
        kind: kind.snapshotResource,
        identifier: state.sourceSnapshot.snapshotIdentifier,
        arn:
          state.sourceSnapshot.snapshotArn ??
          rdsArn(plan, kind.snapshotArnType, state.sourceSnapshot.snapshotIdentifier),
        action: 'deleted',
        at,
        detail,
      });
    };
    if (oldKey.state === 'PendingDeletion') {
      sourceSnapshotDeleted(
        'the last thing encrypted under the old key, deleted before its deletion was scheduled',
      );
      add({
        kind: 'kms-key',
        identifier: oldKey.keyArn.split('/').pop() ?? oldKey.keyArn,
        arn: oldKey.keyArn,
        action: 'scheduled-for-deletion',
        at,
        detail: `KMS deletes it on ${oldKey.deletionDate} (waiting period ${oldKey.pendingWindowDays} days)`,
      });
    } else {
      if (oldKey.sourceSnapshotDeleted) {
        sourceSnapshotDeleted(
          'superseded by the re-encrypted copy once the old database was deleted; the old key is kept for what else is under it',
        );
      }
      add({
        kind: 'kms-key',
        identifier: oldKey.keyArn.split('/').pop() ?? oldKey.keyArn,
        arn: oldKey.keyArn,
        action: 'retained',
        at,
        detail: oldKey.reason,
      });
    }
  }
};

export const oldKeyOutcomeOf = (
  state: EvidenceState,
  status: ExecutionStatus,
): EvidenceRecord['oldKeyOutcome'] => {
  const oldKey = state.oldKey;
  if (oldKey?.state === 'PendingDeletion') {
    return { state: 'PendingDeletion', deletionDate: oldKey.deletionDate, reason: null };
  }
  if (oldKey?.state === 'Retained') return { state: 'Retained', deletionDate: null, reason: oldKey.reason };
  const reasons: Partial<Record<ExecutionStatus, string>> = {
    SKIPPED: 'duplicate start: this execution did nothing',
    FAILED:
      'the rotation failed before RetireKey: the old key was not touched (the rollback never touches it)',
    ABORTED:
      'the execution was stopped before RetireKey finished: Rekey did not schedule its deletion (keys.old.keyState is what KMS says now)',
    TIMED_OUT:
      'the execution timed out before RetireKey finished: Rekey did not schedule its deletion (keys.old.keyState is what KMS says now)',
  };
  return { state: 'Untouched', deletionDate: null, reason: reasons[status] ?? null };
};

/** The old key as KMS describes it now, with the waiting period RetireKey asked for when KMS leaves it out. */
export const oldKeyEvidence = (state: EvidenceState, old: KeyEvidence | null): KeyEvidence | null =>
  old && state.oldKey?.state === 'PendingDeletion'
    ? { ...old, pendingWindowDays: old.pendingWindowDays ?? state.oldKey.pendingWindowDays }
    : old;
