import {
  type Event as CloudTrailEvent,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { isThrottlingError } from '@smithy/core/retry';
import { logger } from '#runtime/logger.js';
import type { CloudTrailInput } from './context.js';
import { describeError, type RecordEvidenceDeps } from './deps.js';
import type { CloudTrailEventEvidence } from './schema.js';

/**
 * CloudTrail lookups for the record: who started the execution, and the events that name its
 * resources. Best effort within a time budget: what CloudTrail refuses is written into the
 * record, never thrown.
 */

/** CloudTrail cannot answer: the whole lookup stops, and the record says why. */
class CloudTrailUnavailable extends Error {
  override readonly name = 'CloudTrailUnavailable';
}

const parseDetail = (event: CloudTrailEvent): Record<string, unknown> | null => {
  try {
    return JSON.parse(event.CloudTrailEvent ?? '') as Record<string, unknown>;
  } catch {
    return null;
  }
};

export const cloudTrailEventEvidence = (event: CloudTrailEvent): CloudTrailEventEvidence => ({
  eventId: event.EventId ?? '',
  eventTime: (event.EventTime ?? new Date(0)).toISOString(),
  eventName: event.EventName ?? '',
  eventSource: event.EventSource ?? '',
  username: event.Username ?? null,
  resources: (event.Resources ?? []).map((r) => r.ResourceName ?? '').filter(Boolean),
});

export const lookUpCloudTrail = async (
  executionArn: string,
  startTime: Date,
  resourceNames: string[],
  deps: RecordEvidenceDeps,
  options: { findStart: boolean } = { findStart: true },
): Promise<CloudTrailInput> => {
  const { cloudTrail } = deps.clients();
  const deadline = deps.now().getTime() + deps.cloudTrailBudgetMs;
  const notes: string[] = [];
  const lookedUp: string[] = [];

  /** One call, with backoff on throttling; past the cap or the budget, CloudTrail is unavailable. */
  const call = async (input: LookupEventsCommandInput) => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await cloudTrail.send(new LookupEventsCommand(input));
      } catch (error) {
        // biome-ignore lint/suspicious/noExplicitAny: the smithy classifier takes the SDK's error shape.
        const throttled = (error as Error).name === 'ThrottlingException' || isThrottlingError(error as any);
        const delay = Math.min(20_000, 1000 * 2 ** (attempt - 1));
        if (!throttled) throw new CloudTrailUnavailable(`LookupEvents failed: ${describeError(error)}`);
        if (attempt >= deps.maxThrottledAttempts || deps.now().getTime() + delay > deadline) {
          throw new CloudTrailUnavailable(
            `LookupEvents was still throttled after ${attempt} attempts (${describeError(error)}); the lookup stopped`,
          );
        }
        await deps.sleep(Math.round(delay / 2 + Math.random() * (delay / 2)));
      }
    }
  };

  /** Every page of one lookup, up to the page cap. */
  const lookUp = async (
    attribute: { AttributeKey: 'ResourceName' | 'EventName'; AttributeValue: string },
    from: Date,
    to: Date,
    stopWhen?: (events: CloudTrailEvent[]) => boolean,
  ): Promise<CloudTrailEvent[]> => {
    const events: CloudTrailEvent[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      if (deps.now().getTime() > deadline) {
        notes.push(
          `CloudTrail ${attribute.AttributeKey} ${attribute.AttributeValue}: stopped at the time budget.`,
        );
        break;
      }
      const page = await call({
        LookupAttributes: [attribute],
        StartTime: from,
        EndTime: to,
        MaxResults: 50,
        NextToken: nextToken,
      });
      events.push(...(page.Events ?? []));
      nextToken = page.NextToken;
      pages += 1;
      if (stopWhen?.(page.Events ?? [])) break;
    } while (nextToken && pages < deps.maxPagesPerResource);
    if (nextToken && pages >= deps.maxPagesPerResource) {
      notes.push(
        `CloudTrail ${attribute.AttributeKey} ${attribute.AttributeValue}: stopped after ${pages} pages of 50 events; look up the rest in CloudTrail.`,
      );
    }
    return events;
  };

  const events = new Map<string, CloudTrailEventEvidence>();
  let startedBy: CloudTrailInput['startedBy'] = null;
  try {
    // Who started it: the StartExecution event whose response names this execution.
    const margin = 15 * 60_000;
    const matches = (event: CloudTrailEvent) =>
      JSON.stringify((parseDetail(event)?.responseElements as object | undefined) ?? {}).includes(
        `"${executionArn}"`,
      );
    const starts = !options.findStart
      ? []
      : await lookUp(
          { AttributeKey: 'EventName', AttributeValue: 'StartExecution' },
          new Date(startTime.getTime() - margin),
          new Date(startTime.getTime() + margin),
          (page) => page.some(matches),
        );
    const start = starts.find(matches);
    if (start) {
      const detail = parseDetail(start) ?? {};
      const identity = (detail.userIdentity ?? {}) as Record<string, unknown>;
      startedBy = {
        principal:
          (typeof identity.arn === 'string' && identity.arn) ||
          (typeof identity.invokedBy === 'string' && identity.invokedBy) ||
          start.Username ||
          String(identity.principalId ?? 'unknown'),
        sourceIpAddress: typeof detail.sourceIPAddress === 'string' ? detail.sourceIPAddress : null,
        userAgent: typeof detail.userAgent === 'string' ? detail.userAgent : null,
      };
      events.set(start.EventId ?? '', cloudTrailEventEvidence(start));
    } else if (options.findStart) {
      notes.push('CloudTrail: no StartExecution event names this execution (yet): startedBy is unknown.');
    }

    const from = new Date(startTime.getTime() - 60_000);
    const to = deps.now();
    for (const name of resourceNames) {
      const found = await lookUp({ AttributeKey: 'ResourceName', AttributeValue: name }, from, to);
      lookedUp.push(name);
      for (const event of found) events.set(event.EventId ?? '', cloudTrailEventEvidence(event));
    }
  } catch (error) {
    const reason = error instanceof CloudTrailUnavailable ? error.message : describeError(error);
    logger.warn('CloudTrail unavailable for the evidence record', { reason });
    return { available: false, reason, lookedUp, events: [...events.values()], startedBy, notes };
  }
  const sorted = [...events.values()].sort((a, b) => a.eventTime.localeCompare(b.eventTime));
  return { available: true, reason: null, lookedUp, events: sorted, startedBy, notes };
};
