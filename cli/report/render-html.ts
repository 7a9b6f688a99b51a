import type { EvidenceRecord } from '#features/evidence/schema.js';
import { escapeHtml as h } from './escape.js';
import {
  anyKeyScheduledForDeletion,
  beforeAfterRows,
  cloudTrailStatement,
  environmentBanner,
  errorText,
  formatDate,
  formatDuration,
  formatTime,
  hasRollback,
  headline,
  historyStatement,
  KMS3_TEXT,
  keyEvents,
  noRollbackText,
  SECTIONS,
  type SectionId,
  sectionIds,
  sortedResources,
  summaryRows,
  verifyKeyCommand,
  verifyKeyExplanation,
  wasStopped,
} from './facts.js';
import { renderTimelineSvg } from './timeline.js';

/**
 * One self-contained HTML page: inline CSS, an inline SVG, no script, font, image or stylesheet
 * from anywhere, so it opens the same way offline years from now and prints on paper. Every string
 * that comes from the record is escaped; the only link that leaves the page is the console link.
 */

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 24px; background: #fff; color: #1b1f24;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d0d4da; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.meta { color: #444; margin: 0 0 12px; }
p.headline { font-size: 15px; padding: 10px 12px; border-left: 4px solid #2f6db5; background: #f4f6f8; }
.result-SUCCEEDED p.headline { border-left-color: #1a7f37; }
.result-FAILED p.headline { border-left-color: #b42318; }
.result-ABORTED p.headline, .result-TIMED_OUT p.headline { border-left-color: #9a6700; }
nav ol { margin: 8px 0; padding-left: 20px; columns: 3; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #d0d4da; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
th[scope="row"] { width: 150px; white-space: nowrap; }
table.before-after th[scope="row"] { width: auto; white-space: normal; min-width: 110px; }
td, th { overflow-wrap: anywhere; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #f4f6f8; border: 1px solid #d0d4da; padding: 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0 8px; border-radius: 3px; font-weight: 600; }
.status-SUCCEEDED { background: #dafbe1; color: #1a4d2e; }
.status-FAILED { background: #fde2e0; color: #7a1a12; }
.status-SKIPPED { background: #eef1f4; color: #333; }
.status-ABORTED, .status-TIMED_OUT { background: #fff8e5; color: #6b4700; }
.warning { border: 1px solid #b42318; background: #fdf1f0; padding: 8px 12px; }
.notice { border: 1px solid #9a6700; background: #fff8e5; padding: 8px 12px; }
.muted { color: #555; }
.timeline-wrap { overflow-x: auto; }
svg.timeline { max-width: 100%; height: auto; }
tr.failed td { background: #fdf1f0; }
table.resources td:nth-child(-n+3), table.history td:nth-child(-n+3), table.cloudtrail td:nth-child(-n+3),
table.steps td:nth-child(-n+3) { overflow-wrap: normal; }
table.resources td:nth-child(1), table.resources td:nth-child(3), table.history td:nth-child(2),
table.cloudtrail td:nth-child(1), table.steps td:nth-child(2), table.steps td:nth-child(3) { white-space: nowrap; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  nav { display: none; }
  h2 { break-after: avoid; }
  table, svg, pre, .warning, .notice { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: inherit; }
}
`;

const code = (value: unknown): string => `<code>${h(value)}</code>`;
const orDash = (value: unknown): string =>
  value === null || value === undefined || value === '' ? '—' : h(value);

const table = (
  headers: string[],
  rows: string[][],
  options: { rowClass?: (i: number) => string; rowHeaders?: boolean; className?: string } = {},
): string => {
  const head = `<thead><tr>${headers.map((x) => `<th scope="col">${h(x)}</th>`).join('')}</tr></thead>`;
  const body = rows
    .map((cells, i) => {
      const cls = options.rowClass?.(i);
      const cellsHtml = cells
        .map((c, j) => (j === 0 && options.rowHeaders ? `<th scope="row">${c}</th>` : `<td>${c}</td>`))
        .join('');
      return `<tr${cls ? ` class="${h(cls)}"` : ''}>${cellsHtml}</tr>`;
    })
    .join('\n');
  const cls = options.className ? ` class="${h(options.className)}"` : '';
  return `<table${cls}>${head}<tbody>\n${body}\n</tbody></table>`;
};

const section = (id: SectionId, body: string): string =>
  `<section id="${id}" aria-labelledby="${id}-heading">\n<h2 id="${id}-heading">${h(SECTIONS[id])}</h2>\n${body}\n</section>`;

const summarySection = (record: EvidenceRecord): string => {
  const rows = summaryRows(record)
    .map((row) => {
      let value: string;
      if (row.label === 'Result') {
        value = `<span class="status status-${h(record.execution.status)}">${h(row.value)}</span>`;
      } else if (row.href) {
        value = `<a href="${h(row.href)}" rel="noreferrer">${h(row.value)}</a><br><code class="muted">${h(row.href)}</code>`;
      } else {
        value = row.code ? code(row.value) : h(row.value);
      }
      return `<tr><th scope="row">${h(row.label)}</th><td>${value}</td></tr>`;
    })
    .join('\n');
  return section(
    'summary',
    `<p class="headline">${h(headline(record))}</p>\n<table class="summary"><tbody>\n${rows}\n</tbody></table>`,
  );
};

const timelineSection = (record: EvidenceRecord): string => {
  if (record.steps.length === 0) {
    return section('timeline', '<p>The record lists no steps.</p>');
  }
  const rows = record.steps.map((s) => [
    h(s.name),
    h(formatTime(s.startedAt)),
    h(formatTime(s.finishedAt)),
    h(formatDuration(s.durationMs)),
    h(s.waitedSeconds > 0 ? formatDuration(s.waitedSeconds * 1000) : '—'),
    h(s.invocations),
    h(s.outcome),
  ]);
  return section(
    'timeline',
    `<div class="timeline-wrap">\n${renderTimelineSvg(record)}\n</div>\n` +
      '<h3>Steps</h3>\n' +
      table(['Step', 'Started', 'Finished', 'Duration', 'Waiting', 'Calls', 'Outcome'], rows, {
        className: 'steps',
        rowClass: (i) => (record.steps[i]?.outcome === 'failed' ? 'failed' : ''),
      }),
  );
};

const beforeAfterSection = (record: EvidenceRecord): string => {
  const rows = beforeAfterRows(record).map((r) => [h(r.label), code(r.before), code(r.after), h(r.note)]);
  return section(
    'before-after',
    table(['', 'Before', 'After', 'Evidence'], rows, { rowHeaders: true, className: 'before-after' }),
  );
};

const keyTable = (record: EvidenceRecord, which: 'old' | 'new'): string => {
  const key = record.keys[which];
  if (!key) return `<p>No ${which} key in the record.</p>`;
  const rows: [string, string][] = [
    ['ARN', code(key.arn)],
    ['Alias', key.alias ? code(key.alias) : '—'],
    ['Managed by', h(key.keyManager)],
    ['State when recorded', orDash(key.keyState)],
    ['Created', h(formatTime(key.creationDate))],
    ['Description', orDash(key.description)],
  ];
  if (which === 'old') {
    rows.push(
      ['Deletion date', `<strong class="deletion-date">${h(formatTime(key.deletionDate))}</strong>`],
      ['Pending window', key.pendingWindowDays === null ? '—' : h(`${key.pendingWindowDays} days`)],
    );
  }
  return `<table class="key key-${which}"><tbody>${rows
    .map(([k, v]) => `<tr><th scope="row">${h(k)}</th><td>${v}</td></tr>`)
    .join('')}</tbody></table>`;
};

const keyLifecycleSection = (record: EvidenceRecord): string => {
  const outcome = record.oldKeyOutcome;
  const outcomeText =
    outcome.state === 'PendingDeletion'
      ? `Scheduled for deletion: KMS deletes it on <strong class="deletion-date">${h(formatTime(outcome.deletionDate))}</strong>.`
      : outcome.state === 'Retained'
        ? `Retained, not scheduled for deletion${outcome.reason ? `: ${h(outcome.reason)}` : ''}.`
        : `Untouched${outcome.reason ? `: ${h(outcome.reason)}` : ''}.`;
  const command = verifyKeyCommand(record);
  const events = keyEvents(record);
  return section(
    'key-lifecycle',
    `<p class="${outcome.state === 'PendingDeletion' ? '' : 'notice'}"><strong>Old key outcome:</strong> ${outcomeText}</p>\n` +
      `<h3>Old key</h3>\n${keyTable(record, 'old')}\n` +
      `<h3>New key</h3>\n${keyTable(record, 'new')}\n` +
      '<h3>Is the old key gone?</h3>\n' +
      (command
        ? `<pre class="verify">${h(command)}</pre>\n<p>${h(verifyKeyExplanation(record))}</p>`
        : '<p>The record names no old key.</p>') +
      '\n<h3>Key events</h3>\n' +
      (events.length
        ? `<ol class="key-events">${events
            .map((e) => `<li><time>${h(formatTime(e.at))}</time>: ${h(e.text)}</li>`)
            .join('\n')}</ol>`
        : '<p>No key events in the record.</p>') +
      (anyKeyScheduledForDeletion(record)
        ? `\n<h3 id="kms-3">Security Hub KMS.3</h3>\n<p class="kms-3">${h(KMS3_TEXT)}</p>`
        : ''),
  );
};

const resourcesSection = (record: EvidenceRecord): string => {
  const resources = sortedResources(record);
  if (resources.length === 0) return section('resources', '<p>The rotation created or changed nothing.</p>');
  const rows = resources.map((r) => [
    h(formatTime(r.at)),
    h(r.action),
    h(r.kind),
    `${code(r.identifier)}${r.arn && r.arn !== r.identifier ? `<br><code class="muted">${h(r.arn)}</code>` : ''}`,
    orDash(r.detail),
  ]);
  return section(
    'resources',
    table(['When', 'Action', 'Kind', 'Resource', 'Detail'], rows, { className: 'resources' }),
  );
};

const eventsSection = (record: EvidenceRecord): string => {
  const history = record.history;
  const historyRows = history.events.map((e) => [
    h(e.id),
    h(formatTime(e.timestamp)),
    h(e.type),
    orDash(e.stateName),
    orDash(e.detail),
  ]);
  const ct = record.cloudTrail;
  const ctBody = ct.available
    ? `<p>${h(cloudTrailStatement(record))}</p>\n` +
      (ct.events.length
        ? table(
            ['When', 'Event', 'Source', 'User', 'Resources', 'Event id'],
            ct.events.map((e) => [
              h(formatTime(e.eventTime)),
              h(e.eventName),
              h(e.eventSource),
              orDash(e.username),
              e.resources.map((r) => code(r)).join('<br>') || '—',
              code(e.eventId),
            ]),
            { className: 'cloudtrail' },
          )
        : '')
    : `<p class="warning cloudtrail-unavailable"><strong>CloudTrail unavailable.</strong> ${h(cloudTrailStatement(record))}</p>`;
  return section(
    'events',
    `<h3 id="execution-history">Execution history</h3>\n<p${history.truncated ? ' class="notice"' : ''}>${h(historyStatement(record))}</p>\n` +
      (historyRows.length
        ? table(['#', 'When', 'Type', 'State', 'Detail'], historyRows, {
            className: 'history',
            rowClass: (i) => (/Failed|TimedOut|Aborted/.test(history.events[i]?.type ?? '') ? 'failed' : ''),
          })
        : '') +
      `\n<h3 id="cloudtrail">CloudTrail</h3>\n${ctBody}`,
  );
};

const rollbackSection = (record: EvidenceRecord): string => {
  const rb = record.rollback;
  const error = errorText(record);
  const list = (items: string[], empty: string) =>
    items.length ? `<ul>${items.map((x) => `<li>${h(x)}</li>`).join('\n')}</ul>` : `<p>${h(empty)}</p>`;
  return section(
    'rollback',
    (error
      ? `<p class="warning"><strong>Why it ${wasStopped(record) ? 'stopped' : 'failed'}:</strong> ${h(error)}</p>\n`
      : '') +
      (rb
        ? `<h3>Undone</h3>\n${list(rb.undone, 'Nothing needed undoing.')}\n<h3>Left behind</h3>\n` +
          (rb.leftBehind.length
            ? `<div class="notice left-behind">${list(rb.leftBehind, '')}</div>`
            : '<p>Nothing was left behind.</p>')
        : `<p class="notice">${h(noRollbackText(record))}</p>`),
  );
};

const notesSection = (record: EvidenceRecord): string =>
  section('notes', `<ul>${record.notes.map((n) => `<li>${h(n)}</li>`).join('\n')}</ul>`);

const inputSection = (record: EvidenceRecord): string =>
  section(
    'input',
    `<p class="muted">As given to StartExecution.</p>\n<pre>${h(JSON.stringify(record.input, null, 2) ?? 'null')}</pre>`,
  );

export const renderHtml = (record: EvidenceRecord): string => {
  const ids = sectionIds(record);
  const render: Record<SectionId, (r: EvidenceRecord) => string> = {
    summary: summarySection,
    timeline: timelineSection,
    'before-after': beforeAfterSection,
    'key-lifecycle': keyLifecycleSection,
    resources: resourcesSection,
    events: eventsSection,
    rollback: rollbackSection,
    notes: notesSection,
    input: inputSection,
  };
  const target = record.target?.identifier ?? 'unknown database';
  const title = `Rekey rotation ${record.rotationId}: ${target}, ${record.execution.status}`;
  const body = ids.map((id) => render[id](record)).join('\n\n');
  const banner = environmentBanner(record);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rekey report (evidence ${h(record.schemaVersion)})">
<title>${h(title)}</title>
<style>${CSS}</style>
</head>
<body class="result-${h(record.execution.status)}">
<header>
<h1>Key rotation ${h(target)}: <span class="status status-${h(record.execution.status)}">${h(record.execution.status)}</span></h1>
${banner ? `<p class="warning environment" role="alert"><strong>${h(banner)}</strong></p>\n` : ''}
<p class="meta">Rotation ${code(record.rotationId)} · ${h(formatDate(record.execution.startedAt))} · evidence ${h(record.schemaVersion)}, written ${h(formatTime(record.generatedAt))}${hasRollback(record) ? ' · <a href="#rollback">rollback</a>' : ''}</p>
<nav aria-label="Sections"><ol>${ids.map((id) => `<li><a href="#${id}">${h(SECTIONS[id])}</a></li>`).join('')}</ol></nav>
</header>
<main>
${body}
</main>
</body>
</html>
`;
};
