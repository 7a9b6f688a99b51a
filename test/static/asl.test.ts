import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { REKEY_ERROR_NAMES, SERVICE_ERROR_NAMES } from '#domain/errors.js';
import { APPROVAL_MINUTES, POLL_LIMITS, type PollLimitName, waitSecondsFor } from '#domain/limits.js';
import { STEPS } from '#domain/steps.js';
import { type AslDefinition, type AslState, allStates, aslFiles, readAsl } from './helpers.js';

/**
 * Static checks of every state machine definition: it is valid ASL, it routes only on errors the
 * code defines, every Task can survive Lambda hiccups and fails into compensation, and the wait
 * loops fit in an execution (25,000 history events, the execution timeout).
 */

interface AslValidationResult {
  isValid: boolean;
  errorsText: (separator?: string) => string;
}
// asl-validator ships no type declarations; this is the part of its API the test uses.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => AslValidationResult;

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

const KNOWN_ERROR_NAMES = new Set<string>([...REKEY_ERROR_NAMES, ...SERVICE_ERROR_NAMES]);

/** The loops only a Blue/Green rotation runs; every other loop belongs to the snapshot path (or the rollback). */
const BLUE_GREEN_LOOPS = ['CreateGreen', 'Switchover', 'RetireBlue'];
/** The loops both paths run (the new key, the old key) besides the rollback. */
const SHARED_LOOPS = ['CreateKey', 'RetireKey', 'Rollback'];

/**
 * History events of one poll iteration: Task (TaskStateEntered, TaskScheduled, TaskStarted,
 * TaskSucceeded, TaskStateExited), Choice (entered, exited), Wait (entered, exited) = 9; rounded up.
 */
const EVENTS_PER_ITERATION = 10;
/**
 * An event-driven wait replaces the Wait (2 events) by a waitForTaskToken Task: TaskStateEntered,
 * TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded or TaskTimedOut, TaskStateExited = 6,
 * so its iteration has 13 events; rounded up.
 */
const EVENTS_PER_EVENT_ITERATION = 14;
/** Events of a state passed once (a Task: 5; Choice/Pass/Wait: 2). */
const EVENTS_PER_STATE = 5;
/** Events of one retry of a Task (TaskFailed, TaskScheduled, TaskStarted, and the outcome). */
const EVENTS_PER_RETRY = 4;
const HISTORY_LIMIT = 25_000;

/** The Task of each Wait -> Task -> Choice -> Wait loop, keyed by Task name. */
const pollLoops = (definition: AslDefinition): string[] =>
  Object.values(definition.States)
    .filter((state) => state.Type === 'Wait' && definition.States[state.Next]?.Type === 'Task')
    .map((wait) => wait.Next as string);

/** The loops whose wait is an event-driven Task (AwaitRdsEvent) leading back to the check. */
const eventLoops = (definition: AslDefinition): Set<string> =>
  new Set(
    Object.values(definition.States)
      .filter(
        (state) =>
          state.Type === 'Task' &&
          state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken' &&
          definition.States[state.Next]?.Type === 'Task',
      )
      .map((wait) => wait.Next as string),
  );

/** The loop's cap, from the step table (functions/domain/steps.ts). */
const capOf = (task: string): { key: PollLimitName; cap: number } | undefined => {
  const key = (STEPS as Record<string, { pollLimit: PollLimitName | null }>)[task]?.pollLimit;
  return key ? { key, cap: POLL_LIMITS[key] } : undefined;
};

/** Seconds the Wait states of a loop sleep in total before its cap fires (polling.ts nextPoll). */
const waitBudgetSeconds = (cap: number): number =>
  Array.from({ length: cap }, (_, attempt) => waitSecondsFor(attempt)).reduce((a, b) => a + b, 0);

describe.each(aslFiles)('%s', (file) => {
  const definition = readAsl(file);
  const states = allStates(definition);
  const tasks = states.filter(([, state]) => state.Type === 'Task');

  it('is valid Amazon States Language (asl-validator)', () => {
    // Prepare: the validator annotates the definition it is given, so it gets a copy.
    const copy = structuredClone(definition);

    // Act
    const result = aslValidator(copy, { checkPaths: true, checkArn: true });

    // Assess
    expect(result.isValid, result.isValid ? '' : result.errorsText('\n')).toBe(true);
  });

  it('routes only on error names defined in functions/domain/errors.ts (d)', () => {
    // Prepare
    const used = states.flatMap(([name, state]) => [
      ...[...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap((rule: AslState) =>
        (rule.ErrorEquals as string[]).map((error) => ({ name, error })),
      ),
      ...(state.Type === 'Fail' && typeof state.Error === 'string'
        ? [{ name, error: state.Error as string }]
        : []),
    ]);

    // Act
    const unknown = used.filter(({ error }) => !KNOWN_ERROR_NAMES.has(error));

    // Assess
    expect(used.length).toBeGreaterThan(0);
    expect(
      unknown.map(({ name, error }) => `${name}: "${error}"`),
      'add the error class (with a literal name) to functions/domain/errors.ts and to REKEY_ERROR_NAMES',
    ).toEqual([]);
  });

  it('gives every Task a timeout, a jittered retry of the Lambda service errors and a Catch (e)', () => {
    // Act
    const problems = tasks.flatMap(([name, task]) => {
      const found: string[] = [];
      // TimeoutSecondsPath: the approval gate's wait comes from the input (approval.timeoutMinutes).
      if (
        !(typeof task.TimeoutSeconds === 'number' && task.TimeoutSeconds > 0) &&
        !(typeof task.TimeoutSecondsPath === 'string' && task.TimeoutSecondsPath.startsWith('$.'))
      )
        found.push('no TimeoutSeconds');
      // A child execution (the fleet's startExecution.sync:2) is retried on StartExecution's own limit.
      const serviceErrors = String(task.Resource).startsWith('arn:aws:states:::states:startExecution')
        ? ['StepFunctions.ExecutionLimitExceededException']
        : LAMBDA_SERVICE_ERRORS;
      for (const error of serviceErrors) {
        const retrier = (task.Retry ?? []).find((rule: AslState) =>
          (rule.ErrorEquals as string[]).includes(error),
        );
        if (!retrier) found.push(`no Retry on ${error}`);
        else if (retrier.JitterStrategy !== 'FULL')
          found.push(`the Retry on ${error} has no JitterStrategy FULL`);
      }
      if (!(Array.isArray(task.Catch) && task.Catch.length > 0)) found.push('no Catch');
      return found.map((problem) => `${name}: ${problem}`);
    });

    // Assess
    expect(tasks.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  // The fleet machine has no wait loops: it waits on its child rotations (startExecution.sync:2).
  if (!file.endsWith('rotate-fleet.asl.json'))
    describe('wait loops (f)', () => {
      const loops = pollLoops(definition);

      it('waits for an RDS event in the loops on an operation RDS announces, falling back to the Wait', () => {
        // Prepare
        const awaited = [...eventLoops(definition)].sort();

        // Assess: the event wait times out back into the check, and any other failure into the Wait.
        expect(awaited).toEqual(
          file.endsWith('rotate-database.asl.json')
            ? ['CopySnapshot', 'RestoreInstance', 'SnapshotSource', 'StartSource', 'StopSource']
            : [],
        );
        for (const task of awaited) {
          const wait = definition.States[`Await${task}`] as AslState;
          expect(wait.TimeoutSecondsPath).toMatch(/^\$\.\w+\.poll\.waitSeconds$/);
          expect(wait.ResultPath).toBeNull();
          const catches = (wait.Catch ?? []) as AslState[];
          expect(catches.map((c) => [c.ErrorEquals, c.Next])).toEqual([
            [['States.Timeout'], task],
            [['States.ALL'], `WaitFor${task}`],
          ]);
          expect(definition.States[`WaitFor${task}`]?.Next).toBe(task);
        }
      });

      it('has an iteration cap in POLL_LIMITS for every loop, and every cap is used', () => {
        // Act
        const uncapped = loops.filter((task) => !capOf(task));
        const usedKeys = new Set(loops.map((task) => capOf(task)?.key));
        const unusedCaps = Object.keys(POLL_LIMITS).filter((key) => !usedKeys.has(key as PollLimitName));

        // Assess
        expect(loops.length).toBeGreaterThan(0);
        expect(
          uncapped,
          'add a cap to POLL_LIMITS (domain/limits.ts) and name it in the step table (domain/steps.ts)',
        ).toEqual([]);
        expect(unusedCaps, 'a cap no loop of this state machine uses').toEqual([]);
      });

      it('stays under the 25,000-event history limit when every loop runs to its cap', () => {
        // Prepare: every loop once to its cap (including both the cutover and the no-cutover
        // branch, and the rollback: more than any one execution can do), every state once, and the
        // worst retry run of every Task.
        const awaited = eventLoops(definition);
        const loopEvents = loops.reduce(
          (sum, task) =>
            sum +
            (capOf(task)?.cap ?? 0) * (awaited.has(task) ? EVENTS_PER_EVENT_ITERATION : EVENTS_PER_ITERATION),
          0,
        );
        const stateEvents = states.length * EVENTS_PER_STATE;
        const retryEvents = tasks.reduce(
          (sum, [, task]) =>
            sum +
            (task.Retry ?? []).reduce((n: number, rule: AslState) => n + (rule.MaxAttempts ?? 3), 0) *
              EVENTS_PER_RETRY,
          0,
        );

        // Act
        const total = loopEvents + stateEvents + retryEvents + 2; // + ExecutionStarted, ExecutionFailed

        // Assess
        expect(total, `loops ${loopEvents} + states ${stateEvents} + retries ${retryEvents}`).toBeLessThan(
          HISTORY_LIMIT,
        );
      });

      it('times out later than the loop caps of either path together, so a cap fires first and the rollback runs', () => {
        // Prepare: an execution takes one path (snapshot, or Blue/Green) and may end in the rollback.
        // The time each loop's Wait states sleep before its cap fires (waitSecondsFor), per path.
        const blueGreenOnly = loops.filter((task) => BLUE_GREEN_LOOPS.includes(task));
        expect(blueGreenOnly.sort()).toEqual([...BLUE_GREEN_LOOPS].sort());
        expect(loops).toEqual(expect.arrayContaining(SHARED_LOOPS));
        const paths = {
          snapshot: loops.filter((task) => !BLUE_GREEN_LOOPS.includes(task)),
          'blue-green': loops.filter(
            (task) => BLUE_GREEN_LOOPS.includes(task) || SHARED_LOOPS.includes(task),
          ),
        };
        const timeout = definition.TimeoutSeconds ?? Number.POSITIVE_INFINITY;

        for (const [path, pathLoops] of Object.entries(paths)) {
          // Act
          const budgets = pathLoops.map((task) => ({
            task,
            seconds: waitBudgetSeconds(capOf(task)?.cap ?? 0),
          }));
          // The approval gate, when the input asks for it, waits at most APPROVAL_MINUTES.max on either path.
          const gate = states.some(([, state]) => state.TimeoutSecondsPath)
            ? [{ task: 'WaitForApproval', seconds: APPROVAL_MINUTES.max * 60 }]
            : [];
          budgets.push(...gate);
          const sleeping = budgets.reduce((sum, { seconds }) => sum + seconds, 0);

          // Assess: an execution timeout would end the execution without running the rollback.
          expect(
            timeout,
            `${path}: ${budgets.map(({ task, seconds }) => `${task} ${(seconds / 3600).toFixed(1)} h`).join(', ')}`,
          ).toBeGreaterThan(sleeping);
          // The margin also has to hold the Lambda run time of every poll (a Describe call or two:
          // allow 5 s each).
          const polls = pathLoops.reduce((sum, task) => sum + (capOf(task)?.cap ?? 0), 0);
          expect(timeout - sleeping).toBeGreaterThan(polls * 5);
        }
      });
    });
});

describe('the snapshot path of state-machines/rotate-database.asl.json', () => {
  const { States } = readAsl('state-machines/rotate-database.asl.json');
  const nextAfterSnapshot = (plan: { kind: string }): string | undefined => {
    // The Choice's rules, in order, against a done snapshot of a plan of this kind.
    const state = { sourceSnapshot: { done: true }, plan };
    const holds = (rule: AslState): boolean => {
      if (Array.isArray(rule.And)) return (rule.And as AslState[]).every(holds);
      const path = String(rule.Variable).replace(/^\$\./, '').split('.');
      const value = path.reduce<unknown>(
        (v, key) => (v as Record<string, unknown> | undefined)?.[key],
        state,
      );
      if ('BooleanEquals' in rule) return value === rule.BooleanEquals;
      if ('StringEquals' in rule) return value === rule.StringEquals;
      throw new Error(`a rule this test does not read: ${JSON.stringify(rule)}`);
    };
    const choice = States['SnapshotSourceDone?'] as AslState;
    return ((choice.Choices ?? []) as AslState[]).find(holds)?.Next ?? choice.Default;
  };

  it('sends an Aurora cluster from its snapshot straight to the restore, and an instance to the copy', () => {
    expect(nextAfterSnapshot({ kind: 'cluster' })).toBe('RestoreInstance');
    expect(nextAfterSnapshot({ kind: 'instance' })).toBe('CopySnapshot');
    // Only the copy loop leads to CopySnapshot's result; no state runs for a cluster in its place.
    expect(States['CopySnapshotDone?']?.Choices?.[0]?.Next).toBe('RestoreInstance');
  });
});
