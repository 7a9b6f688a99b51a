import type { EvidenceRecord, StepEvidence } from '#features/evidence/schema.js';
import { escapeHtml } from './escape.js';
import { formatDuration, formatTime, parseTime } from './facts.js';

/**
 * The timeline: one row per step on a shared time axis. A bar spans the step from first entry to
 * last exit; its hatched, lighter part is the time the step spent in Wait states. The record keeps
 * the total wait per step, not where each wait fell, so the wait is drawn as one segment at the end
 * of the bar (a poll loop's waits sit between its calls; the legend says so).
 */

const WIDTH = 960;
const LABEL_WIDTH = 180;
const DURATION_WIDTH = 210;
const CHART_X0 = LABEL_WIDTH + 8;
const CHART_X1 = WIDTH - DURATION_WIDTH - 8;
const AXIS_HEIGHT = 34;
const ROW_HEIGHT = 22;
const BAR_HEIGHT = 14;
const LEGEND_HEIGHT = 40;

const TICK_STEPS_MS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
].map((s) => s * 1000);

export interface TimelineBar {
  step: StepEvidence;
  startMs: number;
  endMs: number;
  waitMs: number;
  /** Pixel geometry within the chart area. */
  x: number;
  activeWidth: number;
  waitWidth: number;
}

/** The time span and one bar per step, in pixels: exported for the tests. */
export const layoutTimeline = (record: EvidenceRecord): { t0: number; t1: number; bars: TimelineBar[] } => {
  const starts = record.steps.map((s) => parseTime(s.startedAt)).filter((t): t is number => t !== null);
  const ends = record.steps.map((s) => parseTime(s.finishedAt)).filter((t): t is number => t !== null);
  const execStart = parseTime(record.execution.startedAt);
  const execEnd = parseTime(record.execution.finishedAt);
  const known = [execStart, ...starts].filter((t): t is number => t !== null);
  const t0 = known.length > 0 ? Math.min(...known) : 0;
  let t1 = Math.max(...[execEnd, ...ends, ...starts].filter((t): t is number => t !== null), t0);
  if (t1 <= t0) t1 = t0 + 1000;
  const scale = (CHART_X1 - CHART_X0) / (t1 - t0);
  const bars = record.steps.map((step) => {
    const startMs = parseTime(step.startedAt) ?? t0;
    const endMs =
      parseTime(step.finishedAt) ??
      (step.durationMs !== null ? startMs + step.durationMs : step.outcome === 'running' ? t1 : startMs);
    const spanMs = Math.max(0, endMs - startMs);
    const waitMs = Math.min(spanMs, Math.max(0, step.waitedSeconds * 1000));
    const x = CHART_X0 + (startMs - t0) * scale;
    const total = Math.max(2, spanMs * scale);
    let waitWidth = waitMs > 0 ? Math.max(3, waitMs * scale) : 0;
    if (waitWidth > total) waitWidth = total;
    const activeWidth = Math.max(waitMs > 0 ? 1 : 2, total - waitWidth);
    return { step, startMs, endMs, waitMs, x, activeWidth, waitWidth };
  });
  return { t0, t1, bars };
};

const tickStep = (spanMs: number): number =>
  TICK_STEPS_MS.find((step) => spanMs / step <= 8) ?? TICK_STEPS_MS[TICK_STEPS_MS.length - 1] ?? 3_600_000;

const offsetLabel = (ms: number): string => {
  if (ms === 0) return '0';
  const s = Math.round(ms / 1000);
  if (s % 3600 === 0) return `+${s / 3600}h`;
  if (s >= 3600) return `+${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
  if (s % 60 === 0) return `+${s / 60}m`;
  return s >= 60 ? `+${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `+${s}s`;
};

const shorten = (text: string, max: number): string =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;

const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();

export const stepSummary = (bar: Pick<TimelineBar, 'step' | 'startMs' | 'endMs' | 'waitMs'>): string => {
  const { step } = bar;
  const duration = step.durationMs ?? bar.endMs - bar.startMs;
  const parts = [
    `${step.name}: ${step.outcome}`,
    `${formatDuration(duration)} from ${formatTime(step.startedAt)}`,
  ];
  if (bar.waitMs > 0) parts.push(`of which ${formatDuration(bar.waitMs)} waiting`);
  parts.push(`${step.invocations} ${step.invocations === 1 ? 'call' : 'calls'}`);
  return parts.join(', ');
};

export const renderTimelineSvg = (record: EvidenceRecord): string => {
  const { t0, t1, bars } = layoutTimeline(record);
  const rows = Math.max(bars.length, 1);
  const height = AXIS_HEIGHT + rows * ROW_HEIGHT + LEGEND_HEIGHT;
  const chartBottom = AXIS_HEIGHT + rows * ROW_HEIGHT;
  const scale = (CHART_X1 - CHART_X0) / (t1 - t0);
  const failed = bars.filter((b) => b.step.outcome === 'failed').map((b) => b.step.name);
  const totalWait = bars.reduce((sum, b) => sum + b.waitMs, 0);
  const description =
    `${bars.length} steps from ${formatTime(new Date(t0).toISOString())} to ${formatTime(new Date(t1).toISOString())} ` +
    `(${formatDuration(t1 - t0)}), ${formatDuration(totalWait)} of it in Wait states` +
    (failed.length ? `; failed: ${failed.join(', ')}` : '; no step failed') +
    '. ' +
    bars.map((b) => stepSummary(b)).join('. ');

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="timeline-svg-title timeline-svg-desc" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="12">`,
    '<title id="timeline-svg-title">Timeline of the rotation steps</title>',
    `<desc id="timeline-svg-desc">${escapeHtml(description)}</desc>`,
    '<defs>',
    '<pattern id="wait-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#dce8f6"/><line x1="0" y1="0" x2="0" y2="6" stroke="#2f6db5" stroke-width="1.6"/></pattern>',
    '<pattern id="wait-hatch-failed" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3e1"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b42318" stroke-width="1.6"/></pattern>',
    '</defs>',
  );

  // Axis: offsets from the start, gridlines through the rows.
  const step = tickStep(t1 - t0);
  out.push('<g class="axis" aria-hidden="true">');
  out.push(
    `<text x="${CHART_X0}" y="12" fill="#333">${escapeHtml(`start ${formatTime(new Date(t0).toISOString())}`)}</text>`,
  );
  for (let offset = 0; offset <= t1 - t0; offset += step) {
    const x = fixed(CHART_X0 + offset * scale);
    out.push(
      `<line x1="${x}" y1="${AXIS_HEIGHT - 6}" x2="${x}" y2="${chartBottom}" stroke="#d0d4da" stroke-width="1"/>`,
      `<text x="${x}" y="${AXIS_HEIGHT - 10}" text-anchor="middle" fill="#444">${offsetLabel(offset)}</text>`,
    );
  }
  out.push(
    `<line x1="${CHART_X0}" y1="${AXIS_HEIGHT - 6}" x2="${CHART_X1}" y2="${AXIS_HEIGHT - 6}" stroke="#8a9099"/>`,
  );
  out.push('</g>');

  bars.forEach((bar, index) => {
    const y = AXIS_HEIGHT + index * ROW_HEIGHT;
    const barY = y + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    const textY = y + ROW_HEIGHT / 2 + 4;
    const outcome = bar.step.outcome;
    const isFailed = outcome === 'failed';
    const activeFill = isFailed ? '#b42318' : outcome === 'running' ? '#8a9099' : '#2f6db5';
    const duration = bar.step.durationMs ?? bar.endMs - bar.startMs;
    const durationText = [
      formatDuration(duration),
      bar.waitMs > 0 ? `waited ${formatDuration(bar.waitMs)}` : null,
      isFailed ? 'FAILED' : outcome === 'running' ? 'running' : null,
    ]
      .filter(Boolean)
      .join(' · ');
    out.push(
      `<g class="step step-${escapeHtml(outcome)}" data-step="${escapeHtml(bar.step.name)}" data-outcome="${escapeHtml(outcome)}" aria-label="${escapeHtml(stepSummary(bar))}">`,
      `<title>${escapeHtml(stepSummary(bar))}</title>`,
    );
    if (isFailed || index % 2 === 1) {
      out.push(
        `<rect class="row" x="0" y="${y}" width="${WIDTH}" height="${ROW_HEIGHT}" fill="${isFailed ? '#fde2e0' : '#f4f6f8'}"/>`,
      );
    }
    out.push(
      `<text x="${LABEL_WIDTH}" y="${textY}" text-anchor="end" fill="${isFailed ? '#b42318' : '#1b1f24'}"${isFailed ? ' font-weight="bold"' : ''}>${escapeHtml(`${isFailed ? '✕ ' : ''}${shorten(bar.step.name, 26)}`)}</text>`,
      `<rect class="active" x="${fixed(bar.x)}" y="${barY}" width="${fixed(bar.activeWidth)}" height="${BAR_HEIGHT}" fill="${activeFill}"/>`,
    );
    if (bar.waitWidth > 0) {
      out.push(
        `<rect class="wait" x="${fixed(bar.x + bar.activeWidth)}" y="${barY}" width="${fixed(bar.waitWidth)}" height="${BAR_HEIGHT}" fill="url(#${isFailed ? 'wait-hatch-failed' : 'wait-hatch'})" stroke="${isFailed ? '#b42318' : '#2f6db5'}" stroke-width="0.8"/>`,
      );
    }
    if (isFailed) {
      const x = fixed(bar.x + bar.activeWidth + bar.waitWidth + 2);
      out.push(
        `<path class="failed-marker" d="M${x} ${barY} l${BAR_HEIGHT / 2} ${BAR_HEIGHT / 2} l-${BAR_HEIGHT / 2} ${BAR_HEIGHT / 2} z" fill="#b42318"/>`,
      );
    }
    out.push(
      `<text class="duration" x="${CHART_X1 + 12}" y="${textY}" fill="${isFailed ? '#b42318' : '#1b1f24'}">${escapeHtml(durationText)}</text>`,
      '</g>',
    );
  });

  // Legend.
  const ly = chartBottom + 16;
  out.push(
    '<g class="legend" aria-hidden="true">',
    `<rect x="${CHART_X0}" y="${ly}" width="18" height="10" fill="#2f6db5"/>`,
    `<text x="${CHART_X0 + 24}" y="${ly + 9}" fill="#333">working (Lambda calls)</text>`,
    `<rect x="${CHART_X0 + 170}" y="${ly}" width="18" height="10" fill="url(#wait-hatch)" stroke="#2f6db5" stroke-width="0.8"/>`,
    `<text x="${CHART_X0 + 194}" y="${ly + 9}" fill="#333">waiting (total of the step's Wait states)</text>`,
    `<rect x="${CHART_X0 + 440}" y="${ly}" width="18" height="10" fill="#b42318"/>`,
    `<text x="${CHART_X0 + 464}" y="${ly + 9}" fill="#333">failed step</text>`,
    '</g>',
    '</svg>',
  );
  return out.join('\n');
};
