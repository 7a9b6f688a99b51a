import { DeleteCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { isAwsError } from '#domain/errors.js';
import type { LockReleaseResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import {
  type AttemptOutcome,
  idempotencyLockKey,
  type LockItem,
  lockKeysOf,
  lockTableName,
  ONCE_PREFIX,
} from './lock.js';

/** What EventBridge sends when an execution is aborted or times out (no terminal state ran). */
export interface ExecutionStatusChangeEvent {
  source: 'aws.states';
  'detail-type': string;
  detail: { executionArn: string; status: string };
}

const isStatusChange = (
  event: RotationState | ExecutionStatusChangeEvent,
): event is ExecutionStatusChangeEvent => (event as ExecutionStatusChangeEvent).source === 'aws.states';

/**
 * Release this rotation's lock. Runs on every terminal path of the state machine (success and
 * rollback), and from an EventBridge rule when an execution is aborted or times out. It deletes
 * only items that belong to the rotation (a condition on the rotation id), so a rotation that was
 * refused because another held the lock never releases the other's lock. Idempotent: a lock that
 * is already gone is fine. The idempotency item of a scheduled start is kept on purpose, with how
 * the attempt ended (`outcome`), written before the locks go, so a repeat sees it.
 */
export const releaseLock = async (
  event: RotationState | ExecutionStatusChangeEvent,
): Promise<LockReleaseResult> => {
  const table = lockTableName();
  if (isStatusChange(event))
    return releaseForExecution(table, event.detail.executionArn, event.detail.status);

  // From the plan, not from the acquire result: a lock whose acquire response was lost is released
  // too. The condition on the rotation id keeps another rotation's lock safe.
  const plan = event.plan as RotationState['plan'] | undefined;
  if (!plan) return { released: [] };
  const { idempotencyKey } = plan.request;
  if (idempotencyKey) {
    // The failure path carries the caught error; the success path has none.
    const failure = event.failure;
    await recordOutcome(table, idempotencyLockKey(plan.target, idempotencyKey), plan.rotationId, {
      outcome: failure ? 'FAILED' : 'SUCCEEDED',
      error: failure?.Error,
    });
  }
  const lockKeys = lockKeysOf(plan);
  const released: string[] = [];
  for (const lockKey of lockKeys) {
    if (await deleteIfMine(table, lockKey, plan.rotationId)) released.push(lockKey);
  }
  logger.info('rotation lock released', { released });
  return { released };
};

const deleteIfMine = async (table: string, lockKey: string, rotationId: string): Promise<boolean> => {
  try {
    await getClients().dynamodb.send(
      new DeleteCommand({
        TableName: table,
        Key: { lockKey },
        ConditionExpression: 'rotationId = :mine',
        ExpressionAttributeValues: { ':mine': rotationId },
      }),
    );
    return true;
  } catch (error) {
    // Gone already (released by an earlier attempt, or expired), or someone else's: nothing to do.
    if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
    throw error;
  }
};

/**
 * Writes how the attempt ended on its idempotency item, if the item is this rotation's. A
 * `SUCCEEDED` is never overwritten: a step that fails after the rotation completed (Summarize)
 * does not undo it.
 */
const recordOutcome = async (
  table: string,
  lockKey: string,
  rotationId: string,
  ended: { outcome: AttemptOutcome; error?: string | undefined },
): Promise<void> => {
  try {
    await getClients().dynamodb.send(
      new UpdateCommand({
        TableName: table,
        Key: { lockKey },
        UpdateExpression: 'SET outcome = :outcome, endedAt = :at, #error = :error',
        ConditionExpression:
          'rotationId = :mine AND (attribute_not_exists(outcome) OR outcome <> :succeeded)',
        ExpressionAttributeNames: { '#error': 'error' },
        ExpressionAttributeValues: {
          ':outcome': ended.outcome,
          ':at': new Date().toISOString(),
          ':error': ended.error ?? null,
          ':mine': rotationId,
          ':succeeded': 'SUCCEEDED',
        },
      }),
    );
    logger.info('attempt outcome recorded on the idempotency item', { lockKey, ...ended });
  } catch (error) {
    // Not this rotation's (it never took the lock), gone (TTL), or already SUCCEEDED: leave it.
    if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
  }
};

const OUTCOME_OF_STATUS: Record<string, AttemptOutcome> = { ABORTED: 'ABORTED', TIMED_OUT: 'TIMED_OUT' };

/** An aborted or timed-out execution: find its locks (the table holds only live locks) and release them. */
const releaseForExecution = async (
  table: string,
  executionArn: string,
  status: string,
): Promise<LockReleaseResult> => {
  const { dynamodb } = getClients();
  const held: LockItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'executionId = :execution',
        ExpressionAttributeValues: { ':execution': executionArn },
        ExclusiveStartKey,
      }),
    );
    held.push(...((page.Items ?? []) as LockItem[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  // The idempotency item stays, with how the attempt ended, so a repeat is refused, not run again.
  const outcome = OUTCOME_OF_STATUS[status] ?? 'FAILED';
  for (const item of held.filter((i) => i.lockKey.startsWith(ONCE_PREFIX))) {
    await recordOutcome(table, item.lockKey, item.rotationId, { outcome, error: `execution ${status}` });
  }
  const released: string[] = [];
  for (const item of held.filter((i) => !i.lockKey.startsWith(ONCE_PREFIX))) {
    if (await deleteIfMine(table, item.lockKey, item.rotationId)) released.push(item.lockKey);
  }
  logger.info('released the locks of an execution that ended without its own release', {
    executionArn,
    released,
  });
  return { released };
};
