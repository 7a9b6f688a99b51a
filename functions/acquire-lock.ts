import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from './commons/clients.js';
import { isAwsError, RotationInProgressError } from './commons/errors.js';
import { makeHandler } from './commons/handler.js';
import {
  databaseLockKey,
  IDEMPOTENCY_TTL_SECONDS,
  idempotencyLockKey,
  keyLockKey,
  LOCK_TTL_SECONDS,
  type LockItem,
  lockTableName,
} from './commons/lock.js';
import { logger } from './commons/logger.js';
import type { LockResult, RotationState } from './commons/types.js';

/**
 * Take the rotation lock on the database and on its key, atomically, before anything changes.
 * Re-entrant: a retry of this execution finds its own lock. A second rotation of the same
 * database (or of another database under the same key) fails fast with RotationInProgressError.
 * With an `idempotencyKey` (a schedule's scheduled time), a second delivery of the same start is
 * a no-op: it returns `duplicateOf` and the state machine ends without touching anything.
 */
export const acquireLock = async (state: RotationState): Promise<LockResult> => {
  const { plan } = state;
  const { dynamodb } = getClients();
  const table = lockTableName();
  const idempotencyKey = plan.request.idempotencyKey;
  const onceKey = idempotencyKey ? idempotencyLockKey(plan, idempotencyKey) : null;

  if (onceKey) {
    const earlier = await holderOf(table, onceKey);
    if (earlier && earlier.rotationId !== plan.rotationId) return duplicate(earlier, idempotencyKey ?? '');
  }

  const now = Math.floor(Date.now() / 1000);
  const item = (lockKey: string, ttl: number): LockItem => ({
    lockKey,
    rotationId: plan.rotationId,
    executionId: plan.executionId,
    dbInstanceIdentifier: plan.source.dbInstanceIdentifier,
    acquiredAt: new Date(now * 1000).toISOString(),
    expiresAt: now + ttl,
  });
  const lockKeys = [databaseLockKey(plan), keyLockKey(plan)];
  const items = [
    ...lockKeys.map((key) => item(key, LOCK_TTL_SECONDS)),
    ...(onceKey ? [item(onceKey, IDEMPOTENCY_TTL_SECONDS)] : []),
  ];
  try {
    await dynamodb.send(
      new TransactWriteCommand({
        TransactItems: items.map((Item) => ({
          Put: {
            TableName: table,
            Item,
            ConditionExpression: 'attribute_not_exists(lockKey) OR rotationId = :mine',
            ExpressionAttributeValues: { ':mine': plan.rotationId },
          },
        })),
      }),
    );
  } catch (error) {
    if (!isAwsError(error, 'TransactionCanceledException')) throw error;
    if (onceKey) {
      const earlier = await holderOf(table, onceKey);
      if (earlier && earlier.rotationId !== plan.rotationId) return duplicate(earlier, idempotencyKey ?? '');
    }
    throw await inProgress(table, lockKeys, state);
  }
  logger.info('rotation lock acquired', { lockKeys });
  return { acquired: true, lockKeys, acquiredAt: items[0]?.acquiredAt ?? new Date().toISOString() };
};

const holderOf = async (table: string, lockKey: string): Promise<LockItem | null> => {
  const { Item } = await getClients().dynamodb.send(
    new GetCommand({ TableName: table, Key: { lockKey }, ConsistentRead: true }),
  );
  return (Item as LockItem | undefined) ?? null;
};

const duplicate = (earlier: LockItem, idempotencyKey: string): LockResult => {
  const message =
    `Duplicate start: rotation ${earlier.rotationId} (execution ${earlier.executionId}) already ran for ` +
    `${earlier.dbInstanceIdentifier} with idempotencyKey "${idempotencyKey}". Nothing was done.`;
  logger.warn('duplicate start ignored', { duplicateOf: earlier.rotationId });
  return { acquired: false, lockKeys: [], duplicateOf: earlier.rotationId, skipped: message };
};

const inProgress = async (table: string, lockKeys: string[], state: RotationState): Promise<Error> => {
  const { plan } = state;
  const [byDatabase, byKey] = await Promise.all(lockKeys.map((key) => holderOf(table, key)));
  const holder = [byDatabase, byKey].find((h) => h && h.rotationId !== plan.rotationId);
  if (!holder) {
    // Released between the write and the read: a rare race; the state machine retries transient errors only.
    return new RotationInProgressError(
      `Another rotation held the lock on ${plan.source.dbInstanceIdentifier} a moment ago. Start again in a minute.`,
    );
  }
  const what =
    holder === byDatabase
      ? `for ${plan.source.dbInstanceIdentifier}`
      : `for ${holder.dbInstanceIdentifier}, which shares the key ${plan.source.kmsKeyArn}`;
  return new RotationInProgressError(
    `rotation ${holder.rotationId} is already in progress ${what} (execution ${holder.executionId}, since ${holder.acquiredAt}). ` +
      'Nothing was changed. Wait for it to finish, or stop that execution, then start again.',
  );
};

export const handler = makeHandler(acquireLock);
