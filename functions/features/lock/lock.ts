import type { RotationTarget } from '#domain/input.js';
import { namesOfKind } from '#domain/kinds.js';
import { DAY_SECONDS, LOCK_TTL_SECONDS } from '#domain/limits.js';
import type { RotationPlan } from '#domain/plan.js';

/**
 * One rotation at a time per database and per old key. The lock is two items in a DynamoDB table
 * written in one transaction with `attribute_not_exists(lockKey) OR rotationId = :mine`, so it is
 * atomic across executions and re-entrant for this one (a retried step finds its own lock).
 * Items expire (TTL, LOCK_TTL_SECONDS in domain/limits.ts) after the longest an execution can run, so a lock can never outlive its
 * execution by more than that, even if every release path was skipped.
 *
 * A third, longer-lived item remembers an `idempotencyKey` (a schedule sends its scheduled time):
 * a second delivery of the same scheduled start is then a no-op. The release records how the
 * attempt ended (`outcome`), so a repeat after a failure is refused instead of passing for done
 * (holders.ts).
 */

export const lockTableName = (): string => {
  const name = process.env.LOCK_TABLE_NAME;
  if (!name) {
    throw new Error(
      'LOCK_TABLE_NAME is not set: the rotation lock table is unknown. The SAM template sets it; for rekey run, pass --lock-table.',
    );
  }
  return name;
};

/*
 * Keys. The table belongs to one stack, so to one account and Region: a database identifier is
 * unique in it. The database and idempotency keys derive from the input alone, so CheckStart can
 * read them before preflight; the key lock needs the source's key ARN, known after preflight.
 */
export const databaseLockKey = (target: RotationTarget): string =>
  `${namesOfKind(target.kind).lockPrefix}#${target.identifier.toLowerCase()}`;

export const keyLockKey = (kmsKeyArn: string): string => `key#${kmsKeyArn}`;

/** Idempotency items begin with it; the rotation locks (`db#`, `cluster#`, `key#`) do not. */
export const ONCE_PREFIX = 'once#';

export const idempotencyLockKey = (target: RotationTarget, idempotencyKey: string): string =>
  `${ONCE_PREFIX}${namesOfKind(target.kind).idempotencyPrefix}${target.identifier.toLowerCase()}#${idempotencyKey}`;

/** The lock keys a rotation holds. */
export const lockKeysOf = (plan: RotationPlan): string[] => [
  databaseLockKey(plan.target),
  keyLockKey(plan.source.kmsKeyArn),
];

/**
 * How the attempt of an idempotency item ended, written by ReleaseLock: `SUCCEEDED` on the
 * success path, `FAILED` after the rollback, `ABORTED` or `TIMED_OUT` from the EventBridge status
 * change. Absent while the attempt runs (and when its rollback failed: the lock is then kept).
 */
export type AttemptOutcome = 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

/** What a lock item holds. */
export interface LockItem {
  lockKey: string;
  rotationId: string;
  executionId: string;
  dbInstanceIdentifier: string;
  acquiredAt: string;
  expiresAt: number;
  /** Idempotency items only: how the attempt ended, once it did. */
  outcome?: AttemptOutcome;
  /** With `outcome`: when it was recorded, and the error of a failed attempt. */
  endedAt?: string;
  error?: string;
}

/**
 * The output's note when ReleaseLock failed after a completed rotation: the lock then expires by
 * its TTL (LOCK_TTL_SECONDS), which this sentence states from the same number.
 */
export const lockReleaseNote = (failure: { Error: string }): string =>
  `The rotation lock could not be released (${failure.Error}); it expires by itself within ` +
  `${Math.ceil(LOCK_TTL_SECONDS / DAY_SECONDS)} days, or delete it from the lock table.`;

/** The output's notes: the plan's, plus the lock-release note when ReleaseLock failed. */
export const notesWithLockRelease = (notes: string[], failure: { Error: string } | undefined): string[] =>
  failure ? [...notes, lockReleaseNote(failure)] : notes;
