import type { RotationPlan } from '#domain/plan.js';
import { COPY_NOT_NEEDED, type FailureInfo } from '#domain/results.js';
import type { EvidenceState } from './context.js';
import { foundKeysOf } from './facts.js';
import type { ReencryptionEvidence } from './schema.js';

/**
 * Every sentence of the record that says which key a resource is under. A resource is said to be
 * under the new key only when a step read it back so: the copy step's snapshot key, or a passed
 * validation. Otherwise the sentence says what was found, or that nothing checked it. Pure.
 */

/** True when `reported` (a key ARN, key id or alias ARN as RDS gives it) names the new key. */
const isNewKey = (state: EvidenceState, reported: string | null | undefined): boolean => {
  const key = state.newKey;
  if (!key || !reported) return false;
  return reported === key.keyArn || reported === key.keyId || reported.endsWith(`:key/${key.keyId}`);
};

/** What a failed validation found instead of the new key, as "under <key>[, <key>]", or null. */
const foundInstead = (state: EvidenceState): string | null => {
  const failure = state.failure as FailureInfo | undefined;
  if (failure?.Error !== 'ValidationFailedError') return null;
  const found = foundKeysOf(state);
  return found.length > 0 ? found.join(', ') : null;
};

export const sourceSnapshotDetail = (kmsKeyId: string | null): string =>
  `snapshot of the source, under the old key${kmsKeyId ? ` (key ${kmsKeyId})` : ''}`;

export const copyDetail = (state: EvidenceState): string => {
  const reported = state.copySnapshot?.kmsKeyId ?? null;
  // A copy is done only once CopySnapshot read its key back as the new key (alias ARNs resolved).
  if (state.copySnapshot?.done === true || isNewKey(state, reported)) {
    return `copy of the source snapshot, re-encrypted under the new key (key ${reported})`;
  }
  return reported
    ? `copy of the source snapshot, encrypted under ${reported}: NOT the new key ${state.newKey?.keyArn ?? ''}`.trimEnd()
    : 'copy of the source snapshot, asked to be re-encrypted under the new key (the copy reported no key)';
};

/** True when CopySnapshot made (or began) a copy; a cluster's step of an earlier definition copied nothing. */
export const copyWasMade = (state: EvidenceState): boolean =>
  state.copySnapshot !== undefined && state.copySnapshot.status !== COPY_NOT_NEEDED;

/**
 * How the snapshot path moved the data to the new key, or null (Blue/Green, or no plan yet): a DB
 * instance through a copy of the source snapshot under the new key, an Aurora cluster by its
 * restore (RestoreDBClusterFromSnapshot with KmsKeyId = the new key), with no copy. What the
 * restore step recorded wins; an execution that started on an earlier definition may have copied
 * a cluster's snapshot, and then says so.
 */
export const reencryptionOf = (state: EvidenceState): ReencryptionEvidence | null => {
  const plan = state.plan as RotationPlan | undefined;
  if (!plan?.names || plan.strategy?.used === 'blue-green') return null;
  const copyId = plan.names.copySnapshotIdentifier ?? null;
  const recorded = state.restore?.restoredFrom;
  const byRestore = recorded
    ? recorded.reencryptedBy === 'restore'
    : plan.kind === 'cluster' && !copyWasMade(state);
  if (byRestore) {
    return {
      method: 'restore',
      restoredFrom: recorded?.snapshotIdentifier ?? plan.names.sourceSnapshotIdentifier,
      copySnapshotIdentifier: null,
      detail:
        'restored directly from the source snapshot under the new key (RestoreDBClusterFromSnapshot with KmsKeyId); no re-encrypting copy',
    };
  }
  return {
    method: 'snapshot-copy',
    restoredFrom: recorded?.snapshotIdentifier ?? copyId ?? plan.names.sourceSnapshotIdentifier,
    copySnapshotIdentifier: copyId,
    detail:
      'the source snapshot was copied under the new key (the copy re-encrypts), and the new database restored from the copy',
  };
};

/** The new database (a restored instance or cluster). */
export const restoredDetail = (state: EvidenceState): string => {
  const direct = reencryptionOf(state)?.method === 'restore';
  // Only a passed validation makes the copy "re-encrypted" (what it was read back as).
  const from = (validated: boolean) =>
    direct
      ? 'restored directly from the source snapshot under the new key (no re-encrypting copy)'
      : `restored from the ${validated ? 're-encrypted' : 'copied'} snapshot`;
  if (state.validation) return `${from(true)}; validated under the new key`;
  const found = foundInstead(state);
  if (found) return `${from(false)}; validation found it under ${found}, NOT the new key`;
  return `${from(false)}; its key was never validated (the rotation ended before ValidateInstance passed)`;
};

/** The Blue/Green deployment's green resources. */
export const greenDetail = (state: EvidenceState, deploymentName: string): string => {
  if (state.greenValidation) return `${deploymentName}: green resources, validated under the new key`;
  const found = foundInstead(state);
  if (found) return `${deploymentName}: green resources; validation found ${found}, NOT the new key`;
  return `${deploymentName}: green resources, asked to be created under the new key (never validated)`;
};
