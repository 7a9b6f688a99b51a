import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationTarget } from '#domain/input.js';
import { databaseLockKey, type LockItem } from './lock.js';

/** Reading who holds a lock, and saying so: CheckStart and AcquireLock. */

/** The item under `lockKey`, read consistently, or null. */
export const holderOf = async (table: string, lockKey: string): Promise<LockItem | null> => {
  const { Item } = await getClients().dynamodb.send(
    new GetCommand({ TableName: table, Key: { lockKey }, ConsistentRead: true }),
  );
  return (Item as LockItem | undefined) ?? null;
};

/** `what` names the database (and, for a key lock, the other database that shares the key). */
export const inProgressMessage = (holder: LockItem, what: string): string =>
  `rotation ${holder.rotationId} is already in progress for ${what} (execution ${holder.executionId}, since ${holder.acquiredAt}). ` +
  'Wait for it to finish, or stop that execution, then start again.';

/** What a start with an `idempotencyKey` that an earlier attempt used does: nothing, said why. */
export interface DuplicateStart {
  duplicateOf: string;
  skipped: string;
}

/**
 * The earlier attempt under the same idempotency key, judged by how it ended:
 *
 * - it succeeded: this start is a duplicate (a schedule's delivery retried) and does nothing;
 * - it still holds the database lock without an outcome: it is running (or its rollback failed and
 *   the lock waits for a person); this start does nothing either;
 * - it failed, was stopped or timed out, or ended without recording how: the database was not
 *   rotated, so this start is refused (never a success that did not happen), naming the attempt.
 *   A repeat does not rotate by itself (a late retry of a delivery must not stop the database
 *   again unasked): a person starts again without the key, or with a new one.
 *
 * Null when no other rotation used the key (or it is this rotation's own item: a retry).
 */
export const judgeEarlierAttempt = async (
  table: string,
  earlier: LockItem | null,
  target: RotationTarget,
  idempotencyKey: string,
  rotationId: string,
): Promise<DuplicateStart | null> => {
  if (!earlier || earlier.rotationId === rotationId) return null;
  const of = `rotation ${earlier.rotationId} (execution ${earlier.executionId})`;
  const key = `idempotencyKey "${idempotencyKey}"`;
  if (earlier.outcome === 'SUCCEEDED') {
    return {
      duplicateOf: earlier.rotationId,
      skipped:
        `Duplicate start: ${of} already rotated ${earlier.dbInstanceIdentifier} with ${key}: ` +
        `it SUCCEEDED${earlier.endedAt ? ` (${earlier.endedAt})` : ''}. Nothing was done.`,
    };
  }
  if (!earlier.outcome) {
    const lock = await holderOf(table, databaseLockKey(target));
    if (lock?.rotationId === earlier.rotationId) {
      return {
        duplicateOf: earlier.rotationId,
        skipped:
          `Duplicate start: ${of} with ${key} has not finished: it holds the lock on ${earlier.dbInstanceIdentifier} ` +
          `since ${earlier.acquiredAt} (it is running, or its rollback failed and the lock waits for a person). ` +
          `Nothing was done. Follow it: ./bin/rekey.mjs status ${earlier.executionId}`,
      };
    }
  }
  const ended = earlier.outcome
    ? `ended ${earlier.outcome}${earlier.error ? ` (${earlier.error})` : ''}${earlier.endedAt ? ` at ${earlier.endedAt}` : ''}, ` +
      `so ${earlier.dbInstanceIdentifier} was not rotated by it`
    : `ended without recording how (look whether it rotated ${earlier.dbInstanceIdentifier})`;
  throw new PreconditionFailedError(
    `idempotencyKey: an earlier attempt with ${key}, ${of}, ${ended}, and a start with the same key does not ` +
      `retry it by itself. See why: ./bin/rekey.mjs status ${earlier.executionId}. ` +
      'To rotate, start again without idempotencyKey or with a new one.',
  );
};
