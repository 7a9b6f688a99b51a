import {
  type Event as CloudTrailEvent,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { DescribeKeyCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { isThrottlingError } from '@smithy/core/retry';
import { type EvidenceClients, getEvidenceClients } from '#aws/evidence-clients.js';
import type { RotationPlan } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';
import {
  buildEvidence,
  type CloudTrailInput,
  deriveResources,
  deriveSteps,
  type EvidenceState,
  type ExecutionContext,
  evidenceTargetName,
  type HistoryInput,
  resourceNamesOf,
  rotationIdOf,
  type StoppedExecution,
} from './build.js';
import { localHistoryFor } from './local-history.js';
import {
  type CloudTrailEventEvidence,
  type EvidenceRecord,
  evidenceKey,
  type HistoryEventEvidence,
  type KeyEvidence,
} from './schema.js';

/**
 * RecordEvidence: at the end of every execution (success, failure, duplicate start; and, from
 * RecordEvidenceOnStopRule, an execution that was aborted or timed out), write one
 * JSON document to the evidence bucket that answers, after Step Functions has forgotten the
 * execution, who rotated which database from which key to which, when, with what result, and
 * whether the old key is really gone (evidence-schema.ts, docs/evidence-schema.md).
 *
 * Re-runnable: the object key derives from the target, the execution start and the rotation id, so
 * a retry overwrites the same key (a new version in the versioned bucket). CloudTrail is best
 * effort: anything it refuses is written into the record (`cloudTrail.available: false`), never
 * thrown. What does throw (the bucket refusing the write) is caught by the state machine, which
 * then ends the rotation with its own result and says the record is missing.
 */

export interface RecordEvidenceInput {
  state: EvidenceState;
  execution: ExecutionContext;
}

export interface RecordEvidenceOutput {
  bucket: string;
  key: string;
  uri: string;
  versionId: string | null;
  /** SHA-256 of the document (base64), as S3 checked and stored it. */
  checksumSHA256: string | null;
}

export class EvidenceConfigurationError extends Error {
  override readonly name = 'EvidenceConfigurationError';
}

export interface RecordEvidenceDeps {
  clients: () => EvidenceClients;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Wall-clock budget for all CloudTrail lookups (the Lambda has 300 s; S3 and KMS need a few). */
  cloudTrailBudgetMs: number;
  /** Pages of 50 events per resource name (LookupEvents' maximum page size). */
  maxPagesPerResource: number;
  /** Attempts of one LookupEvents call that is throttled (exponential backoff from 1 s, full jitter). */
  maxThrottledAttempts: number;
}

export const defaultDeps: RecordEvidenceDeps = {
  clients: getEvidenceClients,
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  cloudTrailBudgetMs: 180_000,
  maxPagesPerResource: 10,
  maxThrottledAttempts: 6,
};

// ---------------------------------------------------------------------------------------------
// Execution history
// ---------------------------------------------------------------------------------------------

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

interface HistoryRead extends HistoryInput {
  /** The events as Step Functions returned them (empty for the local runner or when unavailable). */
  raw: HistoryEvent[];
}

const readHistory = async (
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

// ---------------------------------------------------------------------------------------------
// CloudTrail
// ---------------------------------------------------------------------------------------------

/** CloudTrail cannot answer: the whole lookup stops, and the record says why. */
class CloudTrailUnavailable extends Error {
  override readonly name = 'CloudTrailUnavailable';
}

const describeError = (error: unknown): string => {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`.slice(0, 500);
};

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
    const starts = await lookUp(
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
    } else {
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

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

export const describeKeyEvidence = async (
  keyArn: string | undefined,
  clients: EvidenceClients,
): Promise<KeyEvidence | null> => {
  if (!keyArn) return null;
  const keyId = keyArn.split('/').pop() ?? keyArn;
  try {
    const { KeyMetadata: key } = await clients.kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    const { Aliases } = await clients.kms.send(new ListAliasesCommand({ KeyId: keyId }));
    return {
      arn: key?.Arn ?? keyArn,
      alias: Aliases?.[0]?.AliasName ?? null,
      keyManager: key?.KeyManager ?? 'CUSTOMER',
      keyState: key?.KeyState ?? null,
      creationDate: key?.CreationDate?.toISOString() ?? null,
      deletionDate: key?.DeletionDate?.toISOString() ?? null,
      pendingWindowDays: key?.PendingDeletionWindowInDays ?? null,
      description: key?.Description ?? null,
    };
  } catch (error) {
    // A key that is gone, or not ours to describe: the record keeps its ARN and says what KMS said.
    logger.warn('could not describe a key for the evidence record', { keyArn, error: (error as Error).name });
    return {
      arn: keyArn,
      alias: null,
      keyManager: 'CUSTOMER',
      keyState: null,
      creationDate: null,
      deletionDate: null,
      pendingWindowDays: null,
      description: `DescribeKey failed: ${describeError(error)}`,
    };
  }
};

// ---------------------------------------------------------------------------------------------
// The step
// ---------------------------------------------------------------------------------------------

export const evidenceBucketName = (): string => {
  const bucket = process.env.EVIDENCE_BUCKET;
  if (!bucket) {
    throw new EvidenceConfigurationError(
      'EVIDENCE_BUCKET is not set: the function needs the evidence bucket name (template.yaml sets it; `rekey run` needs --evidence-bucket against AWS).',
    );
  }
  return bucket;
};

/** Options of a record written outside the state machine (an aborted or timed-out execution). */
interface CollectOptions {
  /** The history, already read (with execution data) to rebuild the state. */
  history?: HistoryInput;
  stopped?: StoppedExecution;
}

/** Builds the record without writing it (for callers that want it, and the tests). */
export const collectEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps = defaultDeps,
  options: CollectOptions = {},
): Promise<EvidenceRecord> => {
  const { state, execution } = input;
  const clients = deps.clients();
  const history = options.history ?? (await readHistory(execution.Id, clients));
  const resources = deriveResources(state, deriveSteps(history.events));
  const plan = state.plan as RotationPlan | undefined;
  const [oldKey, newKey] = await Promise.all([
    describeKeyEvidence(plan?.source?.kmsKeyArn, clients),
    describeKeyEvidence(state.newKey?.keyArn, clients),
  ]);
  const cloudTrail = await lookUpCloudTrail(
    execution.Id,
    new Date(execution.StartTime),
    resourceNamesOf(state, resources),
    deps,
  );
  return buildEvidence({
    state,
    execution,
    history: { source: history.source, events: history.events, truncated: history.truncated },
    cloudTrail,
    keys: { old: oldKey, new: newKey },
    now: deps.now(),
    stopped: options.stopped,
  });
};

const writeEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps,
  options: CollectOptions = {},
): Promise<RecordEvidenceOutput> => {
  const bucket = evidenceBucketName();
  const key = evidenceKey(
    evidenceTargetName(input.state),
    input.execution.StartTime,
    rotationIdOf(input.state, input.execution.Id),
  );
  const record = await collectEvidence(input, deps, options);
  const written = await deps.clients().s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(record, null, 2)}\n`,
      ContentType: 'application/json',
      // Integrity (and what S3 requires of a write to a bucket with Object Lock retention).
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const uri = `s3://${bucket}/${key}`;
  logger.info('evidence recorded', {
    uri,
    status: record.execution.status,
    cloudTrailAvailable: record.cloudTrail.available,
    historyEvents: record.history.events.length,
  });
  return {
    bucket,
    key,
    uri,
    versionId: written.VersionId ?? null,
    checksumSHA256: written.ChecksumSHA256 ?? null,
  };
};

export const recordEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps = defaultDeps,
): Promise<RecordEvidenceOutput> => writeEvidence(input, deps);

// ---------------------------------------------------------------------------------------------
// Aborted and timed-out executions (EventBridge: RecordEvidenceOnStopRule)
// ---------------------------------------------------------------------------------------------

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

/** The RecordEvidence states' input, or RecordEvidenceOnStopRule's event. */
export const recordAnyEvidence = (
  event: RecordEvidenceInput | ExecutionStatusChangeEvent,
): Promise<RecordEvidenceOutput> =>
  isExecutionStatusChange(event) ? recordStoppedExecution(event) : recordEvidence(event);
