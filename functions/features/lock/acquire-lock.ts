import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { isAwsError, RotationInProgressError } from '#domain/errors.js';
import { IDEMPOTENCY_TTL_SECONDS, LOCK_TTL_SECONDS } from '#domain/limits.js';
import type { LockResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { type DuplicateStart, holderOf, inProgressMessage, judgeEarlierAttempt } from './holders.js';
import { idempotencyLockKey, type LockItem, lockKeysOf, lockTableName } from './lock.js';

/**
 * Take the rotation lock on the database and on its key, atomically, before anything changes.
 * Re-entrant: a retry of this execution finds its own lock. A second rotation of the same
 * database (or of another database under the same key) fails fast with RotationInProgressError.
 * With an `idempotencyKey` (a schedule's scheduled time), a second delivery of the same start is
 * a no-op: it returns `duplicateOf` and the state machine ends without touching anything; a
 * repeat of an attempt that failed is refused (holders.ts).
 */
export const acquireLock = async (state: RotationState): Promise<LockResult> => {
  const { plan } = state;
  const { dynamodb } = getClients();
  const table = lockTableName();
  const idempotencyKey = plan.request.idempotencyKey;
  const onceKey = idempotencyKey ? idempotencyLockKey(plan.target, idempotencyKey) : null;

  const judge = async (key: string) =>
    judgeEarlierAttempt(
      table,
      await holderOf(table, key),
      plan.target,
      idempotencyKey ?? '',
      plan.rotationId,
    );
  if (onceKey) {
    const earlier = await judge(onceKey);
    if (earlier) return duplicate(earlier);
  }

  const now = Math.floor(Date.now() / 1000);
  const item = (lockKey: string, ttl: number): LockItem => ({
    lockKey,
    rotationId: plan.rotationId,
    executionId: plan.executionId,
    dbInstanceIdentifier: plan.target.identifier,
    acquiredAt: new Date(now * 1000).toISOString(),
    expiresAt: now + ttl,
  });
  const lockKeys = lockKeysOf(plan);
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
      const earlier = await judge(onceKey);
      if (earlier) return duplicate(earlier);
    }
    throw await inProgress(table, lockKeys, state);
  }
  logger.info('rotation lock acquired', { lockKeys });
  return { acquired: true, lockKeys, acquiredAt: items[0]?.acquiredAt ?? new Date().toISOString() };
};

const duplicate = (earlier: DuplicateStart): LockResult => {
  logger.warn('duplicate start ignored', { duplicateOf: earlier.duplicateOf });
  return { acquired: false, lockKeys: [], ...earlier };
};

const inProgress = async (table: string, lockKeys: string[], state: RotationState): Promise<Error> => {
  const { plan } = state;
  const [byDatabase, byKey] = await Promise.all(lockKeys.map((key) => holderOf(table, key)));
  const holder = [byDatabase, byKey].find((h) => h && h.rotationId !== plan.rotationId);
  if (!holder) {
    // Released between the write and the read: a rare race.
    return new RotationInProgressError(
      `Another rotation held the lock on ${plan.target.identifier} a moment ago. Start again in a minute.`,
    );
  }
  const what =
    holder === byDatabase
      ? plan.target.identifier
      : `${holder.dbInstanceIdentifier}, which shares the key ${plan.source.kmsKeyArn}`;
  return new RotationInProgressError(inProgressMessage(holder, what));
};
