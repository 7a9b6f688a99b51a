import type { DatabaseOutcome, FleetOutput } from '#features/fleet/types.js';
import { escapeHtml as h, markdownCode, escapeMarkdown as md } from './escape.js';
import { ReportSourceError } from './source.js';

/**
 * The fleet page of `rekey report` (docs/fleet.md): one row per database, the counts, the warnings,
 * and a timeline with one bar per database so the concurrency is visible.
 */

/** A fleet record: a JSON object with `fleetId` and a `databases` array (a `FleetOutput`). */
export const isFleetRecord = (value: unknown): value is FleetOutput =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { fleetId?: unknown }).fleetId === 'string' &&
  Array.isArray((value as { databases?: unknown }).databases);

/** Parse a fleet record, or say which field is missing. */
export const parseFleetRecord = (value: Record<string, unknown>, where: string): FleetOutput => {
  const missing = (
    [
      ['fleetId', typeof value.fleetId === 'string'],
      ['databases', Array.isArray(value.databases)],
      ['counts', typeof value.counts === 'object' && value.counts !== null],
      ['startedAt', typeof value.startedAt === 'string'],
      ['status', typeof value.status === 'string'],
    ] as const
  )
    .filter(([, ok]) => !ok)
    .map(([field]) => field);
  if (missing.length > 0) {
    throw new ReportSourceError(
      `${where} is a fleet record with missing or malformed fields: ${missing.join(', ')}.`,
    );
  }
  return value as unknown as FleetOutput;
};

const ms = (iso: string | null): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/** The databases that ran (both times known), with their spans. */
export const spans = (fleet: FleetOutput) =>
  fleet.databases
    .map((d) => ({ database: d, start: ms(d.startedAt), end: ms(d.finishedAt) }))
    .filter(
      (s): s is { database: DatabaseOutcome; start: number; end: number } =>
        s.start !== null && s.end !== null,
    );

/** The largest number of rotations that ran at the same moment, from their start and finish times. */
export const maxAtOnce = (fleet: FleetOutput): number => {
  // A finish at the same instant as another's start is not an overlap: ends sort first.
  const events = spans(fleet)
    .flatMap((s) => [
      { t: s.start, d: 1 },
      { t: s.end, d: -1 },
    ])
    .sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let most = 0;
  for (const e of events) {
    running += e.d;
    most = Math.max(most, running);
  }
  return most;
};

export const concurrencyLine = (fleet: FleetOutput): string => {
  const most = maxAtOnce(fleet);
  return `At most ${most} rotation${most === 1 ? '' : 's'} at once (limit ${fleet.maxConcurrency}).`;
};

const reasonOf = (d: DatabaseOutcome): string =>
  [d.error, d.cause].filter((part) => part !== null && part !== '').join(': ');

const COLUMNS = [
  'Database',
  'Kind',
  'Status',
  'Old key → new key',
  'Rotation',
  'Child execution',
  'Started',
  'Finished',
  'Error / reason',
];

const cells = (d: DatabaseOutcome): string[] => [
  d.id,
  d.kind,
  d.status,
  `${d.oldKeyArn ?? '—'} → ${d.newKeyArn ?? '—'}`,
  d.rotationId ?? '—',
  d.executionArn ?? '—',
  d.startedAt ?? '—',
  d.finishedAt ?? '—',
  reasonOf(d) || '—',
];

const countsText = (fleet: FleetOutput): string =>
  (['SUCCEEDED', 'FAILED', 'SKIPPED', 'NOT_STARTED'] as const)
    .map((status) => `${status} ${fleet.counts[status] ?? 0}`)
    .join(' · ');

/** One SVG bar per database that ran, on a shared time axis. */
export const renderFleetTimelineSvg = (fleet: FleetOutput): string => {
  const rows = spans(fleet);
  if (rows.length === 0) return '<p>No database ran: no timeline.</p>';
  const t0 = Math.min(...rows.map((r) => r.start));
  const t1 = Math.max(...rows.map((r) => r.end));
  const width = 640;
  const label = 180;
  const rowHeight = 22;
  const scale = (t: number) => label + ((t - t0) / Math.max(1, t1 - t0)) * (width - label - 10);
  const bars = rows
    .map((r, i) => {
      const x = scale(r.start);
      const w = Math.max(2, scale(r.end) - x);
      const y = i * rowHeight + 4;
      return (
        `<g class="bar status-${h(r.database.status)}" data-database="${h(r.database.id)}">` +
        `<text x="0" y="${y + 13}">${h(r.database.id)}</text>` +
        `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 8}">` +
        `<title>${h(r.database.id)}: ${h(r.database.startedAt)} – ${h(r.database.finishedAt)} (${h(r.database.status)})</title></rect></g>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="One bar per database" width="${width}" height="${rows.length * rowHeight + 8}">${bars}</svg>`;
};

const CSS = `body{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
.status-SUCCEEDED{color:#176b2c}.status-FAILED{color:#b00020}.status-SKIPPED,.status-NOT_STARTED{color:#6b5900}
rect{fill:#4a78c2}.bar.status-FAILED rect{fill:#b00020}text{font-size:12px}.warning{color:#8a4b00}`;

export const renderFleetHtml = (fleet: FleetOutput): string => {
  const rows = fleet.databases
    .map((d) => {
      const [id, ...rest] = cells(d).map(h);
      const link = d.evidenceUri ? `<a href="${h(d.evidenceUri)}">${id}</a>` : id;
      return `<tr class="status-${h(d.status)}"><td>${link}</td><td>${rest.join('</td><td>')}</td></tr>`;
    })
    .join('\n');
  const warnings = fleet.warnings.length
    ? `<ul class="warning">${fleet.warnings.map((w) => `<li>${h(w)}</li>`).join('')}</ul>`
    : '<p>None.</p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fleet rotation ${h(fleet.fleetId)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Fleet rotation ${h(fleet.fleetId)}: <span class="status status-${h(fleet.status)}">${h(fleet.status)}</span></h1>
<p class="meta">${h(fleet.requestReason ?? 'reason not recorded')} · requested by ${h(fleet.requestedBy ?? 'unknown')} · ${h(fleet.startedAt)} – ${h(fleet.finishedAt)} · max concurrency ${h(fleet.maxConcurrency)}, max failures ${h(fleet.maxFailures)}, ineligible: ${h(fleet.onIneligible)}</p>
</header>
<main>
<section id="outcome"><h2>Outcome</h2><p>${h(fleet.reason)}</p></section>
<section id="approval"><h2>Approval</h2><p>${h(approvalLine(fleet))}</p></section>
<section id="counts"><h2>Counts</h2><p>${h(countsText(fleet))}</p></section>
<section id="databases"><h2>Databases</h2>
<table><thead><tr>${COLUMNS.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table></section>
<section id="timeline"><h2>Timeline</h2>
<p class="concurrency">${h(concurrencyLine(fleet))}</p>
${renderFleetTimelineSvg(fleet)}</section>
<section id="warnings"><h2>Warnings</h2>${warnings}</section>
</main>
</body>
</html>
`;
};

/** Who approved the fleet, or why it was not approved (records before the fleet gate have no field). */
export const approvalLine = (fleet: FleetOutput): string => {
  const a = fleet.approval;
  if (!a) return 'Approval: not recorded (a record written before Rekey recorded the fleet approval).';
  switch (a.decision) {
    case 'approved':
      return `Approval: one approval for the fleet, approved by ${a.by ?? 'unknown'} at ${a.at ?? 'unknown'}.`;
    case 'rejected':
      return `Approval: rejected by ${a.by ?? 'unknown'} at ${a.at ?? 'unknown'}${a.reason ? `: ${a.reason}` : ''}. No rotation started.`;
    case 'timed-out':
      return `Approval: no decision within ${Math.round((a.timeoutSeconds ?? 0) / 60)} minutes. No rotation started.`;
    case 'failed':
      return `Approval: the request could not be made${a.reason ? ` (${a.reason})` : ''}. No rotation started.`;
    default:
      return a.mode === 'per-database'
        ? 'Approval: per database; each rotation’s own record holds its decision.'
        : 'Approval: none asked (fleet.approval "none").';
  }
};

export const renderFleetMarkdown = (fleet: FleetOutput): string => {
  const table = [
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...fleet.databases.map((d) => {
      const [id, ...rest] = cells(d);
      const first = d.evidenceUri
        ? `[${md(id)}](${d.evidenceUri.replace(/[()\s]/g, encodeURIComponent)})`
        : md(id);
      return `| ${[first, ...rest.map((c, i) => (i === 2 || i === 4 ? markdownCode(c) : md(c)))].join(' | ')} |`;
    }),
  ];
  const timeline = spans(fleet).map(
    (s) =>
      `- ${md(s.database.id)}: ${md(s.database.startedAt)} – ${md(s.database.finishedAt)} (${md(s.database.status)})`,
  );
  return [
    `# Fleet rotation ${md(fleet.fleetId)}: ${md(fleet.status)}`,
    '',
    `${md(fleet.requestReason ?? 'reason not recorded')} · requested by ${md(fleet.requestedBy ?? 'unknown')} · ${md(fleet.startedAt)} – ${md(fleet.finishedAt)}`,
    '',
    '## Outcome',
    '',
    md(fleet.reason),
    '',
    '## Approval',
    '',
    md(approvalLine(fleet)),
    '',
    '## Counts',
    '',
    md(countsText(fleet)),
    '',
    '## Databases',
    '',
    ...table,
    '',
    '## Timeline',
    '',
    md(concurrencyLine(fleet)),
    '',
    ...(timeline.length ? timeline : ['No database ran.']),
    '',
    '## Warnings',
    '',
    ...(fleet.warnings.length ? fleet.warnings.map((w) => `- ${md(w)}`) : ['None.']),
    '',
  ].join('\n');
};
