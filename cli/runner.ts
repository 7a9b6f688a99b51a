import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import {
  type RunOptions as LocalRunOptions,
  StateMachine,
  type StateMachineDefinition,
} from 'aws-local-stepfunctions';
import { parseRotationInput, rotationTarget } from '#domain/input.js';
import type { Poll, RdsEventSourceType } from '#domain/limits.js';
import type { LocalRun } from '#features/evidence/context.js';
import { registerLocalHistory } from '#features/evidence/local-history.js';
import { registerLocalCompleter } from '#features/waits/local-completer.js';
import { type ApprovalDecider, approvalUnavailable, completeGate, localTaskToken } from './approval-gate.js';
import { ensureEvidenceBucket, LOCAL_EVIDENCE_BUCKET } from './evidence-bucket.js';
import { historyFromLocalEvents, type LocalEvent } from './local-history.js';
import { ensureLockTable } from './lock-table.js';
import {
  type FunctionHandler,
  functionHandlers,
  parseTemplate,
  type Template,
  taskHandlers,
} from './template.js';

/**
 * Runs the real ASL file with the real step handlers, in this process, with
 * aws-local-stepfunctions: each Task state is mapped, through the template's
 * DefinitionSubstitutions, to the handler of the function it names. The handlers' AWS clients
 * talk to `endpoint` (the emulator) or, without one, to AWS with the default credential chain.
 */

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node >= 22); Node 20 lacks it.
if (!('withResolvers' in Promise)) {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

const root = fileURLToPath(new URL('../', import.meta.url));
export const DEFAULT_ASL = `${root}state-machines/rotate-database.asl.json`;
export const DEFAULT_TEMPLATE = `${root}template.yaml`;
export const FLEET_ASL = `${root}state-machines/rotate-fleet.asl.json`;

type TaskFn = (input: unknown) => Promise<unknown>;
const START_CHILD_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
const WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
type LocalHandlers = NonNullable<NonNullable<LocalRunOptions['overrides']>['taskResourceLocalHandlers']>;

export interface RunOptions {
  input: unknown;
  /** Execution name; the rotation id derives from the execution ARN built from it. */
  executionName?: string;
  region?: string;
  /** Skip Wait states and retry intervals (for the emulator, where everything is ready at once). */
  fastWaits?: boolean;
  /** One line of progress per state event (to stderr in the CLI). */
  onProgress?: (line: string) => void;
  /**
   * The rotation lock table. `create: true` (an emulator) creates it when missing; against AWS it is
   * the stack's `RotationLockTableName` output.
   */
  lockTable?: { name: string; create: boolean };
  /**
   * Serves the approval gates (WaitForApproval, a fleet's WaitForFleetApproval), which have no task token locally: the request step
   * runs for real, then this decides. Without it, a gate fails into the rollback (never hangs).
   */
  approval?: ApprovalDecider;
  /** The SNS topic the notifications go to (NOTIFICATION_TOPIC_ARN); unset, they are only logged. */
  notificationTopicArn?: string;
  /**
   * The evidence bucket RecordEvidence writes to. `create: true` (an emulator) creates it when
   * missing; against AWS it is the stack's `EvidenceBucketName` output. Default: with a lock table
   * that is created (an emulator), the local bucket `rekey-evidence`.
   */
  evidenceBucket?: { name: string; create: boolean };
  /**
   * Who runs it, against AWS (`sts:GetCallerIdentity`, looked up by `rekey run`): the evidence
   * record's `startedBy`. Against an emulator (AWS_ENDPOINT_URL set) the record says so instead.
   */
  caller?: LocalRun['caller'];
  /** Wrap a Task's handler by state name (tests use it to inject faults). */
  wrapTask?: (stateName: string, invoke: TaskFn) => TaskFn;
  /**
   * Called in each event-driven wait (an AwaitRdsEvent Task), once AwaitRdsEvent has registered
   * the wait: `deliver` hands a simulated RDS event to the real OnRdsEvent handler, as the
   * EventBridge rule would. If that (or an event that came before) completed the wait's token, the
   * Task succeeds; otherwise it times out (at once with fastWaits, else after poll.waitSeconds or
   * at a later completion) and the check runs.
   */
  onEventWait?: (wait: EventWait) => Promise<void> | void;
  /** Every state event of the run, as aws-local-stepfunctions reports it (`npm run bench` counts them). */
  onEvent?: (event: LocalEvent) => void;
  aslPath?: string;
  templatePath?: string;
}

/** An RDS event as the local run delivers it (EventBridge source aws.rds, detail.EventID). */
export interface SimulatedRdsEvent {
  eventId: string;
  sourceType: RdsEventSourceType;
  sourceIdentifier: string;
  /** When RDS published it (default: now). */
  time?: Date;
}

export interface EventWait {
  /** The AwaitRdsEvent Task, e.g. AwaitStopSource. */
  stateName: string;
  /** The check step's poll: what it awaits (`awaits`), when it checked, the fallback (`waitSeconds`). */
  poll: Poll;
  /** Delivers an RDS event through the real OnRdsEvent handler; resolves to its result. */
  deliver: (event: SimulatedRdsEvent) => Promise<unknown>;
}

const DETAIL_TYPES: Record<RdsEventSourceType, string> = {
  DB_INSTANCE: 'RDS DB Instance Event',
  CLUSTER: 'RDS DB Cluster Event',
  SNAPSHOT: 'RDS DB Snapshot Event',
  CLUSTER_SNAPSHOT: 'RDS DB Cluster Snapshot Event',
};

/** The EventBridge event the rule on aws.rds hands to OnRdsEvent. */
export const eventBridgeRdsEvent = (event: SimulatedRdsEvent, region: string): Record<string, unknown> => {
  const date = (event.time ?? new Date()).toISOString();
  const time = date.replace(/\.\d{3}Z$/, 'Z');
  const kind = {
    DB_INSTANCE: 'db',
    CLUSTER: 'cluster',
    SNAPSHOT: 'snapshot',
    CLUSTER_SNAPSHOT: 'cluster-snapshot',
  }[event.sourceType];
  const arn = `arn:aws:rds:${region}:000000000000:${kind}:${event.sourceIdentifier}`;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': DETAIL_TYPES[event.sourceType],
    source: 'aws.rds',
    account: '000000000000',
    time,
    region,
    resources: [arn],
    detail: {
      EventCategories: [],
      SourceType: event.sourceType,
      SourceArn: arn,
      Date: date,
      Message: '',
      SourceIdentifier: event.sourceIdentifier,
      EventID: event.eventId,
    },
  };
};

export interface StepTiming {
  state: string;
  startedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'retried' | 'caught';
}

/** Where RecordEvidence wrote the record (also when the execution failed), if it did. */
export interface EvidenceLocation {
  bucket: string;
  key: string;
  uri: string;
}

export type RunResult = (
  | { status: 'SUCCEEDED'; executionArn: string; output: unknown; timings: StepTiming[] }
  | { status: 'FAILED'; executionArn: string; error: string; cause: string; timings: StepTiming[] }
) & { evidence?: EvidenceLocation };

const lambdaContext = (functionName: string, region: string): Context =>
  ({
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  }) as Context;

/**
 * Lambda reports a function error to Step Functions as Error = the error's name and Cause = a
 * JSON document {errorType, errorMessage, trace}. The local run does the same, so the state
 * machine and the rollback see what they see on AWS.
 */
const asLambdaError = (error: unknown): Error => {
  const original = error instanceof Error ? error : new Error(String(error));
  const failure = new Error(
    JSON.stringify({ errorType: original.name, errorMessage: original.message, trace: [] }),
  );
  failure.name = original.name;
  return failure;
};

/**
 * `local-<time>-<random>`. The rotation id, and so the lock's owner, derive from the execution name:
 * two `rekey run` started in the same millisecond must not share one, or the re-entrant lock would
 * let both rotate the same database at once. (Step Functions itself refuses a duplicate name.)
 */
export const defaultExecutionName = (now: Date = new Date()): string =>
  `local-${now.toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;

const substitute = (text: string, values: Record<string, string>): string =>
  text.replace(/\$\{(\w+)\}/g, (match, name: string) => values[name] ?? match);

/**
 * aws-local-stepfunctions evaluates a Task's TimeoutSecondsPath against the input after Parameters;
 * Step Functions evaluates it against the state's input. For a Task that passes the part of its
 * input the path reads under a Payload key (`"state.$": "$"`, as WaitForApproval does, or
 * `"poll.$": "$.freeze.poll"`, as an event-driven wait does), point the path there, so the same
 * value is read as on AWS.
 */
const adaptTimeoutPaths = (definition: StateMachineDefinition): void => {
  for (const state of Object.values(definition.States) as unknown as Record<string, unknown>[]) {
    const path = state.TimeoutSecondsPath;
    const payload = (state.Parameters as { Payload?: Record<string, unknown> } | undefined)?.Payload;
    if (typeof path !== 'string' || !path.startsWith('$.') || !payload) continue;
    const found = Object.entries(payload).find(
      ([key, value]) =>
        key.endsWith('.$') && typeof value === 'string' && (value === '$' || path.startsWith(`${value}.`)),
    );
    if (!found) continue;
    const [key, value] = found as [string, string];
    state.TimeoutSecondsPath = `$.Payload.${key.slice(0, -2)}${path.slice(value.length)}`;
  }
};

const RETRY_COUNT = '$$.State.RetryCount';

/** The Parameters key a Task passes `$$.State.RetryCount` under, if it does. */
const retryCountKey = (state: unknown): string | undefined => {
  const parameters = (state as { Parameters?: Record<string, unknown> }).Parameters;
  const entry = Object.entries(parameters ?? {}).find(([, value]) => value === RETRY_COUNT);
  return entry?.[0].slice(0, -2);
};

/**
 * aws-local-stepfunctions has no `$$.State.RetryCount` in its context object, and would fail the
 * state on it. The local definition drops that parameter; the Task's local handler adds it back
 * (runStateMachine counts the failed attempts of the state in a row, which is what it is on AWS).
 */
const adaptRetryCounts = (definition: StateMachineDefinition): void => {
  for (const state of Object.values(definition.States) as unknown as Record<string, unknown>[]) {
    const key = retryCountKey(state);
    if (key) delete (state.Parameters as Record<string, unknown>)[`${key}.$`];
  }
};

interface Built {
  handlers: ReturnType<typeof taskHandlers>;
  /** The target of the rule on RDS events (template.yaml OnRdsEventFunction), for `deliver`. */
  onRdsEvent: FunctionHandler | undefined;
  rawDefinition: StateMachineDefinition;
  machine: StateMachine;
}

/**
 * The template's handlers and the validated machine, per ASL text, template text and Region:
 * building them takes about 0.3 s (YAML parse, ASL validation), which a process that runs many
 * executions (the tests) pays once. Keyed by the files' contents, so an edited file is rebuilt.
 */
const builtCache = new Map<string, Built>();

/** The template's state machine whose DefinitionUri is this ASL file (the rotation's by default). */
const machineOf = (template: Template, aslPath: string): string => {
  const file = `state-machines/${basename(aslPath)}`;
  const found = Object.entries(template.Resources).find(
    ([, resource]) =>
      resource.Type === 'AWS::Serverless::StateMachine' && resource.Properties?.DefinitionUri === file,
  );
  return found?.[0] ?? 'RotateInstanceStateMachine';
};

const build = (
  rawAsl: string,
  templateText: string,
  templatePath: string,
  region: string,
  aslPath: string,
): Built => {
  const cacheKey = JSON.stringify([rawAsl, templateText, region, aslPath]);
  const cached = builtCache.get(cacheKey);
  if (cached) return cached;
  const template = parseTemplate(templateText, templatePath);
  const handlers = taskHandlers(template, machineOf(template, aslPath));
  const fakeArns = Object.fromEntries(
    Object.keys(handlers).map((name) => [
      name,
      `arn:aws:lambda:${region}:000000000000:function:rekey-${name}`,
    ]),
  );
  const rawDefinition = JSON.parse(rawAsl) as StateMachineDefinition;
  const definition = JSON.parse(substitute(rawAsl, fakeArns)) as StateMachineDefinition;
  adaptTimeoutPaths(definition);
  adaptRetryCounts(definition);
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const onRdsEvent = functionHandlers(template).find((fn) => fn.logicalId === 'OnRdsEventFunction');
  const built = { handlers, onRdsEvent, rawDefinition, machine };
  builtCache.set(cacheKey, built);
  return built;
};

type AnyState = StateMachineDefinition['States'][string];

/** Every state, also those inside a Map's ItemProcessor (a fleet's per-database states). */
const allStates = (definition: { States: Record<string, AnyState> }): [string, AnyState][] =>
  Object.entries(definition.States).flatMap(([name, state]) => {
    const inner = (state as { ItemProcessor?: { States: Record<string, AnyState> } }).ItemProcessor;
    return [[name, state] as [string, AnyState], ...(inner ? allStates(inner) : [])];
  });

interface ChildStart {
  StateMachineArn: string;
  Name: string;
  Input: unknown;
}

/** Which database a child rotation is about, for its progress lines. */
const childLabel = (start: ChildStart): string => {
  try {
    return rotationTarget(parseRotationInput(start.Input)).identifier;
  } catch {
    return start.Name;
  }
};

/**
 * `states:startExecution.sync:2` locally: the rotation machine runs in this process with the same
 * lock table, bucket and approval, and the Task gets what it gets on AWS: DescribeExecution with
 * Output parsed, or, when the child failed, States.TaskFailed whose cause is that response as JSON.
 */
const runChild = async (parent: RunOptions, start: ChildStart): Promise<unknown> => {
  const label = childLabel(start);
  const progress = parent.onProgress;
  const startDate = new Date().toISOString();
  const result = await runStateMachine({
    ...parent,
    input: start.Input,
    executionName: start.Name,
    aslPath: DEFAULT_ASL,
    ...(progress ? { onProgress: (line: string) => progress(`[${label}] ${line}`) } : {}),
  });
  const described = {
    ExecutionArn: result.executionArn,
    StateMachineArn: start.StateMachineArn,
    Name: start.Name,
    Input: JSON.stringify(start.Input),
    InputDetails: { Included: true },
    StartDate: startDate,
    StopDate: new Date().toISOString(),
  };
  if (result.status === 'SUCCEEDED') {
    return { ...described, Status: 'SUCCEEDED', Output: result.output, OutputDetails: { Included: true } };
  }
  const failure = new Error(
    JSON.stringify({ ...described, Status: 'FAILED', Error: result.error, Cause: result.cause }),
  );
  failure.name = 'States.TaskFailed';
  throw failure;
};

/** Invokes a template function's handler in this process, as Lambda would (its module loaded once by Node). */
const callHandler = async (target: FunctionHandler, event: unknown, region: string): Promise<unknown> => {
  const module = (await import(pathToFileURL(`${root}${target.handlerFile}`).href)) as Record<
    string,
    unknown
  >;
  const handler = module[target.exportName] as (event: unknown, context: Context) => Promise<unknown>;
  return handler(event, lambdaContext(target.logicalId, region));
};

export const runStateMachine = async (options: RunOptions): Promise<RunResult> => {
  const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
  if (options.lockTable) {
    process.env.LOCK_TABLE_NAME = options.lockTable.name;
    if (options.lockTable.create) await ensureLockTable(options.lockTable.name);
  }
  if (options.notificationTopicArn) process.env.NOTIFICATION_TOPIC_ARN = options.notificationTopicArn;
  const executionName = options.executionName ?? defaultExecutionName();
  const executionArn = `arn:aws:states:${region}:000000000000:execution:rekey-local:${executionName}`;
  const evidenceBucket =
    options.evidenceBucket ??
    (options.lockTable?.create ? { name: LOCAL_EVIDENCE_BUCKET, create: true } : undefined);
  if (evidenceBucket) {
    process.env.EVIDENCE_BUCKET = evidenceBucket.name;
    if (evidenceBucket.create) await ensureEvidenceBucket(evidenceBucket.name);
  }
  let evidence: EvidenceLocation | undefined;
  const { handlers, onRdsEvent, rawDefinition, machine } = build(
    readFileSync(options.aslPath ?? DEFAULT_ASL, 'utf8'),
    readFileSync(options.templatePath ?? DEFAULT_TEMPLATE, 'utf8'),
    options.templatePath ?? DEFAULT_TEMPLATE,
    region,
    options.aslPath ?? DEFAULT_ASL,
  );

  // Event-driven waits: each AwaitRdsEvent Task gets its own token (Step Functions gives every
  // Task its own; aws-local-stepfunctions one per execution), completed here by OnRdsEvent or
  // AwaitRdsEvent through features/waits/tokens.ts. A token nobody waits on any more is stale.
  const waiting = new Map<string, (output: unknown) => void>();
  let waitCount = 0;
  const unregisterCompleter = registerLocalCompleter((token, output) => {
    const resolve = waiting.get(token);
    if (!resolve) return false;
    waiting.delete(token);
    resolve(output);
    return true;
  });
  const deliver = async (event: SimulatedRdsEvent): Promise<unknown> => {
    if (!onRdsEvent) throw new Error('template.yaml has no OnRdsEventFunction to deliver an RDS event to.');
    return callHandler(onRdsEvent, eventBridgeRdsEvent(event, region), region);
  };

  const resultKeys: Record<string, string> = {};
  const eventWaits = new Set<string>();
  const taskResourceLocalHandlers: LocalHandlers = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [stateName, state] of allStates(rawDefinition)) {
    if (state.Type === 'Wait' && options.fastWaits) waitTimeOverrides[stateName] = 0;
    if (state.Type !== 'Task') continue;
    if (options.fastWaits) retryIntervalOverrides[stateName] = 0;
    const resultKey = /^\$\.(\w+)$/.exec(state.ResultPath ?? '')?.[1];
    if (resultKey) resultKeys[stateName] = resultKey;
    // The approval gate names its function in Parameters.FunctionName (lambda:invoke.waitForTaskToken).
    const waitsForToken = state.Resource === WAIT_FOR_TOKEN;
    const functionRef = waitsForToken
      ? String((state as { Parameters?: { FunctionName?: unknown } }).Parameters?.FunctionName ?? '')
      : state.Resource;
    if (state.Resource === START_CHILD_SYNC) {
      const child: TaskFn = (input) => runChild(options, input as ChildStart);
      taskResourceLocalHandlers[stateName] = (
        options.wrapTask ? options.wrapTask(stateName, child) : child
      ) as LocalHandlers[string];
      continue;
    }
    const substitution = /^\$\{(\w+)\}$/.exec(functionRef)?.[1];
    const target = substitution ? handlers[substitution] : undefined;
    if (!target) {
      throw new Error(`Task ${stateName}: its Resource ${state.Resource} names no function of the template.`);
    }
    const invoke: TaskFn = async (input) => {
      try {
        const result = await callHandler(target, input, region);
        if (substitution === 'RecordEvidenceFunctionArn') evidence = result as EvidenceLocation;
        return result;
      } catch (error) {
        throw asLambdaError(error);
      }
    };
    const gate: TaskFn = async (input) => {
      const { Payload } = input as { Payload: { taskToken: string; state: never } };
      const requested = (await invoke(Payload)) as never;
      if (!options.approval) throw approvalUnavailable();
      const decision = await options.approval({
        executionArn,
        taskToken: Payload.taskToken,
        state: Payload.state,
        requested,
      });
      return completeGate(decision);
    };
    const eventWait: TaskFn = async (input) => {
      const { Payload } = input as { Payload: { taskToken: string; poll: Poll } };
      const token = `${Payload.taskToken}#${++waitCount}`;
      let woken: { output: unknown } | undefined;
      const completion = new Promise<void>((resolve) => {
        waiting.set(token, (output) => {
          woken = { output };
          resolve();
        });
      });
      try {
        await invoke({ ...Payload, taskToken: token });
        await options.onEventWait?.({ stateName, poll: Payload.poll, deliver });
        if (!woken && !options.fastWaits) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            completion,
            new Promise((resolve) => {
              timer = setTimeout(resolve, Payload.poll.waitSeconds * 1000);
            }),
          ]);
          clearTimeout(timer);
        }
      } finally {
        waiting.delete(token);
      }
      if (woken) return woken.output;
      const timeout = new Error('Task timed out.');
      timeout.name = 'States.Timeout';
      throw timeout;
    };
    if (substitution === 'AwaitRdsEventFunctionArn') eventWaits.add(stateName);
    const task = substitution === 'AwaitRdsEventFunctionArn' ? eventWait : waitsForToken ? gate : invoke;
    const wrapped = options.wrapTask ? options.wrapTask(stateName, task) : task;
    const retryKey = retryCountKey(state);
    // A Task runs again right after it failed only when its Retry fires (a Catch leaves the state).
    let failedInARow = 0;
    const counted: TaskFn = async (input) => {
      try {
        const result = await wrapped(retryKey ? { ...(input as object), [retryKey]: failedInARow } : input);
        failedInARow = 0;
        return result;
      } catch (error) {
        failedInARow += 1;
        throw error;
      }
    };
    taskResourceLocalHandlers[stateName] = counted as LocalHandlers[string];
  }

  const startTime = new Date().toISOString();
  // No GetExecutionHistory here: RecordEvidence reads the events this run observed instead.
  const localEvents: LocalEvent[] = [];
  const unregisterHistory = registerLocalHistory(
    executionArn,
    async () => {
      // Let the loop below take the events already emitted before handing them over.
      await new Promise((resolve) => setImmediate(resolve));
      return historyFromLocalEvents(localEvents);
    },
    { endpoint: process.env.AWS_ENDPOINT_URL || null, caller: options.caller ?? null },
  );
  const execution = machine.run(options.input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: {
      Execution: {
        Id: executionArn,
        Name: executionName,
        StartTime: startTime,
        Input: options.input as never,
      },
      // $$.Task.Token for the approval gate: aws-local-stepfunctions has no tokens of its own.
      Task: { Token: localTaskToken(executionName) },
    } as never,
  });

  /** For a reconciling step that is not done yet: what it saw and when it looks again. */
  const pollNote = (state: { name: string; output?: unknown }): string => {
    const key = resultKeys[state.name];
    const result = key ? (state.output as Record<string, unknown> | undefined)?.[key] : undefined;
    if (!result || typeof result !== 'object') return '';
    const { done, status, changeStatus, poll } = result as {
      done?: boolean;
      status?: string;
      changeStatus?: string;
      poll?: { attempt: number; waitSeconds: number };
    };
    if (done !== false || !poll) return '';
    const next = options.fastWaits ? 'checking again' : `next check in ${poll.waitSeconds} s`;
    return `: ${status ?? changeStatus ?? 'not ready'}, ${next} (check ${poll.attempt})`;
  };
  const timings: StepTiming[] = [];
  const entered = new Map<string, number>();
  const failed = new Set<string>();
  const lastError = new Map<string, string>();
  const began = Date.now();
  const elapsed = (at: number) => `${((at - began) / 1000).toFixed(1).padStart(6)}s`;
  const progress = options.onProgress ?? (() => undefined);
  let failure: { error: string; cause: string } | undefined;
  let output: unknown;

  for await (const event of execution.eventLogs) {
    localEvents.push(event as LocalEvent);
    options.onEvent?.(event as LocalEvent);
    switch (event.type) {
      case 'StateEntered':
        entered.set(event.state.name, event.timestamp);
        failed.delete(event.state.name);
        if (event.state.type === 'Task') progress(`${elapsed(event.timestamp)}  > ${event.state.name}`);
        break;
      case 'StateExited': {
        const start = entered.get(event.state.name) ?? event.timestamp;
        if (event.state.type === 'Task' && !failed.has(event.state.name)) {
          timings.push({
            state: event.state.name,
            startedAt: new Date(start).toISOString(),
            durationMs: event.timestamp - start,
            outcome: 'succeeded',
          });
          // "ok" only for a step that is done; a reconciling step that is still waiting says so.
          const waiting = pollNote(event.state);
          progress(
            waiting
              ? `${elapsed(event.timestamp)}  waiting ${event.state.name}${waiting}`
              : `${elapsed(event.timestamp)}  ok ${event.state.name} (${event.timestamp - start} ms)`,
          );
        }
        break;
      }
      case 'StateFailed':
        // Followed by StateRetried (the state runs again) or StateCaught (it goes to its Catch).
        if (event.state.type !== 'Fail') lastError.set(event.state.name, event.Error);
        break;
      case 'StateRetried':
        timings.push({
          state: event.state.name,
          startedAt: new Date(entered.get(event.state.name) ?? event.timestamp).toISOString(),
          durationMs: event.timestamp - (entered.get(event.state.name) ?? event.timestamp),
          outcome: 'retried',
        });
        entered.set(event.state.name, event.timestamp);
        progress(
          `${elapsed(event.timestamp)}  retry ${event.state.name} after ${lastError.get(event.state.name) ?? 'an error'} (attempt ${event.retry.attempt})`,
        );
        break;
      case 'StateCaught': {
        failed.add(event.state.name);
        const start = entered.get(event.state.name) ?? event.timestamp;
        timings.push({
          state: event.state.name,
          startedAt: new Date(start).toISOString(),
          durationMs: event.timestamp - start,
          outcome: 'caught',
        });
        // An event-driven wait that timed out is the polling fallback, not a failure: the
        // "waiting" line of its check already said a check follows.
        if (eventWaits.has(event.state.name) && lastError.get(event.state.name) === 'States.Timeout') break;
        progress(
          `${elapsed(event.timestamp)}  FAILED ${event.state.name}: ${lastError.get(event.state.name) ?? 'error'}`,
        );
        break;
      }
      case 'ExecutionFailed':
        failure = { error: event.Error, cause: String(event.Cause ?? '') };
        progress(`${elapsed(event.timestamp)}  execution FAILED: ${event.Error}`);
        break;
      case 'ExecutionSucceeded':
        output = event.output;
        break;
      case 'ExecutionTimeout':
        failure = {
          error: 'States.Timeout',
          cause: 'The execution reached the state machine TimeoutSeconds.',
        };
        break;
      default:
        break;
    }
  }
  try {
    const result = await execution.result;
    output = output ?? result;
  } catch (error) {
    failure = failure ?? { error: (error as Error).name, cause: (error as Error).message };
  } finally {
    unregisterHistory();
    unregisterCompleter();
  }
  const location = evidence ? { evidence } : {};
  return failure
    ? { status: 'FAILED', executionArn, error: failure.error, cause: failure.cause, timings, ...location }
    : { status: 'SUCCEEDED', executionArn, output, timings, ...location };
};
