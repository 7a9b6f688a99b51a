import { parseFleetInput } from '#features/fleet/input.js';
import { planFleet } from '#features/fleet/plan.js';
import { makePlanFleet } from '#features/fleet/plan-step.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(makePlanFleet({ parseFleetInput, planFleet }), {
  correlationIdPath: 'fleetId',
});
