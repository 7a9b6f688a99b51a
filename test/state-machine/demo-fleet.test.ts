import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import type { FleetOutput } from '#features/fleet/types.js';
import { FLEET_DEMO_NAME, runFleetDemo } from '../../cli/demo.js';

/**
 * `rekey demo --fleet` as a user runs it: its own emulator, the fleet sample seeded, events/fleet.json
 * through the fleet machine and every child rotation, the fleet report written, exit code 0.
 */
describe('rekey demo --fleet', () => {
  it('rotates the sample fleet, writes the fleet record and report, prints their paths, exits 0', async () => {
    // Prepare
    const outDir = mkdtempSync(join(tmpdir(), 'rekey-demo-fleet-'));
    const out: string[] = [];
    const err: string[] = [];

    // Act
    const code = await runFleetDemo({
      outDir,
      io: { stdout: (t) => out.push(t), stderr: (t) => err.push(t) },
    });

    // Assess
    const stdout = out.join('');
    expect(code).toBe(0);
    expect(err.join('')).toContain('Starting the embedded AWS emulator');
    expect(stdout).toContain(`Fleet ${FLEET_DEMO_NAME} SUCCEEDED: 5 database(s) rotated, 1 skipped.\n`);
    expect(stdout).toMatch(/fleet-legacy-db +SKIPPED +Ineligible: fleet-legacy-db is not encrypted/);
    const html = join(outDir, `fleet-${FLEET_DEMO_NAME}.html`);
    const md = join(outDir, `fleet-${FLEET_DEMO_NAME}.md`);
    const record = join(outDir, `fleet-${FLEET_DEMO_NAME}.record.json`);
    expect(stdout).toContain(`Report:       ${html}\n              ${md}\n`);
    expect(stdout).toContain(
      `Fleet record: ${record} (from s3://rekey-evidence/fleets/${FLEET_DEMO_NAME}/record.json)`,
    );
    expect(readdirSync(outDir).sort()).toEqual([
      `fleet-${FLEET_DEMO_NAME}.html`,
      `fleet-${FLEET_DEMO_NAME}.md`,
      `fleet-${FLEET_DEMO_NAME}.record.json`,
    ]);

    const last = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
      status: string;
      output: FleetOutput;
    };
    expect(last.status).toBe('SUCCEEDED');
    expect(last.output.counts).toEqual({ SUCCEEDED: 5, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 });
    const saved = JSON.parse(readFileSync(record, 'utf8')) as FleetOutput;
    expect(saved.databases.map((d) => d.id).sort()).toEqual(last.output.databases.map((d) => d.id).sort());
    // The two databases that share a key ran one after the other, each to a new key of its own.
    const billing = saved.databases.find((d) => d.id === 'fleet-billing-db');
    const invoices = saved.databases.find((d) => d.id === 'fleet-invoices-db');
    expect(billing?.oldKeyArn).toBe(invoices?.oldKeyArn);
    expect(billing?.newKeyArn).not.toBe(invoices?.newKeyArn);
    const [first, second] = [billing, invoices].sort((a, b) =>
      String(a?.startedAt).localeCompare(String(b?.startedAt)),
    );
    expect(Date.parse(String(second?.startedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(first?.finishedAt)),
    );
    const page = parse(readFileSync(html, 'utf8')).text;
    for (const d of saved.databases) expect(page).toContain(d.id);
    expect(readFileSync(md, 'utf8')).toContain('fleet-reports-aurora');
  });
});
