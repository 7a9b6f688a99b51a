import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { InvalidInputError } from '#domain/errors.js';
import { parseFleetInput } from '#features/fleet/input.js';
import { UsageError } from '../errors.js';
import { renderPlan } from '../fleet-commands.js';
import { consoleUrl, defaultStartName, stackOutput, startNamedExecution } from './aws.js';
import { type FleetCommandContext, type FleetStatusFlags, showFleet } from './fleet-command.js';
import { fleetMachineOfRotation, readFleetPlan } from './fleet-load.js';
import type { FleetViewInputs } from './fleet-view.js';

/**
 * `rekey start` of a fleet input (docs/fleet.md#following-a-fleet): StartExecution on the stack's
 * fleet state machine. With `--plan-only` the input's `fleet.planOnly` is set, so the machine plans
 * on AWS, writes the plan and ends without asking or starting anything; `--watch` then waits for
 * it and prints the plan as `rekey plan` does (table on stderr, JSON as the last stdout line).
 */

export interface FleetStartFlags extends FleetStatusFlags {
  input: string;
  name?: string;
  planOnly?: boolean;
}

/** PlanFleet's Task times out after 900 s: a plan-only execution ends well within this. */
const PLAN_ONLY_WAIT_SECONDS = 1_200;

export const startFleet = async (
  context: FleetCommandContext & { stateMachineArn(): Promise<string> },
  raw: Record<string, unknown>,
  options: FleetStartFlags,
  childState: FleetViewInputs['childState'],
): Promise<number> => {
  const { deps } = context;
  try {
    parseFleetInput(raw);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(`${options.input}: ${error.message}`);
    throw error;
  }
  const planOnly = Boolean(options.planOnly);
  const input = planOnly ? { ...raw, fleet: { ...(raw.fleet as object), planOnly: true } } : raw;
  const rotationMachine = await context.stateMachineArn();
  const stateMachineArn = fleetMachineOfRotation(rotationMachine);
  if (!stateMachineArn) {
    throw new UsageError(
      `${rotationMachine} is not a Rekey rotation state machine (<stack>-rotate-instance), so its fleet machine is unknown: start the fleet from the console.`,
    );
  }
  const name = options.name ?? defaultStartName(planOnly ? 'fleet-plan' : 'fleet', deps.now());
  const { executionArn } = await startNamedExecution(
    context.clients.sfn,
    { stateMachineArn, name, input },
    (arn) => context.next(arn).watch,
    deps.now,
  );
  const link = consoleUrl(executionArn, context.region);
  if (!options.json) {
    deps.stdout(
      `Started ${planOnly ? 'the plan of ' : ''}fleet ${name}.\n  Execution: ${executionArn}\n  Console:   ${link}\n` +
        (options.watch ? '' : `Follow it:   ${context.next(executionArn).watch}\n`),
    );
  }
  if (!options.watch) {
    if (options.json)
      deps.stdout(`${JSON.stringify({ executionArn, name, stateMachineArn, consoleUrl: link })}\n`);
    return 0;
  }
  if (!planOnly) return showFleet(context, executionArn, options, childState);

  // Plan only: wait for the execution (a few seconds), then read the plan it wrote.
  const deadline = deps.now().getTime() + PLAN_ONLY_WAIT_SECONDS * 1000;
  for (;;) {
    const described = await context.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (described.status === 'SUCCEEDED') break;
    if (described.status !== 'RUNNING') {
      deps.stderr(`The plan ended ${described.status}: ${described.error ?? ''} ${described.cause ?? ''}\n`);
      deps.stdout(
        `${JSON.stringify({ status: described.status, error: described.error ?? null, cause: described.cause ?? null })}\n`,
      );
      return 1;
    }
    if (deps.now().getTime() > deadline) {
      throw new Error(
        `The plan ${executionArn} still runs after ${PLAN_ONLY_WAIT_SECONDS} s; follow it: ${context.next(executionArn).watch}`,
      );
    }
    await deps.sleep(options.interval * 1000);
  }
  const bucket =
    options.bucket ??
    (await stackOutput(context.clients.cloudformation, options.stack, context.region, 'EvidenceBucketName'));
  const plan = await readFleetPlan(context.clients.s3, bucket, name);
  if (!plan)
    throw new Error(`The plan of ${executionArn} is not in s3://${bucket}/fleets/${name}/plan.json.`);
  if (!options.json) deps.stderr(renderPlan(plan));
  deps.stdout(`${JSON.stringify(plan)}\n`);
  return 0;
};
