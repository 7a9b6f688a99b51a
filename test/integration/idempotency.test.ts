import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RotationOutput } from '#domain/output.js';
import type { RotationState } from '#domain/state.js';
import { createKey } from '#features/keys/create-key.js';
import { retireKey } from '#features/keys/retire-key.js';
import { acquireLock } from '#features/lock/acquire-lock.js';
import { checkStart } from '#features/lock/check-start.js';
import { releaseLock } from '#features/lock/release-lock.js';
import { rollback } from '#strategies/rollback.js';
import { configureDatabase } from '#strategies/snapshot/configure-database.js';
import { copySnapshot } from '#strategies/snapshot/copy-snapshot.js';
import { cutover } from '#strategies/snapshot/cutover.js';
import { restoreDatabase } from '#strategies/snapshot/restore-database.js';
import { retireDatabase } from '#strategies/snapshot/retire-database.js';
import { snapshotSource } from '#strategies/snapshot/snapshot-source.js';
import { startSource } from '#strategies/snapshot/start-source.js';
import { stopSource } from '#strategies/snapshot/stop-source.js';
import { validateDatabase } from '#strategies/snapshot/validate-database.js';
import { summarize } from '#strategies/summarize.js';
import { preflight } from '#targets/preflight.js';
import { ensureLockTable, LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { emulatorState } from '../support/emulator-state.js';
import { executionInput } from '../support/events.js';

/**
 * Issue 3, point 4: every step, run again after it already acted (as when its Lambda times out
 * after the AWS call succeeded and Step Functions retries it with the same input), returns the
 * same result and creates nothing new.
 *
 * Each step of the state machine runs over moto_server with the real SDK clients, its result
 * written under its Task's ResultPath (read from the ASL) as the state machine does. A reconciling
 * step runs until it reports `done`; then the step runs once more with the input of its last run,
 * and the emulator (keys, aliases, instances, snapshots, records, locks) must not change, and the
 * result must be the same.
 */

const asl = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../state-machines/rotate-database.asl.json', import.meta.url)),
    'utf8',
  ),
) as { States: Record<string, { ResultPath?: string }> };

const resultKey = (stateName: string): string => {
  const key = /^\$\.(\w+)$/.exec(asl.States[stateName]?.ResultPath ?? '')?.[1];
  if (!key) throw new Error(`the ASL has no Task ${stateName} with a ResultPath`);
  return key;
};

/**
 * Fields that are not the result of the work, and may differ between two runs: the wait loop's
 * `poll`, times of the call (`checkedAt`, `finishedAt`, `acquiredAt`: a re-entrant acquire writes
 * its lock again), and what this very call did (`created` of the new key, `released` of the lock):
 * the second call finds the work done and says so. Ids, ARNs, names and statuses are compared.
 */
const CALL_FIELDS = new Set(['poll', 'checkedAt', 'finishedAt', 'acquiredAt', 'created', 'released']);
const stable = (result: unknown): unknown =>
  result && typeof result === 'object' && !Array.isArray(result)
    ? Object.fromEntries(Object.entries(result).filter(([key]) => !CALL_FIELDS.has(key)))
    : result;

// biome-ignore lint/suspicious/noExplicitAny: each step has its own input and output type.
type Step = (input: any) => Promise<any>;

/**
 * Runs `step` as the Task `stateName` does (until done for a reconciling step), then once more
 * with the same input as its last run; checks that nothing changed and the result is the same.
 * Returns the state with the step's result under its ResultPath.
 */
const twice = async (
  stateName: string,
  step: Step,
  state: RotationState,
  inputOf: (state: RotationState) => unknown = (s) => s,
): Promise<RotationState> => {
  const key = resultKey(stateName);
  let current = state;
  let input: unknown;
  let result: { done?: boolean } | undefined;
  for (let run = 1; run <= 10; run += 1) {
    input = inputOf(current);
    result = await step(input);
    current = { ...current, [key]: result };
    if (result?.done !== false) break;
  }
  expect(result?.done, `${stateName} did not finish within 10 runs`).not.toBe(false);
  const before = await emulatorState();

  const again = await step(input);

  expect.soft(await emulatorState(), `${stateName} run again changed the emulator`).toEqual(before);
  expect.soft(stable(again), `${stateName} run again returned another result`).toEqual(stable(result));
  return current;
};

const execution = (name: string) => ({
  executionId: `arn:aws:states:us-east-1:123456789012:execution:rekey:${name}`,
  startedAt: '2026-11-22T15:30:00.000Z',
});

/** CheckStart .. ValidateInstance: everything the flows share. */
const upToValidation = async (input: Record<string, unknown>, name: string): Promise<RotationState> => {
  const { executionId, startedAt } = execution(name);
  let state = { input } as RotationState;
  state = await twice('CheckStart', checkStart, state, (s) => ({ input: s.input, executionId }));
  state = await twice('Preflight', preflight, state, (s) => ({ input: s.input, executionId, startedAt }));
  state = await twice('AcquireLock', acquireLock, state);
  state = await twice('CreateKey', createKey, state);
  state = await twice('StopSource', stopSource, state);
  state = await twice('SnapshotSource', snapshotSource, state);
  state = await twice('CopySnapshot', copySnapshot, state);
  state = await twice('RestoreInstance', restoreDatabase, state);
  state = await twice('ConfigureInstance', configureDatabase, state);
  return twice('ValidateInstance', validateDatabase, state);
};

describe('every step, run again after it acted, returns the same result and creates nothing', () => {
  useEmulator();

  beforeEach(async () => {
    process.env.LOCK_TABLE_NAME = LOCAL_LOCK_TABLE;
    await ensureLockTable(LOCAL_LOCK_TABLE);
    await seedSample();
  });

  it('on the break-glass rotation (CNAME cutover, old instance and key retired)', async () => {
    // Act
    let state = await upToValidation(executionInput('break-glass'), 'twice-cname');
    state = await twice('Cutover', cutover, state);
    state = await twice('RetireInstance', retireDatabase, state);
    state = await twice('RetireKey', retireKey, state);
    state = await twice('ReleaseLock', releaseLock, state);
    state = await twice('Summarize', summarize, state);

    // Assess: the steps did rotate the key (the comparisons above ran on real work).
    expect((state as { output?: RotationOutput }).output).toMatchObject({
      oldInstance: 'deleted',
      oldKey: { state: 'PendingDeletion' },
      configurationChangesAfterRestore: ['maxAllocatedStorage'],
    });
    expect(state.cutover).toMatchObject({ done: true, verified: true });
    expect((await emulatorState()).filter((line) => line.startsWith('lock '))).toEqual([]);
  });

  it('on a rotation without cutover (the source is started again and kept, with its key)', async () => {
    // Act
    let state = await upToValidation(
      { ...executionInput('break-glass'), cutover: { type: 'none' } },
      'twice-none',
    );
    state = await twice('StartSource', startSource, state);
    state = await twice('RetireInstance', retireDatabase, state);
    state = await twice('RetireKey', retireKey, state);
    state = await twice('ReleaseLock', releaseLock, state);
    state = await twice('Summarize', summarize, state);

    // Assess
    expect(state.startSource).toMatchObject({ done: true, started: true, status: 'available' });
    expect((state as { output?: RotationOutput }).output).toMatchObject({
      oldInstance: 'retained',
      oldKey: { state: 'Retained' },
    });
  });

  it('on a failed rotation (the rollback and the release after it)', async () => {
    // Prepare: the rotation fails after the restore.
    let state = await upToValidation(executionInput('break-glass'), 'twice-rollback');
    delete state.validation;
    state.failure = {
      Error: 'ValidationFailedError',
      Cause: JSON.stringify({ errorType: 'ValidationFailedError', errorMessage: 'injected', trace: [] }),
    };

    // Act
    state = await twice('Rollback', rollback, state);
    state = await twice('ReleaseLockAfterFailure', releaseLock, state);

    // Assess: the rollback did real work, which the second run left as it was.
    expect(state.rollback?.undone).toEqual(
      expect.arrayContaining([
        'started orders-db again',
        expect.stringMatching(/^deleted the new DB instance orders-db-rk\w+$/),
        expect.stringMatching(/^scheduled the unused new key /),
      ]),
    );
    expect((await emulatorState()).filter((line) => line.startsWith('instance '))).toEqual([
      expect.stringMatching(/^instance orders-db available .* protection=true$/),
    ]);
  });
});
