import { describe, expect, it } from 'vitest';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { type RunOptions, runStateMachine } from '../../cli/runner.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { emulatorState } from '../support/emulator-state.js';
import { executionInput } from '../support/events.js';

const run = (options: Omit<RunOptions, 'fastWaits' | 'lockTable'>) =>
  runStateMachine({ fastWaits: true, lockTable: { name: LOCAL_LOCK_TABLE, create: true }, ...options });

describe('one rotation at a time, through the state machine', () => {
  useEmulator();

  it('makes a scheduled start delivered twice a no-op: the second execution changes nothing', async () => {
    // Prepare
    await seedSample();
    const scheduled = { ...executionInput('break-glass'), idempotencyKey: '2027-03-09T06:00:00Z' };
    const first = await run({ input: scheduled, executionName: 'scheduled-delivery-1' });
    const afterFirst = await emulatorState();

    // Act
    const second = await run({ input: scheduled, executionName: 'scheduled-delivery-2' });

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(second).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        duplicateOf: (first as { output: { rotationId: string } }).output.rotationId,
        skipped: expect.stringContaining('Nothing was done'),
      },
    });
    // It names the execution it duplicates and how that one ended.
    expect((second as { output: { skipped: string } }).output.skipped).toContain(
      `(execution ${first.executionArn}) already rotated orders-db with idempotencyKey "2027-03-09T06:00:00Z": it SUCCEEDED`,
    );
    expect(await emulatorState()).toEqual(afterFirst);
  });

  it('a second delivery while the first still runs does nothing, and says the first has not finished', async () => {
    // Prepare
    await seedSample();
    const scheduled = { ...executionInput('break-glass'), idempotencyKey: '2027-03-09T06:00:00Z' };
    let second: Awaited<ReturnType<typeof run>> | undefined;

    // Act: the retried delivery arrives while the first is between its freeze and its snapshot.
    const first = await run({
      input: scheduled,
      executionName: 'delivery-1',
      wrapTask: (stateName, invoke) =>
        stateName === 'SnapshotSource'
          ? async (input) => {
              second ??= await run({ input: scheduled, executionName: 'delivery-2' });
              return invoke(input);
            }
          : invoke,
    });

    // Assess
    expect(first.status).toBe('SUCCEEDED');
    expect(second).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        skipped: expect.stringMatching(
          new RegExp(
            `\\(execution ${first.executionArn}\\) with idempotencyKey .* has not finished: it holds the lock on orders-db`,
          ),
        ),
      },
    });
  });

  it('a start with the idempotencyKey of a failed attempt is refused, naming it, and never reported as done', async () => {
    // Prepare: the first attempt fails at the restore and rolls back.
    await seedSample();
    const scheduled = { ...executionInput('break-glass'), idempotencyKey: '2027-03-09T06:00:00Z' };
    const first = await run({
      input: scheduled,
      executionName: 'attempt-1',
      wrapTask: (stateName, invoke) =>
        stateName === 'RestoreInstance'
          ? async () => {
              throw Object.assign(new Error('no capacity'), { name: 'InsufficientDBInstanceCapacityFault' });
            }
          : invoke,
    });
    const afterFirst = await emulatorState();

    // Act
    const repeat = await run({ input: scheduled, executionName: 'attempt-2' });

    // Assess
    expect(first).toMatchObject({ status: 'FAILED', error: 'InsufficientDBInstanceCapacityFault' });
    expect(repeat).toMatchObject({ status: 'FAILED', error: 'PreconditionFailedError' });
    const cause = (repeat as { cause: string }).cause;
    expect(cause).toMatch(
      /^idempotencyKey: an earlier attempt with idempotencyKey "2027-03-09T06:00:00Z", rotation rk\w+ /,
    );
    expect(cause).toContain(
      `(execution ${first.executionArn}), ended FAILED (InsufficientDBInstanceCapacityFault)`,
    );
    expect(cause).toContain('start again without idempotencyKey or with a new one');
    expect(await emulatorState()).toEqual(afterFirst);

    // Without the key, the rotation runs.
    const { idempotencyKey: _key, ...unkeyed } = scheduled;
    expect(await run({ input: unkeyed, executionName: 'attempt-3' })).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('refuses a second rotation while the first holds the lock, and the first then completes', async () => {
    // Prepare
    await seedSample();
    let second: Awaited<ReturnType<typeof run>> | undefined;
    let firstStateWhenSecondRan: string[] = [];

    // Act: the second execution starts while the first is between its freeze and its snapshot.
    const first = await run({
      input: executionInput('break-glass'),
      executionName: 'first',
      wrapTask: (stateName, invoke) =>
        stateName === 'SnapshotSource'
          ? async (input) => {
              if (!second) {
                firstStateWhenSecondRan = await emulatorState();
                second = await run({ input: executionInput('break-glass'), executionName: 'second' });
              }
              return invoke(input);
            }
          : invoke,
    });

    // Assess
    expect(second).toMatchObject({
      status: 'FAILED',
      error: 'RotationInProgressError',
      cause: expect.stringMatching(
        /^rotation rk\w+ is already in progress for orders-db .*Nothing was changed in AWS\.$/,
      ),
    });
    // The refused execution did not start the source the first one had stopped.
    expect(firstStateWhenSecondRan).toContainEqual(expect.stringMatching(/^instance orders-db stopped /));
    expect(first.status).toBe('SUCCEEDED');
    expect(
      (await emulatorState()).filter((line) => line.startsWith('lock db#') || line.startsWith('lock key#')),
    ).toEqual([]);
  });
});
