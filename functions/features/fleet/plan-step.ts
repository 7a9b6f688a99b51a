import { putJson } from './documents-write.js';
import { unwrapScheduled } from './input.js';
import { planKey } from './store.js';
import type { FleetPlan } from './types.js';

/** What PlanFleet returns to the state machine: identifiers only (under 256 KB at 1,000 databases). */
export interface FleetPlanSummary {
  fleetId: string;
  startedAt: string;
  requestedBy: string | null;
  /** The fleet input's reason (the approval request shows it). */
  reason: string | null;
  maxConcurrency: number;
  maxFailures: number;
  onIneligible: FleetPlan['onIneligible'];
  approval: FleetPlan['approval'];
  /** The PlanOnly? Choice: true ends the execution with the plan, before any approval or start. */
  planOnly: boolean;
  /** WaitForFleetApproval's TimeoutSecondsPath (used only with approval "fleet"). */
  approvalTimeoutSeconds: number;
  groups: { group: string; ids: string[] }[];
  planUri: string;
}

export interface PlanFleetDeps<TInput> {
  parseFleetInput: (raw: unknown) => TInput;
  planFleet: (input: TInput, options: { fleetId: string }) => Promise<FleetPlan>;
}

export interface PlanFleetEvent {
  /** The fleet execution's input, as given. */
  input: unknown;
  /** `$$.Execution.Name`: child execution names and evidence keys derive from it. */
  fleetId: string;
  startedAt?: string;
}

const textOf = (raw: unknown, field: 'requestedBy' | 'reason'): string | null => {
  const value = (raw as Record<string, unknown> | null)?.[field];
  return typeof value === 'string' ? value.trim() : null;
};

/**
 * PlanFleet: plans the fleet, writes the whole plan to `fleets/<fleetId>/plan.json` and returns the
 * groups' ids. The planner is injected so the step is tested with any planner.
 */
export const makePlanFleet =
  <TInput>(deps: PlanFleetDeps<TInput>) =>
  async (event: PlanFleetEvent): Promise<FleetPlanSummary> => {
    if (!event || typeof event.fleetId !== 'string' || event.fleetId === '') {
      throw new Error(
        'PlanFleet: fleetId is missing: the state machine passes $$.Execution.Name as fleetId.',
      );
    }
    const input = deps.parseFleetInput(event.input);
    const plan = await deps.planFleet(input, { fleetId: event.fleetId });
    const planUri = await putJson(planKey(event.fleetId), plan);
    return {
      fleetId: event.fleetId,
      startedAt: event.startedAt ?? new Date().toISOString(),
      requestedBy: textOf(unwrapScheduled(event.input), 'requestedBy'),
      reason: textOf(unwrapScheduled(event.input), 'reason'),
      maxConcurrency: plan.maxConcurrency,
      maxFailures: plan.maxFailures,
      onIneligible: plan.onIneligible,
      approval: plan.approval,
      approvalTimeoutSeconds: plan.approvalTimeoutSeconds,
      planOnly: plan.planOnly,
      groups: plan.groups.map(({ group, ids }) => ({ group, ids })),
      planUri,
    };
  };
