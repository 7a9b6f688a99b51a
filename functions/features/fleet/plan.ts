import type { FleetInput } from './input.js';
import type { FleetPlan } from './types.js';

/** Placeholder until the planner is merged (issue 11): the fleet machine's tests inject a planner. */
export const planFleet = async (_input: FleetInput, _options: { fleetId: string }): Promise<FleetPlan> => {
  throw new Error('planFleet: not merged');
};
