import { approvalFailureMessage } from './approval.js';
import type { FailureInfo } from './results.js';
import type { RotationState } from './state.js';

/**
 * The pieces of the failure cause every rollback writes: what went wrong, what was undone, what
 * is left, what became of the old key. Each rollback adds its own sentences between them.
 */

/** The message of the original error: Lambda reports it as a JSON document in `Cause`. */
export const messageOf = (failure: FailureInfo | undefined): string => {
  if (!failure) return 'The rotation failed for an unknown reason.';
  try {
    const parsed = JSON.parse(failure.Cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is the message itself.
  }
  return failure.Cause || failure.Error;
};

/** The failure's message as a sentence (ending in a full stop). */
export const failureSentence = (failure: FailureInfo | undefined): string =>
  messageOf(failure).replace(/\.?$/, '.');

/** The cause's first sentence: the approval gate's verdict when it ended the rotation, else the failure. */
export const whatWentWrong = (state: RotationState): string =>
  approvalFailureMessage(state) ?? failureSentence(state.failure);

/** The whole cause when the rotation changed nothing (refused in preflight, or the lock was held). */
export const nothingChangedCause = (failure: FailureInfo | undefined): string =>
  `${failureSentence(failure)} Nothing was changed in AWS.`;

export const undoneSentence = (undone: readonly string[]): string =>
  undone.length > 0 ? `Undone: ${undone.join('; ')}.` : 'Nothing needed undoing.';

/** "Left in place (why): a, b. <what to do>", or nothing when nothing is left. */
export const leftInPlaceSentences = (
  leftBehind: readonly string[],
  why: string | null,
  nextStep = 'Delete them when done (README: Rolling back by hand).',
): string[] =>
  leftBehind.length > 0
    ? [`Left in place${why ? ` (${why})` : ''}: ${leftBehind.join(', ')}. ${nextStep}`]
    : [];

/** Where the old key stands: a rollback never touches it, but RetireKey may have scheduled it. */
export const oldKeySentence = (state: RotationState, ifUntouched = ''): string =>
  state.oldKey?.state === 'PendingDeletion'
    ? `The old key ${state.oldKey.keyArn} is scheduled for deletion on ${state.oldKey.deletionDate}; cancel with aws kms cancel-key-deletion if needed.`
    : `The old key ${state.plan.source.kmsKeyArn} was not touched${ifUntouched}.`;
