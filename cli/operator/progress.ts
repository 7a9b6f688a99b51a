import type { HistoryEvent } from '@aws-sdk/client-sfn';

/**
 * What `rekey status` shows, computed from DescribeExecution and the execution history alone (no
 * other AWS call): the steps in order with their elapsed time, the current step, the progress
 * along the path the rotation takes, and the failure or approval it waits on.
 *
 * A "step" is one Task state of state-machines/rotate-database.asl.json together with its poll
 * loop: `CopySnapshot`, `CopySnapshotDone?` and `WaitForCopySnapshot` are all step CopySnapshot,
 * so a step's elapsed time includes its waits. Other Choice, Pass, Succeed and Fail states are
 * plumbing and not shown.
 */

/**
 * The Task state of the approval gate (a `lambda:invoke.waitForTaskToken` task). One state,
 * entered either right after the lock (approval.at "before-changes") or just before the cutover or
 * switchover ("before-cutover"): the name finds it in either place.
 */
export const APPROVAL_STATE = 'WaitForApproval';
/**
 * The fleet machine's one approval gate (state-machines/rotate-fleet.asl.json, `fleet.approval:
 * "fleet"`), before any rotation starts: `rekey approve <fleet execution>` answers it the same way.
 */
export const FLEET_APPROVAL_STATE = 'WaitForFleetApproval';
const APPROVAL_STATES: ReadonlySet<string> = new Set([APPROVAL_STATE, FLEET_APPROVAL_STATE]);
/** A state that waits for an operator's task token. */
export const isApprovalState = (name: string | null | undefined): boolean =>
  typeof name === 'string' && APPROVAL_STATES.has(name);

export type Path = 'snapshot' | 'blue-green';

const HEAD = ['CheckStart', 'Preflight', 'AcquireLock', 'CreateKey'];
const BLUE_GREEN = ['CreateGreen', 'ValidateGreen', 'Switchover', 'RetireBlue'];
const SNAPSHOT = [
  'StopSource',
  'SnapshotSource',
  'CopySnapshot',
  'RestoreInstance',
  'ConfigureInstance',
  'ValidateInstance',
  'Cutover',
  'StartSource',
  'RetireInstance',
];
const TAIL = ['RetireKey', 'ReleaseLock', 'Summarize'];
/** Steps after a failure: shown, never counted as progress. */
const FAILURE_STEPS = new Set(['Rollback', 'ReleaseLockAfterFailure']);

export type StepOutcome = 'succeeded' | 'failed' | 'running' | 'waiting-for-approval';

export interface StepView {
  name: string;
  startedAt: string;
  /** Null while the step runs. */
  finishedAt: string | null;
  /** First entry to last exit (or to now while it runs), waits included. */
  elapsedMs: number;
  outcome: StepOutcome;
  /** Task attempts that failed (retried, or caught into the rollback). */
  failedAttempts: number;
}

export interface ExecutionDescription {
  executionArn: string;
  name: string;
  stateMachineArn: string | null;
  status: string;
  startDate: Date;
  stopDate: Date | null;
  input: unknown;
  error: string | null;
  cause: string | null;
}

export interface ExecutionView {
  executionArn: string;
  name: string;
  stateMachineArn: string | null;
  /** RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE. */
  status: string;
  closed: boolean;
  waitingForApproval: boolean;
  startedAt: string;
  stoppedAt: string | null;
  elapsedMs: number;
  /** The step the execution is in (running), or was in when it closed. */
  currentStep: string | null;
  /** The DB instance or cluster, from the input. */
  target: string | null;
  path: Path;
  /** False while strategy "auto" has not chosen yet (preflight decides); the count assumes snapshot until then. */
  pathDecided: boolean;
  /** True once the rotation is failing or rolled back: the steps after Rollback undo, not advance. */
  rollingBack: boolean;
  progress: { completed: number; expected: number };
  steps: StepView[];
  error: string | null;
  cause: string | null;
}

const EVENT_WAIT = /^Await(?=[A-Z])/;

const stepOf = (type: string, stateName: string): string | null => {
  // An event-driven wait (AwaitX, docs/waits.md) is part of its step, like the step's Wait.
  if (type === 'TaskStateEntered' || type === 'TaskStateExited') return stateName.replace(EVENT_WAIT, '');
  if (type.startsWith('WaitState')) return stateName.replace(/^WaitFor/, '');
  if (type.startsWith('ChoiceState')) {
    const match = /^(.+)Done\?$/.exec(stateName);
    return match?.[1] ?? null;
  }
  return null;
};

const inputField = (input: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (node, key) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined),
    input,
  );

/** The steps the rotation's path runs, in order (the ones the history and the input decide). */
export const expectedSteps = (
  path: Path,
  seen: ReadonlySet<string>,
  input: unknown,
  hasApprovalGate: boolean,
): string[] => {
  const gate = hasApprovalGate || seen.has(APPROVAL_STATE) ? [APPROVAL_STATE] : [];
  if (path === 'blue-green') return [...HEAD, ...BLUE_GREEN, ...gate, ...TAIL];
  const stopSource = seen.has('StopSource')
    ? true
    : seen.has('SnapshotSource')
      ? false
      : inputField(input, 'writeFreeze') !== 'none';
  const switchClients = seen.has('Cutover')
    ? true
    : seen.has('StartSource')
      ? false
      : inputField(input, 'cutover', 'type') !== 'none';
  // An Aurora cluster restores from its own snapshot under the new key: no CopySnapshot step.
  const copies = seen.has('CopySnapshot') || inputField(input, 'dbClusterIdentifier') === undefined;
  const middle = SNAPSHOT.filter(
    (step) =>
      (step !== 'CopySnapshot' || copies) &&
      (step !== 'StopSource' || stopSource) &&
      (step !== 'Cutover' || switchClients) &&
      (step !== 'StartSource' || !switchClients),
  );
  return [...HEAD, ...middle, ...gate, ...TAIL];
};

const FAILURE_EVENT =
  /^(Task|LambdaFunction|Activity)(Failed|TimedOut|StartFailed|SubmitFailed|ScheduleFailed)$/;

const iso = (date: Date | undefined): string => (date ?? new Date(0)).toISOString();

/**
 * Builds the view. `hasApprovalGate` says the deployed definition has an approval state, so the
 * progress counts it before the execution reaches it.
 */
export const summarizeExecution = (
  execution: ExecutionDescription,
  events: readonly HistoryEvent[],
  now: Date,
  options: { hasApprovalGate?: boolean } = {},
): ExecutionView => {
  const closed = execution.status !== 'RUNNING';
  const end = execution.stopDate ?? now;
  interface Working {
    name: string;
    start: Date;
    lastExit: Date | null;
    open: number;
    failedAttempts: number;
  }
  const steps: Working[] = [];
  const byName = new Map<string, Working>();
  let current: Working | undefined;
  let lastEnteredState: string | null = null;
  let rollingBack = false;

  for (const event of events) {
    const type = event.type ?? '';
    // An event wait that times out falls back to polling: not a failed attempt of its step.
    const inEventWait = lastEnteredState !== null && EVENT_WAIT.test(lastEnteredState);
    if (FAILURE_EVENT.test(type) && current && !inEventWait) current.failedAttempts += 1;
    const entered = event.stateEnteredEventDetails?.name;
    const exited = event.stateExitedEventDetails?.name;
    const stateName = entered ?? exited;
    if (!stateName) continue;
    if (entered) lastEnteredState = entered;
    const step = stepOf(type, stateName);
    if (!step) continue;
    if (FAILURE_STEPS.has(step)) rollingBack = true;
    const timestamp = event.timestamp ?? now;
    let working = byName.get(step);
    if (!working) {
      working = { name: step, start: timestamp, lastExit: null, open: 0, failedAttempts: 0 };
      byName.set(step, working);
      steps.push(working);
    }
    if (entered) {
      working.open += 1;
      current = working;
    } else {
      working.open = Math.max(0, working.open - 1);
      working.lastExit = timestamp;
    }
  }

  const waitingForApproval =
    !closed && isApprovalState(lastEnteredState) && current?.name === lastEnteredState;
  const failed = closed && execution.status !== 'SUCCEEDED';
  const views: StepView[] = steps.map((step, index) => {
    const isLast = index === steps.length - 1;
    const next = steps[index + 1];
    const running = isLast && !closed;
    let outcome: StepOutcome = 'succeeded';
    if (running) outcome = waitingForApproval ? 'waiting-for-approval' : 'running';
    else if (FAILURE_STEPS.has(step.name)) {
      // The rollback itself failed only when its own attempts failed and the execution ended there.
      if (isLast && failed && step.failedAttempts > 0) outcome = 'failed';
    } else if ((next && FAILURE_STEPS.has(next.name)) || (isLast && failed)) outcome = 'failed';
    const finished = running ? null : (step.lastExit ?? (isLast ? end : (next?.start ?? end)));
    return {
      name: step.name,
      startedAt: step.start.toISOString(),
      finishedAt: finished ? finished.toISOString() : null,
      elapsedMs: Math.max(0, (finished ?? now).getTime() - step.start.getTime()),
      outcome,
      failedAttempts: step.failedAttempts,
    };
  });

  const seen = new Set(byName.keys());
  const requested = inputField(execution.input, 'strategy') ?? 'snapshot';
  const pathSeen = seen.has('CreateGreen') || SNAPSHOT.some((step) => seen.has(step));
  const path: Path = seen.has('CreateGreen')
    ? 'blue-green'
    : pathSeen
      ? 'snapshot'
      : requested === 'blue-green'
        ? 'blue-green'
        : 'snapshot';
  // Only strategy "auto" leaves the path open until preflight has chosen.
  const pathDecided = pathSeen || requested !== 'auto';
  const expected = expectedSteps(path, seen, execution.input, options.hasApprovalGate ?? false);
  const done = new Set(views.filter((step) => step.outcome === 'succeeded').map((step) => step.name));
  const skippedDuplicate = lastEnteredState === 'SkippedDuplicateStart';
  const completed =
    execution.status === 'SUCCEEDED' && !rollingBack
      ? expected.length
      : expected.filter((step) => done.has(step)).length;
  const target =
    inputField(execution.input, 'dbInstanceIdentifier') ?? inputField(execution.input, 'dbClusterIdentifier');

  return {
    executionArn: execution.executionArn,
    name: execution.name,
    stateMachineArn: execution.stateMachineArn,
    status: execution.status,
    closed,
    waitingForApproval,
    startedAt: iso(execution.startDate),
    stoppedAt: execution.stopDate ? execution.stopDate.toISOString() : null,
    elapsedMs: Math.max(0, end.getTime() - execution.startDate.getTime()),
    currentStep: skippedDuplicate ? 'SkippedDuplicateStart' : (views.at(-1)?.name ?? null),
    target: typeof target === 'string' ? target : null,
    path,
    pathDecided,
    rollingBack,
    progress: { completed, expected: expected.length },
    steps: views,
    error: execution.error,
    cause: execution.cause,
  };
};

export interface ApprovalRequest {
  taskToken: string;
  /** The gate: WaitForApproval (a rotation) or WaitForFleetApproval (a fleet). */
  state: string;
  /** When the gate was entered. */
  requestedAt: string;
}

/**
 * The task token of the approval the execution waits on: the latest `TaskScheduled` of a
 * `lambda:invoke.waitForTaskToken` task after the latest entry into WaitForApproval (or a fleet's
 * WaitForFleetApproval), with
 * `Payload.taskToken` in its parameters. Undefined when the gate is not open (never entered, or
 * exited since).
 */
export const findApprovalRequest = (events: readonly HistoryEvent[]): ApprovalRequest | undefined => {
  let request: ApprovalRequest | undefined;
  let inGate = false;
  let enteredAt = '';
  let gate = '';
  for (const event of events) {
    if (event.stateEnteredEventDetails?.name !== undefined) {
      inGate = event.type === 'TaskStateEntered' && isApprovalState(event.stateEnteredEventDetails.name);
      if (inGate) {
        enteredAt = iso(event.timestamp);
        gate = event.stateEnteredEventDetails.name;
        request = undefined;
      }
      continue;
    }
    if (event.type === 'TaskStateExited' && isApprovalState(event.stateExitedEventDetails?.name)) {
      inGate = false;
      request = undefined;
      continue;
    }
    const details = event.taskScheduledEventDetails;
    if (
      inGate &&
      event.type === 'TaskScheduled' &&
      details?.resourceType === 'lambda' &&
      details.resource === 'invoke.waitForTaskToken'
    ) {
      const token = tokenIn(details.parameters);
      if (token) request = { taskToken: token, state: gate, requestedAt: enteredAt };
    }
  }
  return inGate ? request : undefined;
};

const tokenIn = (parameters: string | undefined): string | undefined => {
  if (!parameters) return undefined;
  try {
    const token = inputField(JSON.parse(parameters), 'Payload', 'taskToken');
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  } catch {
    return undefined;
  }
};
