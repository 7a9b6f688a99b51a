import { readFileSync } from 'node:fs';
import { type HTMLElement, parse } from 'node-html-parser';
import { describe, expect, it } from 'vitest';
import type { EvidenceRecord, StepEvidence } from '#features/evidence/schema.js';
import { renderHtml } from '../../../../cli/report/render-html.js';
import { renderMarkdown } from '../../../../cli/report/render-markdown.js';

const fixture = (name: string): EvidenceRecord =>
  JSON.parse(
    readFileSync(new URL(`../../../fixtures/evidence/${name}.json`, import.meta.url), 'utf8'),
  ) as EvidenceRecord;

const FIXTURES = ['success-cname', 'failed-rollback', 'blue-green', 'cloudtrail-unavailable'] as const;

const html = (record: EvidenceRecord): HTMLElement => parse(renderHtml(record));
const text = (element: HTMLElement | null | undefined): string =>
  (element?.text ?? '').replace(/\s+/g, ' ').trim();

const section = (root: HTMLElement, id: string): HTMLElement => {
  const found = root.querySelector(`section#${id}`);
  if (!found) throw new Error(`no section #${id}`);
  return found;
};

/** A hostile record: every free-text field a caller controls carries markup. */
const hostile = (): EvidenceRecord => {
  const record = fixture('success-cname');
  record.reason = '<script>alert("reason")</script> | pipe';
  record.startedBy.requestedBy = '<img src=x onerror=alert(1)>';
  record.input = { reason: "</pre><script>alert('input')</script>" };
  const step = record.steps[5] as StepEvidence;
  step.name = '<b onmouseover=alert(1)>Evil</b>';
  record.notes = ['<iframe src="https://attacker.example/"></iframe>'];
  record.execution.consoleUrl = 'javascript:alert(1)';
  return record;
};

describe('renderHtml', () => {
  it.each(FIXTURES)('%s: has each section, found by id, with its heading', (name) => {
    // Prepare
    const record = fixture(name);

    // Act
    const root = html(record);

    // Assess
    const expected = [
      ['summary', 'Summary'],
      ['timeline', 'Timeline'],
      ['before-after', 'Before and after'],
      ['key-lifecycle', 'Key lifecycle'],
      ['resources', 'Resources'],
      ['events', 'Events'],
    ];
    for (const [id, heading] of expected) {
      expect(text(section(root, id as string).querySelector('h2'))).toBe(heading);
      expect(root.querySelector(`nav a[href="#${id}"]`)).not.toBeNull();
    }
    expect(root.querySelector('section#rollback') !== null).toBe(record.execution.status === 'FAILED');
  });

  it('summary answers who, what, when, result and why, and links the console', () => {
    // Prepare
    const record = fixture('success-cname');

    // Act
    const summary = text(section(html(record), 'summary'));

    // Assess
    expect(text(section(html(record), 'summary').querySelector('p.headline'))).toMatch(
      /^arn:aws:sts::123456789012:assumed-role\/OncallDBA\/jane\.doe@example\.com, requested by "oncall-dba" .* rotated the key of DB instance orders-db from arn:aws:kms:.*:key\/1b7e4c9a-.* to arn:aws:kms:.*:key\/5c0f8b2e-.* on 2025-03-11 06:00:02 UTC: succeeded\. Old key: pending deletion; KMS deletes it on 2025-03-18 00:00:00 UTC\.$/,
    );
    expect(summary).toContain('oncall-dba (as stated in the input, not authenticated)');
    expect(summary).toContain('DB instance orders-db in eu-west-1, account 123456789012');
    expect(summary).toContain('2025-03-11 06:00:02 UTC to 2025-03-11 06:54:41 UTC (54m 39s)');
    expect(summary).toContain('Succeeded');
    expect(summary).toContain('Break glass: suspected compromise of the orders-db key (INC-4711)');
    expect(summary).toContain('snapshot (requested: auto;');
    expect(summary).toContain(record.execution.arn);
    const link = section(html(record), 'summary').querySelector('a');
    expect(link?.getAttribute('href')).toBe(record.execution.consoleUrl);
  });

  it('says how the data reached the new key: an Aurora restore with no copy, an instance copy, nothing for an older record', () => {
    // Prepare: the record of an Aurora rotation (restored from its source snapshot), an instance's,
    // and one written before the field existed.
    const cluster = fixture('success-cname');
    cluster.target = { ...(cluster.target as NonNullable<EvidenceRecord['target']>), kind: 'cluster' };
    cluster.reencryption = {
      method: 'restore',
      restoredFrom: 'rekey-orders-aurora-rk1-source',
      copySnapshotIdentifier: null,
      detail: 'restored directly from the source snapshot under the new key; no re-encrypting copy',
    };
    const instance = fixture('success-cname');
    instance.reencryption = {
      method: 'snapshot-copy',
      restoredFrom: 'rekey-orders-db-rk1-reencrypted',
      copySnapshotIdentifier: 'rekey-orders-db-rk1-reencrypted',
      detail: 'copied',
    };
    const older = fixture('success-cname');
    delete older.reencryption;

    // Act
    const summaryOf = (record: EvidenceRecord) => text(section(html(record), 'summary'));

    // Assess
    // The label and its value are adjacent cells (text() joins them).
    expect(summaryOf(cluster)).toContain(
      'Re-encryptionrestored directly from the source snapshot rekey-orders-aurora-rk1-source under the new key; no re-encrypting copy',
    );
    expect(summaryOf(instance)).toContain(
      'Re-encryptioncopied to rekey-orders-db-rk1-reencrypted under the new key, then restored from the copy',
    );
    expect(summaryOf(older)).not.toContain('Re-encryption');
    expect(renderMarkdown(cluster)).toContain('no re-encrypting copy');
  });

  it('draws one bar group per step on the timeline, with wait segments distinct from active time', () => {
    // Prepare
    const record = fixture('success-cname');

    // Act
    const svg = section(html(record), 'timeline').querySelector('svg');

    // Assess
    expect(svg?.getAttribute('role')).toBe('img');
    expect(text(svg?.querySelector('title'))).toBe('Timeline of the rotation steps');
    const groups = svg?.querySelectorAll('g.step') ?? [];
    expect(groups.map((g) => g.getAttribute('data-step'))).toEqual(record.steps.map((s) => s.name));
    for (const g of groups) {
      expect(g.querySelectorAll('rect.active')).toHaveLength(1);
      expect(text(g.querySelector('title'))).toMatch(/^\w+: succeeded, /);
    }
    const waiting = record.steps.filter((s) => s.waitedSeconds > 0).map((s) => s.name);
    const withWait = groups
      .filter((g) => g.querySelector('rect.wait'))
      .map((g) => g.getAttribute('data-step'));
    expect(withWait).toEqual(waiting);
    const restore = groups.find((g) => g.getAttribute('data-step') === 'RestoreInstance');
    expect(restore?.querySelector('rect.wait')?.getAttribute('fill')).toBe('url(#wait-hatch)');
    expect(restore?.querySelector('rect.active')?.getAttribute('fill')).toBe('#2f6db5');
    // 1140 s of 1160 s waiting: the hatched part is most of the bar.
    const waitWidth = Number(restore?.querySelector('rect.wait')?.getAttribute('width'));
    const activeWidth = Number(restore?.querySelector('rect.active')?.getAttribute('width'));
    expect(waitWidth).toBeGreaterThan(activeWidth * 10);
    expect(text(restore?.querySelector('text.duration'))).toBe('19m 20s · waited 19m 00s');
  });

  it('marks the failed step in the timeline and the steps table', () => {
    // Prepare
    const record = fixture('failed-rollback');

    // Act
    const timeline = section(html(record), 'timeline');

    // Assess
    const failed = timeline.querySelectorAll('g.step[data-outcome="failed"]');
    expect(failed.map((g) => g.getAttribute('data-step'))).toEqual(['ValidateInstance']);
    expect(failed[0]?.querySelector('path.failed-marker')).not.toBeNull();
    expect(failed[0]?.querySelector('rect.active')?.getAttribute('fill')).toBe('#b42318');
    expect(text(failed[0]?.querySelector('text.duration'))).toContain('FAILED');
    expect(text(timeline.querySelector('table.steps tr.failed'))).toContain('ValidateInstance');
  });

  it('keeps 5 to 25 steps inside a sensibly sized chart', () => {
    for (const count of [5, 25]) {
      // Prepare
      const record = fixture('success-cname');
      const t0 = Date.parse(record.execution.startedAt);
      record.steps = Array.from({ length: count }, (_, i) => ({
        name: `Step${i}`,
        startedAt: new Date(t0 + i * 60_000).toISOString(),
        finishedAt: new Date(t0 + (i + 1) * 60_000).toISOString(),
        durationMs: 60_000,
        invocations: 2,
        waitedSeconds: 30,
        outcome: 'succeeded',
      }));

      // Act
      const svg = section(html(record), 'timeline').querySelector('svg');

      // Assess
      const height = Number(svg?.getAttribute('height'));
      expect(svg?.querySelectorAll('g.step')).toHaveLength(count);
      expect(height).toBeGreaterThan(count * 18);
      expect(height).toBeLessThanOrEqual(100 + count * 24);
      for (const rect of svg?.querySelectorAll('g.step rect.wait') ?? []) {
        const right = Number(rect.getAttribute('x')) + Number(rect.getAttribute('width'));
        expect(right).toBeLessThanOrEqual(Number(svg?.getAttribute('width')));
        expect(Number(rect.getAttribute('y'))).toBeLessThan(height);
      }
    }
  });

  it('lists key, database, client endpoint and configuration in the before/after table', () => {
    // Prepare
    const success = fixture('success-cname');
    const failed = fixture('failed-rollback');

    // Act
    const rows = (record: EvidenceRecord) =>
      section(html(record), 'before-after')
        .querySelectorAll('table.before-after tbody tr')
        .map((tr) => tr.querySelectorAll('th, td').map((cell) => text(cell)));

    // Assess
    const [key, database, endpoint, configuration] = rows(success);
    expect(key?.[0]).toBe('KMS key');
    expect(key?.[1]).toContain(success.keys.old?.arn);
    expect(key?.[2]).toContain(success.keys.new?.arn);
    expect(database?.slice(0, 3)).toEqual(['Database', 'orders-db', `orders-db-${success.rotationId}`]);
    expect(endpoint?.slice(0, 3)).toEqual([
      'Client endpoint (cname)',
      'orders-db.c9akciq32.eu-west-1.rds.amazonaws.com',
      `orders-db-${success.rotationId}.c9akciq32.eu-west-1.rds.amazonaws.com`,
    ]);
    expect(configuration?.[3]).toBe('no differences found');
    expect(rows(failed).filter((r) => r[0]?.startsWith('Configuration:'))).toEqual([
      ['Configuration: storageType', 'io1', 'gp3', 'differs'],
      ['Configuration: iops', '12000', '3000', 'differs'],
    ]);
  });

  it('states the old key’s deletion date, its pending window and how to check it is gone', () => {
    // Prepare
    const record = fixture('success-cname');

    // Act
    const lifecycle = section(html(record), 'key-lifecycle');

    // Assess
    expect(lifecycle.querySelectorAll('.deletion-date').map((e) => text(e))).toContain(
      '2025-03-18 00:00:00 UTC',
    );
    expect(text(lifecycle.querySelector('table.key-old'))).toContain('7 days');
    expect(text(lifecycle.querySelector('pre.verify'))).toBe(
      `aws kms describe-key --key-id ${record.keys.old?.arn} --region eu-west-1`,
    );
    expect(text(lifecycle)).toContain('NotFoundException');
    const events = lifecycle.querySelectorAll('ol.key-events li').map((li) => text(li));
    expect(events[0]).toMatch(/^2023-02-14 .* old key .* created$/);
    expect(events.at(-1)).toMatch(/^2025-03-18 00:00:00 UTC: KMS deletes the old key/);
    expect(events.findIndex((e) => e.includes('scheduled for deletion'))).toBeGreaterThan(
      events.findIndex((e) => e.includes('new key')),
    );
  });

  it('says why the old key was kept when it was not scheduled for deletion', () => {
    // Act
    const lifecycle = section(html(fixture('cloudtrail-unavailable')), 'key-lifecycle');

    // Assess
    expect(text(lifecycle)).toContain(
      'Retained, not scheduled for deletion: snapshot ledger-before-migration (manual, 2024-11-02) is still encrypted under it.',
    );
  });

  it('lists resources in time order with their action', () => {
    // Act
    const rows = section(html(fixture('success-cname')), 'resources')
      .querySelectorAll('table.resources tbody tr')
      .map((tr) => tr.querySelectorAll('td').map((td) => text(td)));

    // Assess
    expect(rows).toHaveLength(11);
    expect(rows[0]?.slice(0, 3)).toEqual(['2025-03-11 06:00:10 UTC', 'created', 'kms-key']);
    expect(rows.at(-1)?.[1]).toBe('scheduled-for-deletion');
  });

  it('shows history and CloudTrail events, and says clearly when CloudTrail was unavailable', () => {
    // Prepare
    const available = fixture('success-cname');
    const unavailable = fixture('cloudtrail-unavailable');

    // Act
    const a = section(html(available), 'events');
    const u = section(html(unavailable), 'events');

    // Assess
    expect(a.querySelectorAll('table.history tbody tr')).toHaveLength(available.history.events.length);
    expect(a.querySelectorAll('table.cloudtrail tbody tr')).toHaveLength(10);
    expect(text(a.querySelector('table.cloudtrail'))).toContain('ScheduleKeyDeletion');
    expect(a.querySelector('.cloudtrail-unavailable')).toBeNull();
    expect(u.querySelector('table.cloudtrail')).toBeNull();
    expect(text(u.querySelector('.cloudtrail-unavailable'))).toContain(
      'CloudTrail unavailable. CloudTrail was unavailable when this record was written (LookupEvents answered HTTP 500 (InternalFailure) three times)',
    );
    expect(text(u)).toContain('TRUNCATED');
    expect(text(section(html(unavailable), 'summary'))).toContain('unknown: CloudTrail did not record who');
  });

  it('shows what the rollback undid and left behind, and the error once', () => {
    // Act
    const rollback = section(html(fixture('failed-rollback')), 'rollback');

    // Assess
    expect(rollback.querySelectorAll('ul')[0]?.querySelectorAll('li')).toHaveLength(4);
    expect(text(rollback.querySelector('.left-behind'))).toContain('kept for investigation');
    expect(text(rollback.querySelector('.warning'))).toMatch(
      /^Why it failed: ValidationFailedError: payments-db-/,
    );
    expect(text(rollback).match(/ValidationFailedError/g)).toHaveLength(1);
  });

  it('escapes every string from the record: markup appears as text, never as elements', () => {
    // Prepare
    const record = hostile();

    // Act
    const source = renderHtml(record);
    const root = parse(source);

    // Assess
    expect(root.querySelectorAll('script, img, iframe, b')).toHaveLength(0);
    expect(source).not.toMatch(/<script|<img|<iframe|<b /i);
    expect(text(section(root, 'summary'))).toContain('<script>alert("reason")</script> | pipe');
    expect(text(section(root, 'summary'))).toContain('<img src=x onerror=alert(1)>');
    expect(text(section(root, 'input'))).toContain("</pre><script>alert('input')</script>");
    expect(section(root, 'timeline').querySelectorAll('g.step')[5]?.getAttribute('data-step')).toBe(
      '<b onmouseover=alert(1)>Evil</b>',
    );
    expect(section(root, 'summary').querySelector('a')).toBeNull();
  });

  it('is self-contained: no scripts, fonts or images, no link off the page but the console', () => {
    for (const name of FIXTURES) {
      // Prepare
      const record = fixture(name);

      // Act
      const source = renderHtml(record);
      const root = parse(source);

      // Assess
      expect(root.querySelectorAll('script, link, img, iframe, object, embed')).toHaveLength(0);
      expect(root.querySelectorAll('[src]')).toHaveLength(0);
      const external = root
        .querySelectorAll('[href]')
        .map((e) => e.getAttribute('href') ?? '')
        .filter((href) => !href.startsWith('#'));
      expect(external).toEqual(record.execution.consoleUrl ? [record.execution.consoleUrl] : []);
      const css = root
        .querySelectorAll('style')
        .map((s) => s.text)
        .join('\n');
      expect(css).not.toMatch(/@import|url\(/);
      expect(css).toContain('@media print');
      expect(source).not.toMatch(
        /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\/(?!eu-west-1\.console\.aws\.amazon\.com)/,
      );
    }
  });

  it('is a pure function of the record', () => {
    const record = fixture('blue-green');
    expect(renderHtml(record)).toBe(renderHtml(structuredClone(record)));
    expect(renderMarkdown(record)).toBe(renderMarkdown(structuredClone(record)));
  });
});

describe('renderMarkdown', () => {
  it.each(FIXTURES)('%s: has each heading and its tables', (name) => {
    // Prepare
    const record = fixture(name);

    // Act
    const md = renderMarkdown(record);

    // Assess
    for (const heading of [
      'Summary',
      'Timeline',
      'Before and after',
      'Key lifecycle',
      'Resources',
      'Events',
    ]) {
      expect(md).toContain(`\n## ${heading}\n`);
    }
    expect(md.includes('\n## Rollback\n')).toBe(record.execution.status === 'FAILED');
    const tableRows = (heading: string) => {
      const start = md.indexOf(`## ${heading}\n`);
      const end = md.indexOf('\n## ', start + 1);
      return md
        .slice(start, end === -1 ? undefined : end)
        .split('\n')
        .filter((line) => line.startsWith('| ') && !line.startsWith('| ---'));
    };
    expect(tableRows('Timeline')).toHaveLength(record.steps.length + 1);
    expect(tableRows('Resources')).toHaveLength(record.resources.length + 1);
    expect(tableRows('Before and after')[1]).toContain(record.keys.old?.arn);
  });

  it('draws the timeline bars with working and waiting characters', () => {
    const md = renderMarkdown(fixture('success-cname'));
    const restore = md.split('\n').find((line) => line.startsWith('| RestoreInstance |'));
    expect(restore).toMatch(/`·+█░{8,}·*`/);
  });

  it('states the deletion date, the verify command and CloudTrail unavailability', () => {
    const success = renderMarkdown(fixture('success-cname'));
    expect(success).toContain('KMS deletes it on **2025-03-18 00:00:00 UTC**');
    expect(success).toContain('```sh\naws kms describe-key --key-id arn:aws:kms:eu-west-1:');
    const unavailable = renderMarkdown(fixture('cloudtrail-unavailable'));
    expect(unavailable).toContain('> **CloudTrail unavailable.** CloudTrail was unavailable');
  });

  it('neutralises markup and keeps hostile pipes inside their table cell', () => {
    // Act
    const md = renderMarkdown(hostile());

    // Assess: outside code blocks (shown verbatim as text) no markup survives.
    const prose = md.replace(/```json\n[\s\S]*?\n```/g, '');
    expect(prose).not.toMatch(/<script|<img|<iframe|<b /i);
    expect(md).toContain('```json\n{\n  "reason": "</pre><script>alert(\'input\')</script>"\n}\n```');
    expect(md).toContain('&lt;script&gt;alert("reason")&lt;/script&gt; \\| pipe');
    const reasonRow = md.split('\n').find((line) => line.startsWith('| **Reason** |'));
    expect(reasonRow?.split(/(?<!\\)\|/)).toHaveLength(4);
    expect(md).not.toContain('](<javascript:');
  });
});
