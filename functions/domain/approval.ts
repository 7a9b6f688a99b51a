import type { ApprovalPosition, RotationInput } from './input.js';
import { APPROVAL_MINUTES } from './limits.js';
import type { ApprovalPlan, ApprovalSummary } from './plan.js';
import type { FailureInfo } from './results.js';
import type { RotationState } from './state.js';

/**
 * The approval gate (state `WaitForApproval`): one `lambda:invoke.waitForTaskToken` Task, which
 * the state machine enters at one of two places (`plan.approval.at`), and leaves by a Choice back
 * to where it came from:
 *
 * - `before-changes`: after Preflight, AcquireLock and NotifyStarted, before CreateKey. Nothing has
 *   changed yet (the lock only keeps other rotations out), so waiting costs no downtime, and a
 *   rejection or a timeout leaves everything as it was. The default whenever writes are frozen
 *   (writeFreeze "stop" on the snapshot path): otherwise the database would stay stopped while the
 *   gate waits, up to `timeoutMinutes`.
 * - `before-cutover`: after the validation, just before the first irreversible step, the Cutover on
 *   the snapshot path or the Switchover on the Blue/Green path, so the approver sees the new
 *   database validated. The default when writes are not frozen (Blue/Green, writeFreeze "none").
 *
 * RequestApproval publishes the request; an operator completes the token:
 *
 * - approve: SendTaskSuccess with output `{"approvedBy": "...", "approvedAt": "..."}`, written to
 *   `$.approval`;
 * - reject: SendTaskFailure with error `ApprovalRejected` and the reason as cause (plain text, or
 *   the JSON `{"reason": "...", "rejectedBy": "..."}`);
 * - no decision within `timeoutMinutes`: `States.Timeout`.
 *
 * A rejection or a timeout goes through `ApprovalNotGiven` (`$.approval = {"approved": false}`) to
 * the Rollback: at `before-changes` there is nothing to undo, at `before-cutover` it compensates
 * fully, since nothing has been cut over yet.
 */

export const APPROVAL_REJECTED = 'ApprovalRejected';
/** The errors with which the gate ends without an approval. */
export const APPROVAL_TIMEOUT_ERRORS = ['States.Timeout', 'States.HeartbeatTimeout'] as const;

/** The gate's place when the input does not say: before any change when writes are frozen. */
export const defaultApprovalPosition = (stopsSource: boolean): ApprovalPosition =>
  stopsSource ? 'before-changes' : 'before-cutover';

/**
 * What preflight plans. Before the cutover, a snapshot rotation with cutover "none" has no gate:
 * nothing destructive follows (the source goes back into service and is kept with its key), so
 * there is nothing to approve; a note says so. Before any change the gate always runs: it is the
 * approval of the whole rotation, the freeze included. A Blue/Green rotation always switches over,
 * so it always has the gate.
 */
export const planApproval = (
  request: RotationInput,
  strategyUsed: 'snapshot' | 'blue-green',
  stopsSource: boolean,
): { approval: ApprovalPlan; note: string | null } => {
  const requested = request.approval?.required === true;
  const timeoutSeconds = (request.approval?.timeoutMinutes ?? APPROVAL_MINUTES.default) * 60;
  const at = request.approval?.at ?? defaultApprovalPosition(stopsSource);
  const moot =
    requested && at === 'before-cutover' && strategyUsed === 'snapshot' && request.cutover.type === 'none';
  const minutes = timeoutSeconds / 60;
  const note = moot
    ? 'approval.required was ignored: with cutover "none" nothing destructive follows the validation ' +
      '(the source goes back into service and is kept with its key), so there is nothing to approve.'
    : requested && at === 'before-cutover' && stopsSource
      ? `approval.at is "before-cutover": the source stays stopped while the rotation waits for approval (up to ${minutes} minutes).`
      : null;
  return { approval: { required: requested && !moot, requested, timeoutSeconds, at }, note };
};

/** The gate stands before any change (plans made before `at` existed: before the cutover). */
export const approvalBeforeChanges = (state: RotationState): boolean =>
  state.plan?.approval?.required === true && state.plan.approval.at === 'before-changes';

/** True once the operator approved (SendTaskSuccess wrote `$.approval`). */
export const wasApproved = (state: RotationState): boolean =>
  state.approval !== undefined && state.approval !== null && state.approval.approved !== false;

/**
 * True when the rotation stopped at or before the gate on a path that had one, without an
 * approval: the Cutover (or Switchover) never ran, so the rollback undoes everything, even after a
 * passed validation. (Once approved at `before-changes`, the cutover may well have run.)
 */
export const neverCutOver = (state: RotationState): boolean =>
  state.plan?.approval?.required === true && !wasApproved(state);

/**
 * True when the rotation ended at the gate before it changed anything: the gate stands before any
 * change and gave no approval, and no step after it left a trace (no key, no freeze, no green).
 * The rollback then has nothing to undo.
 */
export const stoppedBeforeChanges = (state: RotationState): boolean =>
  approvalBeforeChanges(state) &&
  !wasApproved(state) &&
  state.newKey === undefined &&
  state.freeze === undefined &&
  state.greenDeployment === undefined;

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
  const early = stoppedBeforeChanges(state);
  if (failure.Error === APPROVAL_REJECTED) {
    const { reason, by } = parseRejection(failure.Cause ?? '');
    const text = reason.trim() || 'no reason given';
    const after = early
      ? 'The rotation stopped before it changed anything: no key was created and the source was never stopped.'
      : 'The cutover never started.';
    return `Approval rejected by ${by ?? 'an operator (the SendTaskFailure call in CloudTrail names who)'}: ${text.replace(/\.?$/, '.')} ${after}`;
  }
  if ((APPROVAL_TIMEOUT_ERRORS as readonly string[]).includes(failure.Error)) {
    const minutes = Math.round((state.plan?.approval?.timeoutSeconds ?? 0) / 60);
    const before = early
      ? 'before it changed anything (no key was created and the source was never stopped)'
      : 'before the cutover';
    return `No decision within ${minutes} minutes on the approval request (WaitForApproval timed out), so the rotation was called off ${before}.`;
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
