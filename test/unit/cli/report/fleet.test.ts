import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DatabaseOutcome, FleetOutput } from '#features/fleet/types.js';
import { maxAtOnce, renderFleetHtml, renderFleetMarkdown } from '../../../../cli/report/fleet.js';
import { loadFleetRecord } from '../../../../cli/report/fleet-source.js';
import { writeFleetReport } from '../../../../cli/report.js';

const outcome = (id: string, over: Partial<DatabaseOutcome>): DatabaseOutcome => ({
  id,
  kind: 'instance',
  status: 'SUCCEEDED',
  rotationId: `rot-${id}`,
  executionArn: `arn:aws:states:us-east-1:123456789012:execution:Rotate:${id}`,
  startedAt: null,
  finishedAt: null,
  oldKeyArn: `arn:aws:kms:us-east-1:123456789012:key/old-${id}`,
  newKeyArn: `arn:aws:kms:us-east-1:123456789012:key/new-${id}`,
  evidenceUri: `s3://evidence/rotations/${id}/record.json`,
  error: null,
  cause: null,
  ...over,
});

const fleet: FleetOutput = {
  fleetId: 'fleet-2027',
  status: 'FAILED',
  reason: '1 database(s) not rotated: c-db (FAILED).',
  requestReason: 'annual rotation 2027',
  requestedBy: 'platform-team',
  startedAt: '2027-01-10T10:00:00Z',
  finishedAt: '2027-01-10T10:40:00Z',
  maxConcurrency: 2,
  maxFailures: 1,
  onIneligible: 'skip',
  counts: { SUCCEEDED: 2, FAILED: 1, SKIPPED: 1, NOT_STARTED: 0 },
  databases: [
    outcome('a-db', { startedAt: '2027-01-10T10:00:00Z', finishedAt: '2027-01-10T10:20:00Z' }),
    outcome('b-db', { startedAt: '2027-01-10T10:05:00Z', finishedAt: '2027-01-10T10:25:00Z' }),
    outcome('c-db', {
      status: 'FAILED',
      startedAt: '2027-01-10T10:20:00Z',
      finishedAt: '2027-01-10T10:40:00Z',
      error: 'States.TaskFailed',
      cause: '<script>alert(1)</script>',
    }),
    outcome('legacy-db', {
      status: 'SKIPPED',
      rotationId: null,
      executionArn: null,
      evidenceUri: null,
      newKeyArn: null,
      error: 'Refused',
      cause: 'not encrypted: encrypt it first',
    }),
  ],
  warnings: ['strategy snapshot: moto ignores TargetKmsKeyId'],
  evidenceUri: 's3://evidence/fleets/fleet-2027/record.json',
};

describe('rekey report: a fleet record', () => {
  it('renders a row per database, a bar per database that ran, and the concurrency reached', () => {
    const html = renderFleetHtml(fleet);
    expect(html.match(/<tbody>[\s\S]*<\/tbody>/)?.[0].match(/<tr /g)).toHaveLength(4);
    expect(html.match(/<g class="bar/g)).toHaveLength(3);
    expect(html).toContain('href="s3://evidence/rotations/a-db/record.json"');
    expect(html).toContain('not encrypted: encrypt it first');
    expect(html).toContain('At most 2 rotations at once');
    expect(maxAtOnce(fleet)).toBe(2);
    // a and b overlap: b starts before a finishes
    const x = (id: string) =>
      Number(
        new RegExp(
          `data-database="${id}"><text[^>]*>[^<]*</text><rect x="([\\d.]+)" y="\\d+" width="([\\d.]+)"`,
        ).exec(html)?.[1],
      );
    const w = (id: string) =>
      Number(
        new RegExp(
          `data-database="${id}"><text[^>]*>[^<]*</text><rect x="[\\d.]+" y="\\d+" width="([\\d.]+)"`,
        ).exec(html)?.[1],
      );
    expect(x('b-db')).toBeLessThan(x('a-db') + w('a-db'));
  });

  it('says who approved the fleet, or why nothing started, in HTML and Markdown', () => {
    const approved: FleetOutput = {
      ...fleet,
      approval: {
        mode: 'fleet',
        decision: 'approved',
        by: 'platform-lead',
        at: '2027-01-10T09:58:00Z',
        reason: null,
        timeoutSeconds: 14_400,
      },
    };
    const rejected: FleetOutput = {
      ...fleet,
      approval: {
        ...(approved.approval as NonNullable<FleetOutput['approval']>),
        decision: 'rejected',
        reason: 'change freeze',
      },
    };
    const approvedText =
      'Approval: one approval for the fleet, approved by platform-lead at 2027-01-10T09:58:00Z.';
    expect(renderFleetHtml(approved)).toContain(approvedText);
    expect(renderFleetMarkdown(approved)).toContain('approved by platform-lead at 2027-01-10T09:58:00Z');
    expect(renderFleetHtml(rejected)).toContain(
      'Approval: rejected by platform-lead at 2027-01-10T09:58:00Z: change freeze. No rotation started.',
    );
    expect(renderFleetHtml(fleet)).toContain('Approval: not recorded');
  });

  it('shows why the fleet ran and how it ended apart', () => {
    const html = renderFleetHtml(fleet);
    expect(html).toContain('<p class="meta">annual rotation 2027 · requested by platform-team');
    expect(html).toContain(
      '<section id="outcome"><h2>Outcome</h2><p>1 database(s) not rotated: c-db (FAILED).</p>',
    );
    expect(renderFleetMarkdown(fleet)).toContain('## Outcome\n\n1 database(s) not rotated: c-db (FAILED).');
  });

  it('escapes causes in HTML and Markdown', () => {
    expect(renderFleetHtml(fleet)).not.toContain('<script>');
    expect(renderFleetHtml(fleet)).toContain('&lt;script&gt;');
    const markdown = renderFleetMarkdown(fleet);
    expect(markdown).not.toContain('<script>');
    expect(markdown).toContain('At most 2 rotations at once');
    expect(markdown).toContain('[a-db](s3://evidence/rotations/a-db/record.json)');
  });

  it('recognises a fleet record from a file and writes the fleet page', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-report-'));
    const path = join(dir, 'record.json');
    await writeFile(path, JSON.stringify(fleet));
    const loaded = await loadFleetRecord(path);
    expect(loaded?.fleet.fleetId).toBe('fleet-2027');
    const written = await writeFleetReport(fleet, dir, 'both');
    expect(await readFile(written.html as string, 'utf8')).toContain('Fleet rotation fleet-2027');
    expect(await loadFleetRecord(join(dir, 'missing.json'))).toBeNull();
  });
});
