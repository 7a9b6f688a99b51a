import type { FailureInfo } from './results.js';

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
