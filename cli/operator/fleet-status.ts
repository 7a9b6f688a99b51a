import type { DatabaseOutcome, FleetPlan } from '#features/fleet/types.js';

/** `rekey status` on a fleet execution (docs/fleet.md): each planned database and where it is. */
export type FleetRowStatus = DatabaseOutcome['status'] | 'RUNNING' | 'PENDING';

export interface FleetStatusRow {
  id: string;
  status: FleetRowStatus;
  detail: string;
}

export interface FleetStatusOptions {
  /** The child execution's state, by execution name (e.g. `RUNNING: CopySnapshot`), where it was read. */
  childStates?: Record<string, string>;
  /** The fleet execution has ended: a database with no outcome was never started. */
  closed?: boolean;
}

const ROW_ORDER: FleetRowStatus[] = ['SUCCEEDED', 'FAILED', 'RUNNING', 'PENDING', 'SKIPPED', 'NOT_STARTED'];

/**
 * One row per planned database: its outcome's status when it has one; SKIPPED (with its blockers)
 * when the plan refused it; RUNNING when its child execution's state is known (`childStates`);
 * otherwise PENDING, or NOT_STARTED once the fleet has ended.
 */
export const renderFleetStatus = (
  plan: FleetPlan,
  outcomes: DatabaseOutcome[],
  now: Date,
  options: FleetStatusOptions = {},
): { rows: FleetStatusRow[]; counts: Partial<Record<FleetRowStatus, number>>; text: string } => {
  const childStates = options.childStates ?? {};
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const rows = plan.databases.map((d): FleetStatusRow => {
    const outcome = byId.get(d.id);
    if (outcome) {
      const reason = [outcome.error, outcome.cause].filter(Boolean).join(': ');
      return { id: d.id, status: outcome.status, detail: reason || (outcome.finishedAt ?? '') };
    }
    if (!d.eligible) return { id: d.id, status: 'SKIPPED', detail: d.blockers.join('; ') };
    const state = childStates[d.executionName];
    if (state) return { id: d.id, status: 'RUNNING', detail: `child ${d.executionName}: ${state}` };
    if (options.closed)
      return { id: d.id, status: 'NOT_STARTED', detail: 'the fleet ended before it was started' };
    return { id: d.id, status: 'PENDING', detail: 'not started yet' };
  });
  const counts: Partial<Record<FleetRowStatus, number>> = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  const summary = ROW_ORDER.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
  const width = Math.max(8, ...rows.map((r) => r.id.length));
  const text = [
    `Fleet ${plan.fleetId} at ${now.toISOString()}: ${rows.length} database${rows.length === 1 ? '' : 's'}` +
      (summary.length ? ` (${summary.join(', ')})` : ''),
    ...rows.map((r) => `  ${r.id.padEnd(width)}  ${r.status.padEnd(11)} ${r.detail}`.trimEnd()),
  ].join('\n');
  return { rows, counts, text };
};
