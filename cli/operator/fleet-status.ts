import type { DatabaseOutcome, FleetPlan } from '#features/fleet/types.js';

/** `rekey status` on a fleet execution (docs/fleet.md): each planned database and where it is. */
export type FleetRowStatus = DatabaseOutcome['status'] | 'RUNNING' | 'PENDING';

export interface FleetStatusRow {
  id: string;
  status: FleetRowStatus;
  detail: string;
}

/**
 * One row per planned database: its outcome's status when it has one; else RUNNING when its child
 * execution's state is known to be running (`childStates`, by execution name), else PENDING.
 */
export const renderFleetStatus = (
  plan: FleetPlan,
  outcomes: DatabaseOutcome[],
  now: Date,
  childStates: Record<string, string> = {},
): { rows: FleetStatusRow[]; text: string } => {
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const rows = plan.databases.map((d): FleetStatusRow => {
    const outcome = byId.get(d.id);
    if (outcome) {
      const reason = [outcome.error, outcome.cause].filter(Boolean).join(': ');
      return { id: d.id, status: outcome.status, detail: reason || (outcome.finishedAt ?? '') };
    }
    const state = childStates[d.executionName];
    if (state) return { id: d.id, status: 'RUNNING', detail: `child ${d.executionName}: ${state}` };
    return { id: d.id, status: 'PENDING', detail: d.eligible ? 'not started yet' : d.blockers.join('; ') };
  });
  const text = [
    `Fleet ${plan.fleetId} at ${now.toISOString()}: ${rows.length} database${rows.length === 1 ? '' : 's'}`,
    ...rows.map((r) => `  ${r.id.padEnd(28)} ${r.status.padEnd(11)} ${r.detail}`.trimEnd()),
  ].join('\n');
  return { rows, text };
};
