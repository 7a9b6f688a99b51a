import { describe, expect, it } from 'vitest';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { runStateMachine } from '../../cli/runner.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';

/**
 * The progress lines of a local run say "ok" only for a step that is done. A step that found its
 * resource not ready yet says "waiting", with what it saw, and runs again after its Wait state.
 */
describe('local run progress', () => {
  useEmulator();

  it('says "waiting" while a step polls and "ok" once it is done', async () => {
    // Prepare: the emulator finishes every snapshot at once, so the first check is made to report
    // the snapshot still "creating" (what RDS says for minutes to hours).
    await seedSample();
    const progress: string[] = [];
    let checks = 0;

    // Act
    const result = await runStateMachine({
      input: executionInput('break-glass'),
      executionName: 'sm-progress',
      fastWaits: true,
      lockTable: { name: LOCAL_LOCK_TABLE, create: true },
      onProgress: (line) => progress.push(line),
      wrapTask: (state, invoke) =>
        state === 'SnapshotSource'
          ? async (input) => {
              checks += 1;
              const output = (await invoke(input)) as Record<string, unknown>;
              return checks === 1
                ? {
                    ...output,
                    done: false,
                    status: 'creating',
                    poll: { attempt: 1, waitSeconds: 15, lastStatus: 'creating' },
                  }
                : output;
            }
          : invoke,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const lines = progress.filter((line) => line.includes('SnapshotSource') && !line.includes('>'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/ waiting SnapshotSource: creating, checking again \(check 1\)$/);
    expect(lines[1]).toMatch(/ ok SnapshotSource \(\d+ ms\)$/);
    expect(progress.filter((line) => / ok SnapshotSource/.test(line))).toHaveLength(1);
  });
});
