import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { getClients } from '#aws/clients.js';
import { InvalidInputError } from '#domain/errors.js';
import { formatInputIssues } from '#domain/input.js';
import { RDS_EVENT_SOURCE_TYPES } from '#domain/limits.js';
import { AWAITED_EVENT_IDS } from '#domain/rds-events.js';
import { logger } from '#runtime/logger.js';
import { deleteWait } from './await-event.js';
import {
  EVENT_ITEM_TTL_SECONDS,
  type EventItem,
  eventKey,
  table,
  type WaitItem,
  waitKey,
  wakes,
} from './keys.js';
import { completeTask } from './tokens.js';

/**
 * OnRdsEvent, the target of the EventBridge rule on `aws.rds` events with an awaited EventID
 * (template.yaml RdsEventRule): records the event for its resource (`event#...`, so a wait that
 * registers just after it still finds it: await-event.ts explains the race), then wakes the wait
 * registered for that resource, if it awaits this event and registered for a check before it.
 * A duplicate, a late event of a finished wait, or an event nobody waits for wakes nothing that
 * is still waiting: at worst it completes a finished Task's token, which Step Functions refuses
 * as stale (tokens.ts). Events are best effort; the check step alone decides "done".
 */
const SOURCE_TYPES = RDS_EVENT_SOURCE_TYPES;

const RdsEventSchema = z.object({
  time: z.iso.datetime({ error: 'must be the ISO 8601 time of the event (EventBridge "time")' }),
  detail: z.object(
    {
      EventID: z.string({ error: 'must be the RDS event ID, e.g. RDS-EVENT-0087' }),
      SourceType: z.string({ error: `must be the RDS source type, e.g. ${SOURCE_TYPES.join(', ')}` }),
      SourceIdentifier: z.string({ error: 'must name the RDS resource' }).min(1),
      // RDS's own time of the event, to the millisecond (EventBridge's `time` is to the second).
      Date: z.iso.datetime({ error: 'must be the ISO 8601 time of the event' }).optional(),
    },
    { error: 'must be the RDS event detail (EventBridge source aws.rds)' },
  ),
});

export interface OnEventResult {
  /** Why nothing was woken, or `woken`. */
  outcome: 'woken' | 'not-awaited' | 'no-wait' | 'not-this-event' | 'stale';
  key?: string;
}

export const onRdsEvent = async (raw: unknown): Promise<OnEventResult> => {
  const parsed = RdsEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      `OnRdsEvent got an event that is not an RDS event: ${formatInputIssues(parsed.error, raw).join('; ')}. ` +
        'Its EventBridge rule should match source aws.rds only; check the rule in template.yaml.',
    );
  }
  const { time, detail } = parsed.data;
  const sourceType = detail.SourceType as (typeof SOURCE_TYPES)[number];
  if (!AWAITED_EVENT_IDS.includes(detail.EventID) || !SOURCE_TYPES.includes(sourceType)) {
    return { outcome: 'not-awaited' };
  }
  const { dynamodb } = getClients();
  const now = Math.floor(Date.now() / 1000);
  const event: EventItem = {
    lockKey: eventKey(sourceType, detail.SourceIdentifier),
    eventId: detail.EventID,
    at: detail.Date ?? time,
    expiresAt: now + EVENT_ITEM_TTL_SECONDS,
  };
  // First record the event, then read the wait: the order that closes the race (await-event.ts).
  await dynamodb.send(new PutCommand({ TableName: table(), Item: event }));
  const key = waitKey(sourceType, detail.SourceIdentifier);
  const { Item } = await dynamodb.send(
    new GetCommand({ TableName: table(), Key: { lockKey: key }, ConsistentRead: true }),
  );
  const wait = Item as WaitItem | undefined;
  if (!wait) return { outcome: 'no-wait', key };
  if (!wakes(wait, event)) {
    logger.info('an RDS event the registered wait does not await (or older than its check)', {
      key,
      eventId: event.eventId,
      at: event.at,
      checkedAt: wait.checkedAt,
    });
    return { outcome: 'not-this-event', key };
  }
  const completion = await completeTask(wait.taskToken, { wokenBy: event.eventId, at: event.at });
  await deleteWait(key, wait.taskToken);
  logger.info(completion === 'completed' ? 'woke the wait' : 'the wait was already over', {
    key,
    eventId: event.eventId,
  });
  return { outcome: completion === 'completed' ? 'woken' : 'stale', key };
};
