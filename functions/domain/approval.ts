import type { RotationInput } from './input.js';
import { APPROVAL_MINUTES } from './limits.js';
import type { ApprovalPlan, ApprovalSummary } from './plan.js';
import type { FailureInfo } from './results.js';
import type { RotationState } from './state.js';

/**
 * The approval gate (state `WaitForApproval`): a `lambda:invoke.waitForTaskToken` Task before the
 * first destructive step, the Cutover on the snapshot path or the Switchover on the Blue/Green
 * path. RequestApproval publishes the request; an operator completes the token:
 *
 * - approve: SendTaskSuccess with output `{"approvedBy": "...", "approvedAt": "..."}`, written to
 *   `$.approval`;
 * - reject: SendTaskFailure with error `ApprovalRejected` and the reason as cause (plain text, or
 *   the JSON `{"reason": "...", "rejectedBy": "..."}`);
 * - no decision within `timeoutMinutes`: `States.Timeout`.
 *
 * A rejection or a timeout goes through `ApprovalNotGiven` (`$.approval = {"approved": false}`) to
 * the Rollback, which compensates fully: nothing has been cut over yet.
 */

export const APPROVAL_REJECTED = 'ApprovalRejected';
/** The errors with which the gate ends without an approval. */
export const APPROVAL_TIMEOUT_ERRORS = ['States.Timeout', 'States.HeartbeatTimeout'] as const;

/**
 * What preflight plans. A snapshot rotation with cutover "none" has no gate: nothing destructive
 * follows (the source goes back into service and is kept with its key), so there is nothing to
 * approve; a note says so. A Blue/Green rotation always switches over, so it always has the gate.
 */
export const planApproval = (
  request: RotationInput,
  strategyUsed: 'snapshot' | 'blue-green',
): { approval: ApprovalPlan; note: string | null } => {
  const requested = request.approval?.required === true;
  const timeoutSeconds = (request.approval?.timeoutMinutes ?? APPROVAL_MINUTES.default) * 60;
  const moot = requested && strategyUsed === 'snapshot' && request.cutover.type === 'none';
  return {
    approval: { required: requested && !moot, requested, timeoutSeconds },
    note: moot
      ? 'approval.required was ignored: with cutover "none" nothing destructive follows the validation ' +
        '(the source goes back into service and is kept with its key), so there is nothing to approve.'
      : null,
  };
};

/** True once the operator approved (SendTaskSuccess wrote `$.approval`). */
export const wasApproved = (state: RotationState): boolean =>
  state.approval !== undefined && state.approval !== null && state.approval.approved !== false;

/**
 * True when the rotation stopped at or before the gate on a path that had one: the Cutover (or
 * Switchover) never ran, so the rollback undoes everything, even after a passed validation.
 */
export const neverCutOver = (state: RotationState): boolean =>
  state.plan?.approval?.required === true && !wasApproved(state);

const parseRejection = (cause: string): { reason: string; by: string | null } => {
  try {
    const parsed = JSON.parse(cause) as Record<string, unknown>;
    if (parsed && typeof parsed === 'object') {
      const by = parsed.rejectedBy ?? parsed.by;
      const reason = parsed.reason ?? parsed.errorMessage;
      if (typeof reason === 'string') return { reason, by: typeof by === 'string' ? by : null };
    }
  } catch {
    // Plain text: the cause is the reason.
  }
  return { reason: cause, by: null };
};

/**
 * The first sentence of the failure cause when the gate ended the rotation, or undefined.
 * "Approval rejected by alice: <reason>." or "No decision within 240 minutes on the approval ...".
 */
export const approvalFailureMessage = (state: RotationState): string | undefined => {
  const failure: FailureInfo | undefined = state.failure;
  if (!failure || state.approval?.approved !== false) return undefined;
  if (failure.Error === APPROVAL_REJECTED) {
    const { reason, by } = parseRejection(failure.Cause ?? '');
    const text = reason.trim() || 'no reason given';
    return `Approval rejected by ${by ?? 'an operator (the SendTaskFailure call in CloudTrail names who)'}: ${text.replace(/\.?$/, '.')} The cutover never started.`;
  }
  if ((APPROVAL_TIMEOUT_ERRORS as readonly string[]).includes(failure.Error)) {
    const minutes = Math.round((state.plan?.approval?.timeoutSeconds ?? 0) / 60);
    return `No decision within ${minutes} minutes on the approval request (WaitForApproval timed out), so the rotation was called off before the cutover.`;
  }
  return undefined;
};

/** For the output (Summarize): whether the gate ran and who approved when. */
export const approvalSummary = (state: RotationState): ApprovalSummary =>
  state.plan?.approval?.required === true
    ? {
        required: true,
        approvedBy: typeof state.approval?.approvedBy === 'string' ? state.approval.approvedBy : null,
        approvedAt: typeof state.approval?.approvedAt === 'string' ? state.approval.approvedAt : null,
      }
    : { required: false };
