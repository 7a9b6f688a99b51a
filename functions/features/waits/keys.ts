import type { RdsEventSourceType } from '#domain/limits.js';
import { lockTableName } from '#features/lock/lock.js';

/**
 * The items of an event-driven wait, in the rotation lock table (its key `lockKey`, its TTL
 * attribute `expiresAt`): `wait#<source type>#<identifier>` holds the task token a wait registered,
 * `event#<source type>#<identifier>` the last awaited event RDS published for that resource.
 * RDS identifiers are case-insensitive (RDS reports them in lower case), so the keys are too.
 */
export const waitKey = (sourceType: RdsEventSourceType, identifier: string): string =>
  `wait#${sourceType}#${identifier.toLowerCase()}`;

export const eventKey = (sourceType: RdsEventSourceType, identifier: string): string =>
  `event#${sourceType}#${identifier.toLowerCase()}`;

/** A wait item outlives its wait (the fallback timeout) by this much, then expires. */
export const WAIT_ITEM_TTL_MARGIN_SECONDS = 3600;
/** An event item is kept a day: long enough for any wait registered just after it. */
export const EVENT_ITEM_TTL_SECONDS = 24 * 3600;

export interface WaitItem {
  lockKey: string;
  taskToken: string;
  eventIds: string[];
  /** The check this wait follows (ISO 8601): only an event after it wakes the wait. */
  checkedAt: string;
  registeredAt: string;
  expiresAt: number;
}

export interface EventItem {
  lockKey: string;
  eventId: string;
  /** When RDS published it (the EventBridge event's `time`, ISO 8601). */
  at: string;
  expiresAt: number;
}

export const table = lockTableName;

/** An event wakes a wait when the wait awaits its ID and it happened after the wait's check. */
export const wakes = (
  wait: Pick<WaitItem, 'eventIds' | 'checkedAt'>,
  event: Pick<EventItem, 'eventId' | 'at'>,
) => wait.eventIds.includes(event.eventId) && Date.parse(event.at) > Date.parse(wait.checkedAt);
