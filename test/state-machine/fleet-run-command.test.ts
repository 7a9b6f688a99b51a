import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FleetOutput } from '#features/fleet/types.js';
import { runRotation } from '../../cli/run-command.js';
import { seedFleetSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';

/**
 * `rekey run` with a fleet input: exit 0 only when the fleet succeeded, and the last stdout line is
 * the whole fleet output; when it failed, with the error and the cause of the fleet's Fail state.
 */
const { endpoint } = useEmulator();
const dir = mkdtempSync(join(tmpdir(), 'rekey-fleet-run-'));

describe('rekey run: a fleet input', () => {
  it('prints the fleet output with status FAILED, the error and the cause naming the databases left', async () => {
    // Prepare: one database that rotates, one the plan refuses, and onIneligible "fail".
    const sample = await seedSample();
    await seedFleetSample({ hostedZoneId: sample.hostedZoneId });
    const file = join(dir, 'fleet-fail.json');
    writeFileSync(
      file,
      JSON.stringify({
        fleet: {
          select: { identifiers: ['fleet-audit-db', 'fleet-legacy-db'] },
          maxFailures: 1,
          onIneligible: 'fail',
        },
        defaults: { strategy: 'snapshot', oldKeyPendingWindowDays: 7 },
        reason: 'annual rotation 2027',
        requestedBy: 'platform-team',
      }),
    );
    const out: string[] = [];
    const err: string[] = [];

    // Act
    const code = await runRotation(
      { input: file, endpoint, name: 'fleet-fails-1' },
      { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
    );

    // Assess
    expect(code).toBe(1);
    const last = JSON.parse(out.join('').trim().split('\n').at(-1) ?? '{}') as {
      status: string;
      error: string;
      cause: string;
      output: FleetOutput & { planUri?: string };
    };
    expect(last.status).toBe('FAILED');
    expect(last.error).toBe('FleetIncomplete');
    expect(last.cause).toContain('fleet-legacy-db (SKIPPED)');
    expect(last.output).toMatchObject({
      fleetId: 'fleet-fails-1',
      status: 'FAILED',
      reason: last.cause,
      requestedBy: 'platform-team',
      onIneligible: 'fail',
      counts: { SUCCEEDED: 1, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 },
      evidenceUri: 's3://rekey-evidence/fleets/fleet-fails-1/record.json',
    });
    expect(last.output.databases.map((d) => [d.id, d.status])).toEqual([
      ['fleet-audit-db', 'SUCCEEDED'],
      ['fleet-legacy-db', 'SKIPPED'],
    ]);
    expect(last.output.databases[0]?.evidenceUri).toMatch(
      /^s3:\/\/rekey-evidence\/rotations\/fleet-audit-db\//,
    );
    expect(last.output).not.toHaveProperty('planUri');
    expect(err.join('')).not.toMatch(/WARNING: the fleet record/);
  });

  it('exits 0 when the fleet succeeded, and its last stdout line is the fleet output', async () => {
    // Prepare
    const sample = await seedSample();
    await seedFleetSample({ hostedZoneId: sample.hostedZoneId });
    const out: string[] = [];

    // Act
    const code = await runRotation(
      { input: new URL('../../events/fleet.json', import.meta.url).pathname, endpoint, name: 'fleet-ok-1' },
      { stdout: (t) => out.push(t), stderr: () => undefined },
    );

    // Assess
    expect(code).toBe(0);
    const last = JSON.parse(out.join('').trim().split('\n').at(-1) ?? '{}') as {
      status: string;
      output: FleetOutput;
    };
    expect(last.status).toBe('SUCCEEDED');
    expect(last.output).toMatchObject({
      fleetId: 'fleet-ok-1',
      status: 'SUCCEEDED',
      counts: { SUCCEEDED: 5, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 },
    });
  });
});
