import type { RotationState } from '#domain/state.js';
import type { RequestApprovalResult } from '#features/approval/request-approval.js';
import type { FleetPlanSummary } from '#features/fleet/plan-step.js';
import type { RequestFleetApprovalResult } from '#features/fleet/request-approval.js';

/**
 * The approval gate in the local runner. aws-local-stepfunctions has no task tokens: the runner
 * serves the `WaitForApproval` Task itself (by its Resource, so wherever the state machine enters
 * it: before any change or before the cutover), and the fleet's `WaitForFleetApproval` the same way. It calls the real RequestApproval handler with a
 * synthetic token (so the SNS message is built and published as on AWS), then asks the decider and
 * completes the Task the way an operator's SendTaskSuccess / SendTaskFailure (or the Task timeout)
 * would.
 */

export type ApprovalDecision = { approve: true; by: string } | { reject: string; by: string } | 'timeout';

export interface ApprovalRequest {
  executionArn: string;
  taskToken: string;
  /** The execution's state at the gate: a rotation's, or a fleet's plan summary (WaitForFleetApproval). */
  state: RotationState | FleetPlanSummary;
  /** What RequestApproval (or RequestFleetApproval) returned: subject, whether it was published, the deadline. */
  requested: RequestApprovalResult | RequestFleetApprovalResult;
}

export type ApprovalDecider = (request: ApprovalRequest) => Promise<ApprovalDecision>;

/** The error the state machine sees, with the `name` ErrorEquals matches. */
const namedError = (name: string, message: string): Error => {
  const error = new Error(message);
  error.name = name;
  return error;
};

/** No decider: fail the gate (into the rollback) instead of waiting for a token nobody can send. */
export const NO_DECIDER_MESSAGE =
  'The input asks for approval (approval.required), but a local run has no task token an operator could complete. ' +
  'Run it with --approve or --reject --reason "<why>", or start it on the deployed stack and approve with ./bin/rekey.mjs approve.';

/**
 * The Task's result on approval, or the error on a rejection (ApprovalRejected, with the cause as
 * JSON {reason, rejectedBy}) or a timeout (States.Timeout, as Step Functions reports it).
 */
export const completeGate = (decision: ApprovalDecision, now: Date = new Date()): Record<string, string> => {
  if (decision === 'timeout') throw namedError('States.Timeout', 'Task timed out.');
  if ('reject' in decision) {
    throw namedError(
      'ApprovalRejected',
      JSON.stringify({ reason: decision.reject, rejectedBy: decision.by }),
    );
  }
  return { approvedBy: decision.by, approvedAt: now.toISOString() };
};

/** The synthetic task token of a local execution. */
export const localTaskToken = (executionName: string): string => `local-task-token-${executionName}`;

export const approvalUnavailable = (): Error => namedError('ApprovalUnavailableError', NO_DECIDER_MESSAGE);

/**
 * `rekey run --approve` / `--reject --reason <why>` (`--by <name>`): the decision for a local run's gate, fixed up front.
 * An input that asks for approval with neither flag is refused before anything runs (a local run
 * has no task token an operator could complete later).
 */
export const deciderFromFlags = (
  input: unknown,
  flags: { approve?: boolean; reject?: boolean; reason?: string; by?: string },
): { decider?: ApprovalDecider; problem?: string } => {
  if (flags.approve && flags.reject) return { problem: 'give --approve or --reject, not both.' };
  if (flags.reject && !flags.reason?.trim())
    return { problem: '--reject needs --reason "<why>": the reason is kept as evidence.' };
  if (flags.reason !== undefined && !flags.reject)
    return { problem: '--reason goes with --reject (an approval needs no reason).' };
  const by = flags.by ?? process.env.USER ?? 'local operator';
  if (flags.approve) return { decider: async () => ({ approve: true, by }) };
  if (flags.reject) return { decider: async () => ({ reject: flags.reason?.trim() ?? '', by }) };
  const asks = asksFor(input);
  return asks
    ? {
        problem:
          `the input asks for approval (${asks}), and a local run cannot wait for one: add --approve, or ` +
          '--reject --reason "<why>" to rehearse a rejection, or start it on the deployed stack and approve it with ./bin/rekey.mjs approve.',
      }
    : {};
};

/**
 * The field by which an input asks for approval, or null: a single input's `approval.required`,
 * a fleet input's `fleet.approval` "fleet" (its one gate) or "per-database" (each child's gate).
 */
const asksFor = (input: unknown): string | null => {
  const raw = input as { approval?: { required?: unknown }; fleet?: { approval?: unknown } } | null;
  if (raw?.approval?.required === true) return 'approval.required';
  const fleet = raw?.fleet?.approval;
  return fleet === 'fleet' || fleet === 'per-database' ? `fleet.approval "${fleet}"` : null;
};
