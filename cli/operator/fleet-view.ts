import {
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { planKey } from '#features/fleet/store.js';
import type { FleetOutput } from '#features/fleet/types.js';
import type { OperatorClients } from './aws.js';
import {
  findRunningChildren,
  fleetOutputOf,
  type OutcomeCache,
  readFleetOutcomes,
  readFleetPlan,
  rotationMachineOfFleet,
} from './fleet-load.js';
import { type FleetRowStatus, type FleetStatusRow, renderFleetStatus } from './fleet-status.js';
import { findApprovalRequest } from './progress.js';
import { formatDuration } from './render.js';

/** `rekey status` of a fleet execution: the execution, its plan and each database's progress. */
export interface FleetView {
  kind: 'fleet';
  executionArn: string;
  name: string;
  status: string;
  closed: boolean;
  startedAt: string;
  stoppedAt: string | null;
  elapsedMs: number;
  error: string | null;
  cause: string | null;
  bucket: string;
  /** Where the plan is; null until PlanFleet has written it. */
  planUri: string | null;
  databases: FleetStatusRow[];
  counts: Partial<Record<FleetRowStatus, number>>;
  /** The fleet output (FleetOutput) once the execution succeeded. */
  output: FleetOutput | null;
  /** The fleet waits at its one approval gate (`fleet.approval: "fleet"`): nothing has started yet. */
  waitingForApproval: boolean;
  /** WaitForFleetApproval while it waits there, else null (the children's steps are in `databases`). */
  currentStep: string | null;
  text: string;
}

export interface FleetViewInputs {
  clients: OperatorClients;
  executionArn: string;
  described: DescribeExecutionCommandOutput;
  bucket: string;
  /** The rotation machine the children run on (default: the fleet's sibling, `<stack>-rotate-instance`). */
  rotationMachineArn?: string;
  now: Date;
  /** A child's state (`RUNNING: CopySnapshot`), or null when there is no such execution (yet). */
  childState(executionArn: string): Promise<string | null>;
  /** Kept across the polls of a watch. */
  outcomeCache?: OutcomeCache;
}

export const loadFleetView = async (inputs: FleetViewInputs): Promise<FleetView> => {
  const { clients, executionArn, described, bucket, now } = inputs;
  const name = described.name ?? executionArn.split(':').at(-1) ?? executionArn;
  const status = described.status ?? 'UNKNOWN';
  const closed = status !== 'RUNNING' && status !== 'PENDING_REDRIVE';
  const started = described.startDate ?? now;
  const stopped = described.stopDate ?? null;
  const plan = await readFleetPlan(clients.s3, bucket, name);
  const outcomes = plan ? await readFleetOutcomes(clients.s3, bucket, name, inputs.outcomeCache) : [];
  // Children are read only while the fleet runs: once it ended, every database has its outcome.
  const childStates =
    plan && !closed
      ? await findRunningChildren(
          plan,
          outcomes,
          inputs.rotationMachineArn ?? rotationMachineOfFleet(executionArn),
          inputs.childState,
        )
      : {};
  const gate =
    !closed && plan?.approval === 'fleet' && outcomes.length === 0
      ? await openGate(clients, executionArn)
      : null;
  const rendered = plan ? renderFleetStatus(plan, outcomes, now, { childStates, closed }) : null;
  const output = status === 'SUCCEEDED' ? (fleetOutputOf(described) as FleetOutput | null) : null;
  const planUri = plan ? `s3://${bucket}/${planKey(name)}` : null;
  const elapsedMs = (stopped ?? now).getTime() - started.getTime();
  const lines = [
    `Fleet      ${name}`,
    `Status     ${status}`,
    `Started    ${started.toISOString()} (${formatDuration(elapsedMs)} ${closed ? 'total' : 'so far'})`,
    `Plan       ${
      plan
        ? `${planUri}: ${plan.databases.length} selected, ${plan.groups.length} key group(s), at most ${plan.maxConcurrency} at once, maxFailures ${plan.maxFailures}`
        : closed
          ? `none: the fleet ended before PlanFleet wrote s3://${bucket}/${planKey(name)}`
          : `not written yet (PlanFleet writes s3://${bucket}/${planKey(name)})`
    }`,
  ];
  if (gate) {
    lines.push(
      `Waiting    for approval since ${gate.requestedAt}: no rotation starts before it (${gate.state})`,
    );
  }
  if (described.error) lines.push(`Error      ${described.error}: ${described.cause ?? ''}`.trimEnd());
  return {
    kind: 'fleet',
    executionArn,
    name,
    status,
    closed,
    startedAt: started.toISOString(),
    stoppedAt: stopped ? stopped.toISOString() : null,
    elapsedMs,
    error: described.error ?? null,
    cause: described.cause ?? null,
    bucket,
    planUri,
    databases: rendered?.rows ?? [],
    counts: rendered?.counts ?? {},
    output,
    waitingForApproval: gate !== null,
    currentStep: gate?.state ?? null,
    text: `${[...lines, '', ...(rendered ? [rendered.text] : [])].join('\n').trimEnd()}\n`,
  };
};

/**
 * The fleet's open approval gate, if it waits at one: its history holds only the fleet's own
 * states (the children have their own), so the first page is enough while no database has started.
 */
const openGate = async (clients: OperatorClients, executionArn: string) => {
  const { events } = await clients.sfn.send(
    new GetExecutionHistoryCommand({ executionArn, reverseOrder: false, maxResults: 1000 }),
  );
  return findApprovalRequest((events ?? []) as HistoryEvent[]) ?? null;
};
