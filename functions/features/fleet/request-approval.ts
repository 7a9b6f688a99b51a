import { InvalidInputError } from '#domain/errors.js';
import { namesOfKind } from '#domain/kinds.js';
import { consoleLink, type PublishOutcome, publish, subjectFor } from '#features/notifications/messages.js';
import { readPlan } from './documents-read.js';
import type { FleetPlanSummary } from './plan-step.js';
import type { FleetPlan, PlannedDatabase } from './types.js';

/**
 * RequestFleetApproval: invoked by the fleet machine's `WaitForFleetApproval` Task
 * (`lambda:invoke.waitForTaskToken`) with the task token, the plan summary and the execution ARN,
 * when the fleet input says `fleet.approval: "fleet"`: one approval for the whole fleet, before
 * any rotation starts and so before the first write freeze. It reads the plan PlanFleet wrote,
 * publishes what will happen and how to answer, and returns at once; the fleet execution waits
 * until an operator completes the token (SendTaskSuccess, or SendTaskFailure with error
 * `ApprovalRejected`) or the Task's TimeoutSecondsPath fires. A request that could not be
 * published does not fail the Task: `rekey approve` finds the token in the execution history, and
 * the timeout still ends the wait with nothing started.
 */

export interface RequestFleetApprovalInput {
  taskToken: string;
  /** The fleet execution's state at the gate: PlanFleet's summary. */
  state: FleetPlanSummary;
  /** `$$.Execution.Id`: the fleet execution the operator approves. */
  executionArn: string;
  /** When the request was made (default: now); the deadline counts from it. */
  requestedAt?: string;
}

export interface RequestFleetApprovalResult extends PublishOutcome {
  deadline: string;
  /** How many databases the approval starts, and how many the plan refused or skips. */
  databases: number;
  skipped: number;
}

/** At most this many databases are listed one by one; the plan in S3 holds all of them. */
export const LISTED_DATABASES = 200;

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

const minutesText = (seconds: number | null): string => {
  if (seconds === null) return 'downtime not estimated';
  if (seconds < 120) return `about ${seconds} s of writer downtime`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120
    ? `about ${minutes} min of writer downtime`
    : `about ${(minutes / 60).toFixed(1)} h of writer downtime`;
};

/** One line per database to rotate: id, kind, strategy, cutover, estimated downtime, order in its key group. */
const databaseLine = (db: PlannedDatabase): string => {
  const order =
    db.order.of > 1 ? `, ${db.order.position} of ${db.order.of} on its old key (one after another)` : '';
  return (
    `  - ${db.id} (${namesOfKind(db.kind).noun}): ${db.strategy ?? 'no'} strategy, cutover ${db.cutover ?? 'none'}, ` +
    `${minutesText(db.estimatedWriterDowntimeSeconds)}${order}`
  );
};

const listed = (lines: string[], planUri: string): string[] =>
  lines.length > LISTED_DATABASES
    ? [
        ...lines.slice(0, LISTED_DATABASES),
        `  ... and ${lines.length - LISTED_DATABASES} more: every database is in the plan, ${planUri}`,
      ]
    : lines;

export const fleetApprovalMessage = (
  input: RequestFleetApprovalInput,
  plan: FleetPlan,
  deadline: string,
): string => {
  const { state, taskToken, executionArn: arn } = input;
  const eligible = plan.databases.filter((db) => db.eligible);
  const refused = plan.databases.filter((db) => !db.eligible);
  const minutes = Math.round(state.approvalTimeoutSeconds / 60);
  const estimated = eligible
    .map((db) => db.estimatedWriterDowntimeSeconds)
    .filter((s): s is number => s !== null);
  const longest = estimated.length > 0 ? Math.max(...estimated) : null;
  const refusedHeading =
    plan.onIneligible === 'skip'
      ? `Skipped, not rotated (${refused.length}; onIneligible "skip"):`
      : `Refused, not rotated (${refused.length}; onIneligible "fail": the fleet will fail naming them):`;
  return [
    `Rekey is waiting for your approval of the fleet rotation ${state.fleetId}, before any rotation starts (nothing has been changed yet).`,
    '',
    `Fleet: ${state.fleetId}`,
    `Reason: ${state.reason ?? 'not given'}`,
    `Requested by: ${state.requestedBy ?? 'not given'}`,
    '',
    `On approval, ${eligible.length} database(s) rotate, each in its own rotation execution, at most ${plan.maxConcurrency} at once, ` +
      `no new start after ${plan.maxFailures} failed rotation(s); databases sharing an old key run one after another. ` +
      'The databases do not ask again: this is the only approval.',
    ...(eligible.length > 0
      ? [
          `Databases to rotate (${eligible.length}):`,
          ...listed(eligible.map(databaseLine), state.planUri),
          `Estimated writer downtime: up to ${minutesText(longest).replace(' of writer downtime', '')} per database (docs/fleet.md#downtime-estimate: an order of magnitude).`,
        ]
      : ['No database is eligible: approving starts nothing.']),
    ...(refused.length > 0
      ? [
          '',
          refusedHeading,
          ...listed(
            refused.map((db) => `  - ${db.id}: ${db.blockers.join(' ') || 'ineligible'}`),
            state.planUri,
          ),
        ]
      : []),
    ...(plan.notes.length > 0 ? ['', 'Notes:', ...plan.notes.map((note) => `  - ${note}`)] : []),
    '',
    `Decide by ${deadline} (${minutes} minutes after this request). Without a decision by then the fleet is called off: ` +
      'no rotation starts, nothing is changed, and the fleet fails with FleetApprovalNotGiven.',
    '',
    'Approve:',
    `  ./bin/rekey.mjs approve ${arn}`,
    'Reject:',
    `  ./bin/rekey.mjs reject ${arn} --reason "..."`,
    '',
    'Or with the AWS CLI (needs states:SendTaskSuccess / states:SendTaskFailure on the fleet state machine):',
    `  aws stepfunctions send-task-success --task-token ${shellQuote(taskToken)} --task-output '{"approvedBy":"<your name>","approvedAt":"<ISO 8601 time>"}'`,
    `  aws stepfunctions send-task-failure --task-token ${shellQuote(taskToken)} --error ApprovalRejected --cause "<reason>"`,
    '',
    `Plan: ${state.planUri}`,
    `Execution: ${arn}`,
    `Console: ${consoleLink(arn)}`,
  ].join('\n');
};

export const requestFleetApproval = async (
  input: RequestFleetApprovalInput,
): Promise<RequestFleetApprovalResult> => {
  if (
    typeof input?.taskToken !== 'string' ||
    input.taskToken.length === 0 ||
    typeof input.executionArn !== 'string' ||
    typeof input.state?.fleetId !== 'string' ||
    typeof input.state.approvalTimeoutSeconds !== 'number'
  ) {
    throw new InvalidInputError(
      'RequestFleetApproval needs {taskToken, executionArn, state: <the PlanFleet summary with approvalTimeoutSeconds>}: ' +
        'it must be called by the WaitForFleetApproval state (lambda:invoke.waitForTaskToken).',
    );
  }
  const plan = await readPlan(input.state.fleetId);
  const requestedAt = input.requestedAt ? new Date(input.requestedAt) : new Date();
  const deadline = new Date(requestedAt.getTime() + input.state.approvalTimeoutSeconds * 1000).toISOString();
  const outcome = await publish(
    subjectFor(`fleet ${input.state.fleetId}`, 'waiting for approval'),
    fleetApprovalMessage(input, plan, deadline),
  );
  const eligible = plan.databases.filter((db) => db.eligible).length;
  return { ...outcome, deadline, databases: eligible, skipped: plan.databases.length - eligible };
};
