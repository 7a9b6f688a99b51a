import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import type { EvidenceClients } from '#aws/evidence-clients.js';
import { logger } from '#runtime/logger.js';
import type { HistoryInput } from './context.js';
import { localHistoryFor } from './local-history.js';
import type { HistoryEventEvidence } from './schema.js';

/** The execution history: read from Step Functions (or the local runner) and kept as the record holds it. */

const MAX_HISTORY_EVENTS = 25_000;

/** Step Functions history events as the record keeps them: type, time, state name, error and cause. */
export const historyFromStepFunctions = (events: HistoryEvent[]): HistoryEventEvidence[] => {
  let current: string | null = null;
  return events.map((event) => {
    const type = event.type ?? 'Unknown';
    const entered = event.stateEnteredEventDetails?.name;
    const exited = event.stateExitedEventDetails?.name;
    if (entered) current = entered;
    const failure =
      event.lambdaFunctionFailedEventDetails ??
      event.lambdaFunctionTimedOutEventDetails ??
      event.lambdaFunctionScheduleFailedEventDetails ??
      event.lambdaFunctionStartFailedEventDetails ??
      event.taskFailedEventDetails ??
      event.taskTimedOutEventDetails ??
      event.executionFailedEventDetails ??
      event.executionTimedOutEventDetails ??
      event.executionAbortedEventDetails;
    const stateName = entered ?? exited ?? (type.startsWith('Execution') ? null : current);
    return {
      id: event.id ?? 0,
      timestamp: (event.timestamp ?? new Date(0)).toISOString(),
      type,
      stateName,
      detail: failure ? [failure.error, failure.cause].filter(Boolean).join(': ') || null : null,
    };
  });
};

export interface HistoryRead extends HistoryInput {
  /** The events as Step Functions returned them (empty for the local runner or when unavailable). */
  raw: HistoryEvent[];
}

export const readHistory = async (
  executionArn: string,
  clients: EvidenceClients,
  includeExecutionData = false,
): Promise<HistoryRead> => {
  const local = localHistoryFor(executionArn);
  if (local) return { source: 'local-runner', events: await local(), truncated: false, raw: [] };
  try {
    const raw: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await clients.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          includeExecutionData,
          nextToken,
        }),
      );
      raw.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken && raw.length < MAX_HISTORY_EVENTS);
    return {
      source: 'states:GetExecutionHistory',
      events: historyFromStepFunctions(raw),
      truncated: Boolean(nextToken),
      raw,
    };
  } catch (error) {
    logger.warn('execution history unavailable', { error: (error as Error).name });
    return { source: 'unavailable', events: [], truncated: false, raw: [] };
  }
};
