import { RotationInProgressError } from '#domain/errors.js';
import { parseRotationInput, rotationTarget } from '#domain/input.js';
import { rotationIdFor } from '#domain/naming.js';
import type { StartCheck } from '#domain/results.js';
import { logger } from '#runtime/logger.js';
import { holderOf, inProgressMessage, judgeEarlierAttempt } from './holders.js';
import { databaseLockKey, idempotencyLockKey, lockTableName } from './lock.js';

export interface CheckStartInput {
  /** The execution input, as given. */
  input: unknown;
  /** `$$.Execution.Id`: a retry of this execution must not mistake its own records for another's. */
  executionId: string;
}

/**
 * The first step, read-only. It refuses a malformed input, ends a duplicate start (same
 * `idempotencyKey` as an attempt that succeeded or still runs) as a no-op, refuses a repeat of an
 * attempt that failed (holders.ts), and fails fast when another rotation holds the database: before
 * preflight, which would otherwise complain that the database the other rotation stopped is not
 * available. AcquireLock still takes the lock atomically after preflight: this is a courtesy
 * check, not the lock.
 */
export const checkStart = async (event: CheckStartInput): Promise<StartCheck> => {
  const request = parseRotationInput(event.input);
  const rotationId = rotationIdFor(event.executionId);
  const table = lockTableName();
  const target = rotationTarget(request);
  const db = target.identifier;

  if (request.idempotencyKey) {
    const earlier = await holderOf(table, idempotencyLockKey(target, request.idempotencyKey));
    const duplicate = await judgeEarlierAttempt(table, earlier, target, request.idempotencyKey, rotationId);
    if (duplicate) {
      logger.warn('duplicate start ignored', { duplicateOf: duplicate.duplicateOf });
      return duplicate;
    }
  }
  const holder = await holderOf(table, databaseLockKey(target));
  if (holder && holder.rotationId !== rotationId)
    throw new RotationInProgressError(inProgressMessage(holder, db));
  return { duplicateOf: null };
};
