import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { logger } from '#runtime/logger.js';
import type { EvidenceState } from './context.js';
import { defaultDeps, type RecordEvidenceDeps } from './deps.js';
import { readHistory } from './history.js';
import { type RecordEvidenceOutput, writeEvidence } from './writer.js';

/**
 * Aborted and timed-out executions (EventBridge: RecordEvidenceOnStopRule): no state runs after
 * them, so their record is written from the status-change event and the execution history.
 */

/** What EventBridge sends when an execution of the state machine is aborted or times out. */
export interface ExecutionStatusChangeEvent {
  source: 'aws.states';
  'detail-type': string;
  time?: string;
  detail: {
    executionArn: string;
    stateMachineArn?: string;
    name?: string;
    status: string;
    /** Epoch milliseconds. */
    startDate?: number | null;
    stopDate?: number | null;
    /** The execution input as a JSON string (absent when too large: inputDetails.included false). */
    input?: string | null;
    error?: string | null;
    cause?: string | null;
  };
}

export const isExecutionStatusChange = (event: unknown): event is ExecutionStatusChangeEvent =>
  (event as ExecutionStatusChangeEvent | null)?.source === 'aws.states' &&
  typeof (event as ExecutionStatusChangeEvent).detail?.executionArn === 'string';

/** Only these two statuses run no further state; anything else has its record from the state machine. */
export class NotAStoppedExecutionError extends Error {
  override readonly name = 'NotAStoppedExecutionError';
}

const parseJson = (text: string | null | undefined): unknown => {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

const objectOf = (value: unknown): Record<string, unknown> | null =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

export interface RebuiltState {
  state: EvidenceState;
  /** The last state entered: where the execution was when it stopped. */
  lastState: string | null;
  /** The ExecutionStarted event's time, ISO 8601. */
  startedAt: string | null;
  /** Error and cause of the ExecutionAborted / ExecutionTimedOut event. */
  error: string | null;
  cause: string | null;
}

/**
 * The last known rotation state of an execution, from its history (read with execution data): the
 * latest state output that carries the plan; before the plan, the latest output that carries the
 * (merged) input; before any state, the execution input itself, as Prepare would have kept it.
 */
export const stateFromHistory = (events: HistoryEvent[], executionInput?: unknown): RebuiltState => {
  let withPlan: EvidenceState | undefined;
  let withInput: EvidenceState | undefined;
  let input = executionInput;
  let lastState: string | null = null;
  let startedAt: string | null = null;
  let error: string | null = null;
  let cause: string | null = null;
  for (const event of events) {
    if (event.type === 'ExecutionStarted') {
      startedAt = event.timestamp?.toISOString() ?? null;
      const given = parseJson(event.executionStartedEventDetails?.input);
      if (given !== undefined) input = given;
    }
    if (event.stateEnteredEventDetails?.name) lastState = event.stateEnteredEventDetails.name;
    const stopped = event.executionAbortedEventDetails ?? event.executionTimedOutEventDetails;
    if (stopped) {
      error = stopped.error ?? null;
      cause = stopped.cause ?? null;
    }
    const output = objectOf(parseJson(event.stateExitedEventDetails?.output));
    if (!output) continue;
    if (objectOf(output.plan)) withPlan = output as EvidenceState;
    else if ('input' in output) withInput = output as EvidenceState;
  }
  const state = withPlan ?? withInput ?? { input: input ?? null };
  return { state, lastState, startedAt, error, cause };
};

/**
 * An execution that was aborted or timed out runs no further state, so its own RecordEvidence never
 * runs: this writes its record from the EventBridge event and the execution history, under the key
 * the state machine would have used (a repeat delivery writes a new version of the same object).
 */
export const recordStoppedExecution = async (
  event: ExecutionStatusChangeEvent,
  deps: RecordEvidenceDeps = defaultDeps,
): Promise<RecordEvidenceOutput> => {
  const { detail } = event;
  if (detail.status !== 'ABORTED' && detail.status !== 'TIMED_OUT') {
    throw new NotAStoppedExecutionError(
      `Execution ${detail.executionArn} has status ${detail.status}: only ABORTED and TIMED_OUT executions are recorded from EventBridge (the state machine records the others).`,
    );
  }
  const history = await readHistory(detail.executionArn, deps.clients(), true);
  const rebuilt = stateFromHistory(history.raw, parseJson(detail.input));
  const startedAt =
    typeof detail.startDate === 'number'
      ? new Date(detail.startDate).toISOString()
      : (rebuilt.startedAt ?? event.time ?? deps.now().toISOString());
  const stoppedAt =
    typeof detail.stopDate === 'number' ? new Date(detail.stopDate).toISOString() : (event.time ?? null);
  logger.info('recording the evidence of a stopped execution', {
    executionArn: detail.executionArn,
    status: detail.status,
    lastState: rebuilt.lastState,
    hasPlan: Boolean(rebuilt.state.plan),
  });
  return writeEvidence(
    {
      state: rebuilt.state,
      execution: { Id: detail.executionArn, Name: detail.name, StartTime: startedAt },
    },
    deps,
    {
      history,
      stopped: {
        status: detail.status,
        error: detail.error ?? rebuilt.error,
        cause: detail.cause ?? rebuilt.cause,
        stoppedAt,
        lastState: rebuilt.lastState,
      },
    },
  );
};
