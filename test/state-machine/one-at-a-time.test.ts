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
    expect(await emulatorState()).toEqual(afterFirst);
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
