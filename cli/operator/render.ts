import type { HistoryRow } from './evidence.js';
import type { ExecutionView, StepView } from './progress.js';

/** Human output of the operator commands. Plain text (no colour), so it reads in any terminal or log. */

export const formatDuration = (ms: number): string => {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h ${pad(minutes)}m ${pad(seconds)}s`;
  if (minutes > 0) return `${minutes}m ${pad(seconds)}s`;
  return `${seconds}s`;
};

export const progressBar = (completed: number, expected: number, width = 30): string => {
  const ratio = expected > 0 ? Math.min(1, completed / expected) : 0;
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${completed}/${expected} steps (${Math.round(ratio * 100)}%)`;
};

const MARK: Record<StepView['outcome'], string> = {
  succeeded: 'done   ',
  failed: 'FAILED ',
  running: 'running',
  'waiting-for-approval': 'WAITING',
};

export interface NextCommands {
  /** e.g. `./bin/rekey.mjs` plus the connection flags the user gave. */
  approve: string;
  reject: string;
  watch: string;
}

export const statusHeadline = (view: ExecutionView): string => {
  const step = view.currentStep ?? 'starting';
  switch (view.status) {
    case 'RUNNING':
      if (view.waitingForApproval)
        return 'WAITING FOR APPROVAL: nothing changes until someone approves or rejects';
      return view.rollingBack ? `RUNNING: rolling back (${step})` : `RUNNING: ${step}`;
    case 'SUCCEEDED':
      return view.currentStep === 'SkippedDuplicateStart'
        ? 'SUCCEEDED: duplicate start, nothing done (another execution has the same idempotencyKey)'
        : 'SUCCEEDED: the database now uses the new key';
    case 'FAILED':
      return `FAILED at ${view.steps.find((s) => s.outcome === 'failed')?.name ?? step}`;
    default:
      return `${view.status} at ${step}`;
  }
};

export const renderStatus = (view: ExecutionView, consoleLink: string, next: NextCommands): string => {
  const lines: string[] = [];
  const label = (name: string, value: string) => lines.push(`${name.padEnd(10)} ${value}`);
  label('Execution', view.name);
  label('Target', view.target ?? '(unknown)');
  label('Status', statusHeadline(view));
  label(
    'Started',
    `${view.startedAt} (${formatDuration(view.elapsedMs)} ${view.closed ? 'total' : 'so far'})`,
  );
  label(
    'Path',
    view.pathDecided ? view.path : `${view.path} (not decided yet: preflight chooses for strategy "auto")`,
  );
  label('Progress', progressBar(view.progress.completed, view.progress.expected));
  label('Console', consoleLink);
  lines.push('');
  if (view.steps.length === 0) lines.push('  (no step has started yet)');
  const width = Math.max(...view.steps.map((step) => step.name.length), 4);
  for (const step of view.steps) {
    const retries =
      step.failedAttempts > 0
        ? `  (${step.failedAttempts} failed attempt${step.failedAttempts > 1 ? 's' : ''})`
        : '';
    const running = step.finishedAt === null ? ' so far' : '';
    lines.push(
      `  ${MARK[step.outcome]}  ${step.name.padEnd(width)}  ${formatDuration(step.elapsedMs)}${running}${retries}`,
    );
  }
  if (view.waitingForApproval) {
    lines.push(
      '',
      'The rotation waits for a person to approve it before it continues.',
      `  Approve: ${next.approve}`,
      `  Reject:  ${next.reject}`,
    );
  } else if (view.status === 'FAILED' || view.status === 'TIMED_OUT' || view.status === 'ABORTED') {
    lines.push('');
    if (view.error) lines.push(`Error: ${view.error}`);
    if (view.cause) lines.push(`Cause: ${view.cause}`);
    if (view.status === 'ABORTED' || view.status === 'TIMED_OUT') {
      lines.push(
        `The execution was ${view.status === 'ABORTED' ? 'stopped' : 'timed out'} without running its rollback: ` +
          'check what it created (resources tagged rekey:rotation-id) before you start again.',
      );
    } else if (!view.cause) {
      lines.push('No cause was recorded: open the console link above and read the failed step.');
    }
  } else if (!view.closed) {
    lines.push('', `Follow it: ${next.watch}`);
  }
  return `${lines.join('\n')}\n`;
};

const shortKey = (key: HistoryRow['oldKey']): string => key ?? '-';

export const renderHistory = (
  rows: readonly HistoryRow[],
  bucket: string,
  filter: string | undefined,
): string => {
  if (rows.length === 0) {
    return `No rotation recorded in s3://${bucket}/${filter ? ` for ${filter}` : ''}.\n`;
  }
  const table = rows.map((row) => [
    row.startedAt ?? '-',
    row.target,
    row.region ?? '-',
    row.strategy ?? '-',
    row.refused ? `REFUSED` : (row.status ?? 'UNREADABLE'),
    row.durationMs === null ? '-' : formatDuration(row.durationMs),
    `${shortKey(row.oldKey)} -> ${shortKey(row.newKey)}`,
    row.requestedBy ?? '-',
    row.error ?? '-',
  ]);
  const header = [
    'STARTED (UTC)',
    'TARGET',
    'REGION',
    'STRATEGY',
    'STATUS',
    'DURATION',
    'OLD KEY -> NEW KEY',
    'REQUESTED BY',
    'ERROR',
  ];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((cells) => (cells[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ');
  const problems = rows.filter((row) => row.problem).map((row) => `  ${row.key}: ${row.problem}`);
  const refused = rows.some((row) => row.refused)
    ? '\nREFUSED: the start was refused before anything changed in AWS (bad input, preflight, or another rotation held the database); its record is under refused/.\n'
    : '';
  return `${[line(header), ...table.map(line)].join('\n')}\n${refused}${
    problems.length > 0 ? `\nRecords that could not be read:\n${problems.join('\n')}\n` : ''
  }`;
};
