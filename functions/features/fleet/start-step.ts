import { readPlan } from './documents-read.js';
import { readFailures } from './failures-read.js';

export interface FleetItem {
  id: string;
  fleetId: string;
  maxFailures: number;
  /** `$$.Execution.Id` of the Map child that starts the rotation: the console links the two. */
  parentExecutionId?: string;
}

export type StartDecision =
  | { status: 'START'; executionName: string; input: Record<string, unknown> }
  | { status: 'NOT_STARTED'; reason: string };

/**
 * StartFleetDatabase: the child rotation's name and input from the plan, unless the fleet has
 * already reached its failure budget (maxFailures), in which case the database is NOT_STARTED.
 */
export const startFleetDatabase = async (item: FleetItem): Promise<StartDecision> => {
  const plan = await readPlan(item.fleetId);
  const database = plan.databases.find((candidate) => candidate.id === item.id);
  if (!database?.input) {
    return { status: 'NOT_STARTED', reason: `${item.id} has no rotation input in the plan.` };
  }
  const failures = await readFailures(item.fleetId);
  if (failures >= item.maxFailures) {
    return {
      status: 'NOT_STARTED',
      reason: `not started: the fleet already had ${failures} failed rotation(s), its maxFailures is ${item.maxFailures}.`,
    };
  }
  const input = item.parentExecutionId
    ? { ...database.input, AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: item.parentExecutionId }
    : database.input;
  return { status: 'START', executionName: database.executionName, input };
};
