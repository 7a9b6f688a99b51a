import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { getClients } from '#aws/clients.js';
import { InvalidInputError } from '#domain/errors.js';
import { formatInputIssues } from '#domain/input.js';
import { RDS_EVENT_SOURCE_TYPES } from '#domain/limits.js';
import { logger } from '#runtime/logger.js';
import {
  type EventItem,
  eventKey,
  table,
  WAIT_ITEM_TTL_MARGIN_SECONDS,
  type WaitItem,
  waitKey,
  wakes,
} from './keys.js';
import { completeTask } from './tokens.js';

/**
 * AwaitRdsEvent, the Lambda of a wait loop's `lambda:invoke.waitForTaskToken` Task
 * (docs/waits.md): registers the Task's token for the RDS event the check step said ends the wait
 * (`poll.awaits`), then looks whether that event already arrived. The Task ends when OnRdsEvent (or
 * this function) completes the token, or at its timeout (`poll.waitSeconds`, the polling fallback);
 * either way the check step runs next and alone decides whether the operation is done.
 *
 * The race (the event arrives before the token is registered) is closed by ordering: each side
 * writes its own item first, then reads the other's with a consistent read. If this read misses the
 * event item, OnRdsEvent wrote it after the read, so after the wait item was written, and its own
 * read then finds the wait item. So at least one side sees both and wakes the wait; if both do, the
 * second completion finds a finished Task (stale) and is ignored.
 */
const SOURCE_TYPES = RDS_EVENT_SOURCE_TYPES;

const AwaitInputSchema = z.object({
  taskToken: z.string({ error: 'must be the Task token ($$.Task.Token)' }).min(1),
  poll: z.object(
    {
      waitSeconds: z.number({ error: 'must be the fallback wait in seconds' }).positive(),
      checkedAt: z.iso
        .datetime({ error: 'must be the ISO 8601 time of the check the wait follows' })
        .optional(),
      awaits: z
        .object({
          sourceType: z.enum(SOURCE_TYPES, { error: `must be one of ${SOURCE_TYPES.join(', ')}` }),
          sourceIdentifier: z.string({ error: 'must name the RDS resource awaited' }).min(1),
          eventIds: z.array(z.string().regex(/^RDS-EVENT-\d{4}$/, 'must be an RDS event ID')).min(1),
        })
        .optional(),
    },
    { error: 'must be the poll of the check step (with awaits and checkedAt)' },
  ),
});

export type AwaitInput = z.infer<typeof AwaitInputSchema>;

export interface AwaitResult {
  /** The wait item written, or null: the check awaits no event (the Task's timeout is the wait). */
  registered: string | null;
  /** True when the awaited event had already arrived, so the token was completed at once. */
  alreadyArrived: boolean;
}

export const parseAwaitInput = (raw: unknown): AwaitInput => {
  const result = AwaitInputSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new InvalidInputError(
    `AwaitRdsEvent got no wait to register: ${formatInputIssues(result.error, raw).join('; ')}. ` +
      "The state machine passes {taskToken: $$.Task.Token, poll: <the check step result>.poll}; check the Task's Parameters.",
  );
};

export const awaitRdsEvent = async (raw: unknown): Promise<AwaitResult> => {
  const { taskToken, poll } = parseAwaitInput(raw);
  // A phase RDS publishes no event for (e.g. renaming the source aside): a plain timed wait.
  if (!poll.awaits || !poll.checkedAt) return { registered: null, alreadyArrived: false };
  const { dynamodb } = getClients();
  const { sourceType, sourceIdentifier, eventIds } = poll.awaits;
  const now = new Date();
  const wait: WaitItem = {
    lockKey: waitKey(sourceType, sourceIdentifier),
    taskToken,
    eventIds,
    checkedAt: poll.checkedAt,
    registeredAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + Math.ceil(poll.waitSeconds) + WAIT_ITEM_TTL_MARGIN_SECONDS,
  };
  // A newer wait on the same resource replaces an older one: only one loop waits on it at a time.
  await dynamodb.send(new PutCommand({ TableName: table(), Item: wait }));
  const { Item } = await dynamodb.send(
    new GetCommand({
      TableName: table(),
      Key: { lockKey: eventKey(sourceType, sourceIdentifier) },
      ConsistentRead: true,
    }),
  );
  const event = Item as EventItem | undefined;
  if (!event || !wakes(wait, event)) {
    logger.info('waiting for an RDS event', {
      key: wait.lockKey,
      eventIds,
      fallbackSeconds: poll.waitSeconds,
    });
    return { registered: wait.lockKey, alreadyArrived: false };
  }
  logger.info('the awaited RDS event arrived before the wait was registered', {
    key: wait.lockKey,
    eventId: event.eventId,
    at: event.at,
  });
  await completeTask(taskToken, { wokenBy: event.eventId, at: event.at });
  await deleteWait(wait.lockKey, taskToken);
  return { registered: wait.lockKey, alreadyArrived: true };
};

/** Deletes the wait item if it still holds this token (a newer wait's item stays). */
export const deleteWait = async (lockKey: string, taskToken: string): Promise<void> => {
  try {
    await getClients().dynamodb.send(
      new DeleteCommand({
        TableName: table(),
        Key: { lockKey },
        ConditionExpression: 'taskToken = :token',
        ExpressionAttributeValues: { ':token': taskToken },
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
};
