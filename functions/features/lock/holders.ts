import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import type { LockItem } from './lock.js';

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

export const duplicateStartMessage = (earlier: LockItem, idempotencyKey: string): string =>
  `Duplicate start: rotation ${earlier.rotationId} (execution ${earlier.executionId}) already ran for ` +
  `${earlier.dbInstanceIdentifier} with idempotencyKey "${idempotencyKey}". Nothing was done.`;
