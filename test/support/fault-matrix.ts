import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RotationOutput } from '#domain/output.js';
import type { RunResult } from '../../cli/runner.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from './emulator.js';
import { executionInput } from './events.js';
import {
  EMULATOR_GAPS,
  type FaultRule,
  injectFaults,
  lambdaServiceErrorOnFirstInvocation,
  removeFaults,
} from './faults.js';
import {
  afterCutoverProblems,
  captureBaseline,
  compensationProblems,
  heldLocks,
  rotationEndState,
  runRotation,
} from './rotation.js';

/**
 * The fault matrix of issue 3, point 6: every mutating call of every step of the rotation, hit by
 * a transient error (retried to success) and by terminal ones (compensated), on the real state
 * machine over moto_server. The table and its runner live here; the test files split it so the two
 * cores run it in parallel.
 */

export type Flow = 'cname' | 'none';

/** A mutating AWS call made by a Task of the state machine. */
export interface MutatingCall {
  task: string;
  command: string;
  /** The input that reaches the Task: `none` (cutover "none") for StartSource. */
  flow: Flow;
}

export const MUTATING_CALLS: MutatingCall[] = [
  { task: 'AcquireLock', command: 'TransactWriteItems', flow: 'cname' },
  { task: 'CreateKey', command: 'CreateKey', flow: 'cname' },
  { task: 'CreateKey', command: 'CreateAlias', flow: 'cname' },
  { task: 'StopSource', command: 'ModifyDBInstance', flow: 'cname' },
  { task: 'StopSource', command: 'StopDBInstance', flow: 'cname' },
  { task: 'SnapshotSource', command: 'CreateDBSnapshot', flow: 'cname' },
  { task: 'CopySnapshot', command: 'CopyDBSnapshot', flow: 'cname' },
  { task: 'RestoreInstance', command: 'RestoreDBInstanceFromDBSnapshot', flow: 'cname' },
  { task: 'ConfigureInstance', command: 'ModifyDBInstance', flow: 'cname' },
  { task: 'Cutover', command: 'ChangeResourceRecordSets', flow: 'cname' },
  { task: 'StartSource', command: 'StartDBInstance', flow: 'none' },
  { task: 'RetireInstance', command: 'DeleteDBInstance', flow: 'cname' },
  { task: 'RetireKey', command: 'DeleteDBSnapshot', flow: 'cname' },
  { task: 'RetireKey', command: 'ScheduleKeyDeletion', flow: 'cname' },
  { task: 'ReleaseLock', command: 'DeleteItem', flow: 'cname' },
];

/** The Tasks above, for the Lambda service error (it hits the invocation, not an AWS call). */
export const MUTATING_TASKS: { task: string; flow: Flow }[] = [
  ...new Map(MUTATING_CALLS.map(({ task, flow }) => [task, { task, flow }])).values(),
];

export const TERMINAL_ERRORS = [
  'KMSKeyNotAccessibleFault',
  'InsufficientDBInstanceCapacityFault',
  'InvalidDBInstanceStateFault',
  'AccessDeniedException',
] as const;

/**
 * Calls whose step reads InvalidDBInstanceState as "the instance is busy (a racing earlier attempt,
 * a backup, a modification): wait and check again". For them the correct outcome of that error is
 * an execution that still SUCCEEDS:
 * - StopSource: ModifyDBInstance (lift deletion protection) and StopDBInstance;
 * - SnapshotSource: CreateDBSnapshot (the source is backing up or modifying);
 * - ConfigureInstance: ModifyDBInstance;
 * - StartSource: StartDBInstance (reconcilers/ensure-started.ts, also used by Rollback);
 * - RetireInstance: DeleteDBInstance.
 * RestoreInstance and CopySnapshot do not: there the error is terminal (CopySnapshot waits on
 * InvalidDBSnapshotState instead).
 */
export const BUSY_MEANS_WAIT = new Set([
  'StopSource/ModifyDBInstance',
  'StopSource/StopDBInstance',
  'SnapshotSource/CreateDBSnapshot',
  'ConfigureInstance/ModifyDBInstance',
  'StartSource/StartDBInstance',
  'RetireInstance/DeleteDBInstance',
]);

/** Failures after a verified cutover: clients already use the new instance, nothing is rolled back. */
const AFTER_CUTOVER = new Set(['RetireInstance', 'RetireKey']);

export type Expected =
  /** The execution SUCCEEDS and ends as a clean run does. */
  | 'recovers'
  /** FAILED, and the source is given back as it was (compensationProblems). */
  | 'compensated'
  /** FAILED after the cutover: clients stay on the new instance (afterCutoverProblems). */
  | 'failed-after-cutover'
  /** SUCCEEDED, but the lock could not be released: the output says so and the lock expires by itself. */
  | 'succeeds-lock-kept';

export const expectedFor = (call: MutatingCall, error: string): Expected => {
  if (error === 'InvalidDBInstanceStateFault' && BUSY_MEANS_WAIT.has(`${call.task}/${call.command}`))
    return 'recovers';
  if (call.task === 'ReleaseLock') return 'succeeds-lock-kept';
  if (AFTER_CUTOVER.has(call.task)) return 'failed-after-cutover';
  return 'compensated';
};

export const EXECUTION_NAME: Record<Flow, string> = { cname: 'fault-matrix', none: 'fault-matrix-none' };

const inputFor = (flow: Flow) =>
  flow === 'cname'
    ? executionInput('break-glass')
    : { ...executionInput('break-glass'), cutover: { type: 'none' } };

/** What a fault-free rotation of the sample leaves, per flow: the reference for "recovers". */
export const cleanEndStates = async (
  reset: () => Promise<void>,
  flows: Flow[] = ['cname', 'none'],
): Promise<Record<Flow, string[]>> => {
  const states: Partial<Record<Flow, string[]>> = {};
  for (const flow of flows) {
    await reset();
    const sample = await seedSample();
    const faults = injectFaults(EMULATOR_GAPS);
    try {
      const result = await runRotation({ input: inputFor(flow), executionName: EXECUTION_NAME[flow] });
      if (result.status !== 'SUCCEEDED') throw new Error(`the clean ${flow} run failed: ${result.cause}`);
      states[flow] = await rotationEndState(sample);
    } finally {
      faults.remove();
    }
  }
  return states as Record<Flow, string[]>;
};

export interface MatrixCase {
  flow: Flow;
  rules: FaultRule[];
  /** Fail the first invocation of this Task with Lambda.ServiceException (runner wrapTask). */
  lambdaErrorIn?: string;
  expected: Expected;
  /** What the case must have fired, e.g. `CreateKey:ThrottlingException`. */
  fires: string[];
}

/** Runs one case and checks its outcome; returns the result for further checks. */
export const runCase = async (
  testCase: MatrixCase,
  clean: Record<Flow, string[]>,
): Promise<RunResult & { progress: string[] }> => {
  // Prepare
  const sample = await seedSample();
  const baseline = await captureBaseline(sample);
  const faults = injectFaults([...testCase.rules, ...EMULATOR_GAPS]);
  const lambdaErrors: string[] = [];
  const progress: string[] = [];

  // Act
  const result = await runRotation({
    input: inputFor(testCase.flow),
    executionName: EXECUTION_NAME[testCase.flow],
    onProgress: (line) => progress.push(line),
    ...(testCase.lambdaErrorIn && {
      wrapTask: lambdaServiceErrorOnFirstInvocation(testCase.lambdaErrorIn, lambdaErrors),
    }),
  });

  // Assess
  faults.remove();
  expect([
    ...faults.fired.map((f) => `${f.command}:${f.fault}`),
    ...lambdaErrors.map((task) => `${task}:Lambda.ServiceException`),
  ]).toEqual(testCase.fires);
  const cause = result.status === 'FAILED' ? result.cause : '';
  switch (testCase.expected) {
    case 'recovers':
      expect(result, cause).toMatchObject({ status: 'SUCCEEDED' });
      expect(await rotationEndState(sample)).toEqual(clean[testCase.flow]);
      break;
    case 'compensated':
      expect(result.status).toBe('FAILED');
      expect(await compensationProblems(baseline, cause), cause).toEqual([]);
      break;
    case 'failed-after-cutover': {
      expect(result.status).toBe('FAILED');
      const rotationId = /orders-db-(rk[0-9a-f]{10})/.exec(clean[testCase.flow].join('\n'))?.[1] ?? '';
      expect(await afterCutoverProblems(baseline, rotationId, cause), cause).toEqual([]);
      break;
    }
    case 'succeeds-lock-kept': {
      expect(result, cause).toMatchObject({ status: 'SUCCEEDED' });
      const output = (result as { output: RotationOutput }).output;
      expect(output.notes).toContainEqual(expect.stringContaining('The rotation lock could not be released'));
      expect(await heldLocks()).toHaveLength(2);
      const withoutLocks = (lines: string[]) => lines.filter((line) => !line.startsWith('lock '));
      expect(withoutLocks(await rotationEndState(sample))).toEqual(withoutLocks(clean[testCase.flow]));
      break;
    }
  }
  return { ...result, progress };
};

/**
 * Two faults: a call's answer is lost (the call succeeded, the step does not know it), then a
 * terminal error on the retry or in a later step. Rollback must find what the lost answer created,
 * from the emulator, not from the step results it never got.
 */
export const COMPOUND_CASES: (MatrixCase & { name: string; task: string })[] = [
  {
    name: 'AcquireLock: the lock write succeeds unseen, then the retry is denied',
    task: 'AcquireLock',
    flow: 'cname',
    rules: [
      { task: 'AcquireLock', command: 'TransactWriteItems', call: 1, fault: 'lose-response' },
      {
        task: 'AcquireLock',
        command: 'TransactWriteItems',
        call: 2,
        fault: { error: 'AccessDeniedException' },
      },
    ],
    expected: 'compensated',
    fires: ['TransactWriteItems:lost-response', 'TransactWriteItems:AccessDeniedException'],
  },
  {
    name: 'CreateKey: the key is created unseen, then CreateAlias is denied on the retry',
    task: 'CreateKey',
    flow: 'cname',
    rules: [
      { task: 'CreateKey', command: 'CreateKey', fault: 'lose-response' },
      { task: 'CreateKey', command: 'CreateAlias', fault: { error: 'AccessDeniedException' } },
    ],
    expected: 'compensated',
    fires: ['CreateKey:lost-response', 'CreateAlias:AccessDeniedException'],
  },
  {
    name: 'StopSource: deletion protection is lifted unseen, then SnapshotSource is denied',
    task: 'StopSource',
    flow: 'cname',
    rules: [
      { task: 'StopSource', command: 'ModifyDBInstance', fault: 'lose-response' },
      { task: 'SnapshotSource', command: 'CreateDBSnapshot', fault: { error: 'AccessDeniedException' } },
    ],
    expected: 'compensated',
    fires: ['ModifyDBInstance:lost-response', 'CreateDBSnapshot:AccessDeniedException'],
  },
  {
    name: 'RestoreInstance: the restore starts unseen, then ConfigureInstance is denied',
    task: 'RestoreInstance',
    flow: 'cname',
    rules: [
      { task: 'RestoreInstance', command: 'RestoreDBInstanceFromDBSnapshot', fault: 'lose-response' },
      { task: 'ConfigureInstance', command: 'ModifyDBInstance', fault: { error: 'AccessDeniedException' } },
    ],
    expected: 'compensated',
    fires: ['RestoreDBInstanceFromDBSnapshot:lost-response', 'ModifyDBInstance:AccessDeniedException'],
  },
  {
    name: 'Cutover: the record moves unseen, then the retried UPSERT is denied',
    task: 'Cutover',
    flow: 'cname',
    rules: [
      { task: 'Cutover', command: 'ChangeResourceRecordSets', call: 1, fault: 'lose-response' },
      {
        task: 'Cutover',
        command: 'ChangeResourceRecordSets',
        call: 2,
        fault: { error: 'AccessDeniedException' },
      },
    ],
    expected: 'compensated',
    fires: ['ChangeResourceRecordSets:lost-response', 'ChangeResourceRecordSets:AccessDeniedException'],
  },
];

/**
 * Registers the matrix for the given Tasks: per mutating call, a ThrottlingException and each
 * terminal error; per Task, a Lambda service error on its first invocation; and the compound cases
 * that start in these Tasks. One moto_server per test file, reset before each case.
 */
export const defineFaultMatrix = (title: string, tasks: string[]): void => {
  const calls = MUTATING_CALLS.filter((call) => tasks.includes(call.task));
  describe(title, () => {
    const emulator = useEmulator();
    let clean: Record<Flow, string[]>;

    beforeAll(async () => {
      const flows = [...new Set(calls.map((call) => call.flow))];
      clean = await cleanEndStates(async () => {
        await fetch(`${emulator.endpoint}/moto-api/reset`, { method: 'POST' });
      }, flows);
    }, 60_000);

    afterEach(removeFaults);

    describe('transient errors are retried to success', () => {
      for (const { task, command, flow } of calls) {
        it(`ThrottlingException on ${task}/${command}`, async () => {
          const result = await runCase(
            {
              flow,
              rules: [{ task, command, fault: { error: 'ThrottlingException' } }],
              expected: 'recovers',
              fires: [`${command}:ThrottlingException`],
            },
            clean,
          );
          expect(result.progress).toContainEqual(
            expect.stringContaining(`retry ${task} after TransientAwsError`),
          );
        });
      }
      for (const { task, flow } of MUTATING_TASKS.filter((t) => tasks.includes(t.task))) {
        it(`Lambda.ServiceException on the first invocation of ${task}`, async () => {
          const result = await runCase(
            {
              flow,
              rules: [],
              lambdaErrorIn: task,
              expected: 'recovers',
              fires: [`${task}:Lambda.ServiceException`],
            },
            clean,
          );
          expect(result.progress).toContainEqual(
            expect.stringContaining(`retry ${task} after Lambda.ServiceException`),
          );
        });
      }
    });

    describe('terminal errors are compensated (or waited out where the step reads them as busy)', () => {
      for (const call of calls) {
        for (const error of TERMINAL_ERRORS) {
          const expected = expectedFor(call, error);
          it(`${error} on ${call.task}/${call.command}: ${expected}`, async () => {
            await runCase(
              {
                flow: call.flow,
                rules: [{ task: call.task, command: call.command, fault: { error } }],
                expected,
                fires: [`${call.command}:${error}`],
              },
              clean,
            );
          });
        }
      }
      for (const testCase of COMPOUND_CASES.filter((c) => tasks.includes(c.task))) {
        it(testCase.name, async () => {
          await runCase(testCase, clean);
        });
      }
    });
  });
};
