import { APPROVAL_REJECTED, APPROVAL_TIMEOUT_ERRORS } from '#domain/approval.js';
import type { RotationPlan } from '#domain/plan.js';
import type { EvidenceState, StoppedExecution } from './context.js';
import type { ApprovalEvidence, StepEvidence } from './schema.js';

/**
 * The approval gate's decision in the record, from `$.approval` (SendTaskSuccess's output
 * `{approvedBy, approvedAt}`, or `{approved: false}` after a rejection or a timeout) and the
 * failure the gate ended with (`ApprovalRejected` with the cause `rekey reject` sends, JSON
 * `{reason, rejectedBy, rejectedAt}`, or plain text from another caller; `States.Timeout`). Pure.
 */

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value : null);

const parseJsonObject = (value: string): Record<string, unknown> | null => {
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
};

/**
 * The rejection as sent. A Lambda-style error document (`{errorType, errorMessage}`, as a local run
 * reports a thrown error) is opened first; a cause that is not the JSON of `rekey reject` is the reason.
 */
export const rejectionOf = (
  cause: string | undefined,
): { reason: string | null; by: string | null; at: string | null } => {
  let document = parseJsonObject(cause ?? '');
  const inner = document && text(document.errorMessage);
  if (document && inner && document.reason === undefined) document = parseJsonObject(inner) ?? document;
  if (document && typeof document.reason === 'string') {
    return { reason: text(document.reason), by: text(document.rejectedBy), at: text(document.rejectedAt) };
  }
  return { reason: text(inner ?? cause), by: null, at: null };
};

export const approvalOf = (
  state: EvidenceState,
  steps: StepEvidence[],
  stopped?: StoppedExecution,
): ApprovalEvidence | null => {
  const plan = state.plan as RotationPlan | undefined;
  if (plan?.approval?.required !== true) return null;
  const timeoutSeconds = plan.approval.timeoutSeconds ?? null;
  const gate = steps.find((step) => step.name === 'WaitForApproval');
  const gateEnded = gate?.finishedAt ?? null;
  const base = { timeoutSeconds };
  const { approval, failure } = state;
  if (approval && approval.approved !== false) {
    return {
      ...base,
      decision: 'approved',
      by: text(approval.approvedBy),
      at: text(approval.approvedAt) ?? gateEnded,
      reason: null,
    };
  }
  if (approval?.approved === false && failure?.Error === APPROVAL_REJECTED) {
    const rejection = rejectionOf(failure.Cause);
    return {
      ...base,
      decision: 'rejected',
      by: rejection.by,
      at: rejection.at ?? gateEnded,
      reason: rejection.reason ?? 'no reason given',
    };
  }
  if (
    approval?.approved === false &&
    (APPROVAL_TIMEOUT_ERRORS as readonly string[]).includes(failure?.Error ?? '')
  ) {
    const minutes = timeoutSeconds === null ? null : Math.round(timeoutSeconds / 60);
    return {
      ...base,
      decision: 'timed-out',
      by: null,
      at: gateEnded,
      reason: `no decision within ${minutes ?? 'the'} minutes (WaitForApproval timed out): the rotation was rolled back before the ${plan.strategy?.used === 'blue-green' ? 'switchover' : 'cutover'}`,
    };
  }
  if (stopped?.lastState === 'WaitForApproval') {
    return {
      ...base,
      decision: 'undecided',
      by: null,
      at: null,
      reason: 'the execution stopped while it waited for a decision',
    };
  }
  return { ...base, decision: 'not-reached', by: null, at: null, reason: null };
};
