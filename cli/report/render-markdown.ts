import type { EvidenceRecord } from '#features/evidence/schema.js';
import { markdownCode as c, escapeMarkdown as m } from './escape.js';
import {
  anyKeyScheduledForDeletion,
  beforeAfterRows,
  cloudTrailStatement,
  environmentBanner,
  errorText,
  formatDuration,
  formatTime,
  headline,
  historyStatement,
  KMS3_TEXT,
  keyEvents,
  noRollbackText,
  parseTime,
  SECTIONS,
  type SectionId,
  sectionIds,
  sortedResources,
  summaryRows,
  verifyKeyCommand,
  verifyKeyExplanation,
  wasStopped,
} from './facts.js';
import { layoutTimeline } from './timeline.js';

/**
 * The same report as Markdown, for a ticket or a pull request. The timeline is a table with a
 * 30-character bar per step (`█` working, `░` waiting) instead of the SVG.
 */

const table = (headers: string[], rows: string[][]): string =>
  [
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => ' --- ').join('|')}|`,
    ...rows.map((cells) => `| ${cells.map((x) => (x === '' ? ' ' : x)).join(' | ')} |`),
  ].join('\n');

const heading = (id: SectionId): string => `## ${SECTIONS[id]}`;
const dash = (value: unknown): string =>
  value === null || value === undefined || value === '' ? '—' : m(value);

const BAR_WIDTH = 30;

const summary = (record: EvidenceRecord): string[] => [
  heading('summary'),
  '',
  `> ${m(headline(record))}`,
  '',
  table(
    ['', ''],
    summaryRows(record).map((row) => [
      `**${m(row.label)}**`,
      row.href
        ? `[${m(row.value)}](<${row.href.replaceAll('>', '%3E')}>)`
        : row.code
          ? c(row.value)
          : m(row.value),
    ]),
  ),
];

const timeline = (record: EvidenceRecord): string[] => {
  if (record.steps.length === 0) return [heading('timeline'), '', 'The record lists no steps.'];
  const { t0, t1, bars } = layoutTimeline(record);
  const span = t1 - t0;
  const rows = bars.map((bar) => {
    const from = Math.floor(((bar.startMs - t0) / span) * BAR_WIDTH);
    const length = Math.max(1, Math.round(((bar.endMs - bar.startMs) / span) * BAR_WIDTH));
    const waiting = bar.waitMs > 0 ? Math.max(1, Math.round((bar.waitMs / span) * BAR_WIDTH)) : 0;
    const working = Math.max(bar.waitMs > 0 ? 0 : 1, length - waiting);
    const drawn = `${'·'.repeat(from)}${'█'.repeat(working)}${'░'.repeat(waiting)}`;
    const chart = `${drawn}${'·'.repeat(Math.max(0, BAR_WIDTH - drawn.length))}`.slice(0, BAR_WIDTH + 2);
    const failed = bar.step.outcome === 'failed';
    return [
      failed ? `**✕ ${m(bar.step.name)}**` : m(bar.step.name),
      m(formatTime(bar.step.startedAt)),
      m(formatDuration(bar.step.durationMs ?? bar.endMs - bar.startMs)),
      m(bar.waitMs > 0 ? formatDuration(bar.waitMs) : '—'),
      m(bar.step.invocations),
      failed ? '**failed**' : m(bar.step.outcome),
      c(chart),
    ];
  });
  const start = parseTime(record.execution.startedAt);
  return [
    heading('timeline'),
    '',
    `${bars.length} steps over ${m(formatDuration(span))} from ${m(formatTime(start === null ? null : new Date(t0).toISOString()))}. Bar: █ working, ░ waiting (the step's Wait states in total).`,
    '',
    table(['Step', 'Started', 'Duration', 'Waiting', 'Calls', 'Outcome', 'Bar'], rows),
  ];
};

const beforeAfter = (record: EvidenceRecord): string[] => [
  heading('before-after'),
  '',
  table(
    ['', 'Before', 'After', 'Evidence'],
    beforeAfterRows(record).map((r) => [`**${m(r.label)}**`, c(r.before), c(r.after), m(r.note)]),
  ),
];

const keyTable = (record: EvidenceRecord, which: 'old' | 'new'): string => {
  const key = record.keys[which];
  if (!key) return `No ${which} key in the record.`;
  const rows: string[][] = [
    ['ARN', c(key.arn)],
    ['Alias', key.alias ? c(key.alias) : '—'],
    ['Managed by', m(key.keyManager)],
    ['State when recorded', dash(key.keyState)],
    ['Created', m(formatTime(key.creationDate))],
    ['Description', dash(key.description)],
  ];
  if (which === 'old') {
    rows.push(
      ['Deletion date', `**${m(formatTime(key.deletionDate))}**`],
      ['Pending window', key.pendingWindowDays === null ? '—' : m(`${key.pendingWindowDays} days`)],
    );
  }
  return table(['', ''], rows);
};

const keyLifecycle = (record: EvidenceRecord): string[] => {
  const outcome = record.oldKeyOutcome;
  const outcomeText =
    outcome.state === 'PendingDeletion'
      ? `scheduled for deletion: KMS deletes it on **${m(formatTime(outcome.deletionDate))}**.`
      : `${outcome.state === 'Retained' ? 'retained, not scheduled for deletion' : 'untouched'}${outcome.reason ? `: ${m(outcome.reason)}` : ''}.`;
  const command = verifyKeyCommand(record);
  const events = keyEvents(record);
  return [
    heading('key-lifecycle'),
    '',
    `**Old key outcome:** ${outcomeText}`,
    '',
    '### Old key',
    '',
    keyTable(record, 'old'),
    '',
    '### New key',
    '',
    keyTable(record, 'new'),
    '',
    '### Is the old key gone?',
    '',
    ...(command
      ? ['```sh', command.replace(/[\r\n`]/g, ''), '```', '', m(verifyKeyExplanation(record))]
      : ['The record names no old key.']),
    '',
    '### Key events',
    '',
    ...(events.length
      ? events.map((e, i) => `${i + 1}. ${m(formatTime(e.at))}: ${m(e.text)}`)
      : ['No key events in the record.']),
    ...(anyKeyScheduledForDeletion(record) ? ['', '### Security Hub KMS.3', '', m(KMS3_TEXT)] : []),
  ];
};

const resources = (record: EvidenceRecord): string[] => {
  const list = sortedResources(record);
  return [
    heading('resources'),
    '',
    list.length
      ? table(
          ['When', 'Action', 'Kind', 'Resource', 'Detail'],
          list.map((r) => [m(formatTime(r.at)), m(r.action), m(r.kind), c(r.identifier), dash(r.detail)]),
        )
      : 'The rotation created or changed nothing.',
  ];
};

const events = (record: EvidenceRecord): string[] => {
  const ct = record.cloudTrail;
  return [
    heading('events'),
    '',
    '### Execution history',
    '',
    m(historyStatement(record)),
    '',
    ...(record.history.events.length
      ? [
          table(
            ['#', 'When', 'Type', 'State', 'Detail'],
            record.history.events.map((e) => [
              m(e.id),
              m(formatTime(e.timestamp)),
              m(e.type),
              dash(e.stateName),
              dash(e.detail),
            ]),
          ),
          '',
        ]
      : []),
    '### CloudTrail',
    '',
    ct.available
      ? m(cloudTrailStatement(record))
      : `> **CloudTrail unavailable.** ${m(cloudTrailStatement(record))}`,
    ...(ct.available && ct.events.length
      ? [
          '',
          table(
            ['When', 'Event', 'Source', 'User', 'Resources', 'Event id'],
            ct.events.map((e) => [
              m(formatTime(e.eventTime)),
              m(e.eventName),
              m(e.eventSource),
              dash(e.username),
              e.resources.map((r) => c(r)).join('<br>') || '—',
              c(e.eventId),
            ]),
          ),
        ]
      : []),
  ];
};

const rollback = (record: EvidenceRecord): string[] => {
  const rb = record.rollback;
  const error = errorText(record);
  const list = (items: string[], empty: string) => (items.length ? items.map((x) => `- ${m(x)}`) : [empty]);
  return [
    heading('rollback'),
    '',
    ...(error ? [`**Why it ${wasStopped(record) ? 'stopped' : 'failed'}:** ${m(error)}`, ''] : []),
    ...(rb
      ? [
          '### Undone',
          '',
          ...list(rb.undone, 'Nothing needed undoing.'),
          '',
          '### Left behind',
          '',
          ...list(rb.leftBehind, 'Nothing was left behind.'),
        ]
      : [m(noRollbackText(record))]),
  ];
};

const notes = (record: EvidenceRecord): string[] => [
  heading('notes'),
  '',
  ...record.notes.map((n) => `- ${m(n)}`),
];

const input = (record: EvidenceRecord): string[] => {
  const json = JSON.stringify(record.input, null, 2) ?? 'null';
  const longest = Math.max(2, ...(json.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return [heading('input'), '', 'As given to StartExecution.', '', `${fence}json`, json, fence];
};

export const renderMarkdown = (record: EvidenceRecord): string => {
  const render: Record<SectionId, (r: EvidenceRecord) => string[]> = {
    summary,
    timeline,
    'before-after': beforeAfter,
    'key-lifecycle': keyLifecycle,
    resources,
    events,
    rollback,
    notes,
    input,
  };
  const target = record.target?.identifier ?? 'unknown database';
  const banner = environmentBanner(record);
  const lines = [
    `# Key rotation ${m(target)}: ${m(record.execution.status)}`,
    '',
    ...(banner ? [`> **${m(banner)}**`, ''] : []),
    `Rotation ${c(record.rotationId)} · evidence ${m(record.schemaVersion)}, written ${m(formatTime(record.generatedAt))}`,
    '',
  ];
  for (const id of sectionIds(record)) lines.push(...render[id](record), '');
  return `${lines.join('\n').trimEnd()}\n`;
};
