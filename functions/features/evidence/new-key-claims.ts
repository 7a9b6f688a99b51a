import type { FailureInfo } from '#domain/results.js';
import type { EvidenceState } from './context.js';
import { foundKeysOf } from './facts.js';

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

/** The new database (a restored instance or cluster). */
export const restoredDetail = (state: EvidenceState): string => {
  if (state.validation) return 'restored from the re-encrypted snapshot; validated under the new key';
  const found = foundInstead(state);
  if (found) return `restored from the copied snapshot; validation found it under ${found}, NOT the new key`;
  return 'restored from the copied snapshot; its key was never validated (the rotation ended before ValidateInstance passed)';
};

/** The Blue/Green deployment's green resources. */
export const greenDetail = (state: EvidenceState, deploymentName: string): string => {
  if (state.greenValidation) return `${deploymentName}: green resources, validated under the new key`;
  const found = foundInstead(state);
  if (found) return `${deploymentName}: green resources; validation found ${found}, NOT the new key`;
  return `${deploymentName}: green resources, asked to be created under the new key (never validated)`;
};
