import { APPROVAL_REJECTED, APPROVAL_TIMEOUT_ERRORS } from '#domain/approval.js';
import { rejectionOf } from '#features/evidence/approval.js';
import { getJson, readPlan } from './documents-read.js';
import { putJson } from './documents-write.js';
import { fitOutput } from './payloads.js';
import type { FleetPlanSummary } from './plan-step.js';
import { outcomeKey, recordKey } from './store.js';
import type { DatabaseOutcome, DatabaseStatus, FleetApprovalOutcome, FleetOutput } from './types.js';

/**
 * What FinishFleet receives: the plan summary, and after WaitForFleetApproval either the
 * approval (SendTaskSuccess's output, `$.approvalDecision`) or the error the gate ended with
 * (`$.approvalError`: ApprovalRejected, States.Timeout, or the request step's own failure).
 */
export interface FinishFleetInput extends FleetPlanSummary {
  approvalDecision?: { approvedBy?: unknown; approvedAt?: unknown } | null;
  approvalError?: { Error?: string; Cause?: string } | null;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value : null);

/** The fleet gate's decision, from what the state machine passed. */
export const fleetApprovalOf = (input: FinishFleetInput): FleetApprovalOutcome => {
  const mode = input.approval;
  if (mode !== 'fleet') {
    return { mode, decision: 'not-required', by: null, at: null, reason: null, timeoutSeconds: null };
  }
  const base = { mode, timeoutSeconds: input.approvalTimeoutSeconds ?? null };
  const error = input.approvalError;
  if (error) {
    if (error.Error === APPROVAL_REJECTED) {
      const rejection = rejectionOf(error.Cause);
      return {
        ...base,
        decision: 'rejected',
        by: rejection.by,
        at: rejection.at,
        reason: rejection.reason ?? 'no reason given',
      };
    }
    if ((APPROVAL_TIMEOUT_ERRORS as readonly string[]).includes(error.Error ?? '')) {
      const minutes = Math.round((input.approvalTimeoutSeconds ?? 0) / 60);
      return {
        ...base,
        decision: 'timed-out',
        by: null,
        at: null,
        reason: `no decision within ${minutes} minutes (WaitForFleetApproval timed out)`,
      };
    }
    return {
      ...base,
      decision: 'failed',
      by: null,
      at: null,
      reason: `the approval request failed (${error.Error ?? 'unknown error'}: ${rejectionOf(error.Cause).reason ?? 'no cause'})`,
    };
  }
  return {
    ...base,
    decision: 'approved',
    by: text(input.approvalDecision?.approvedBy),
    at: text(input.approvalDecision?.approvedAt),
    reason: null,
  };
};

/** Why nothing started, in one sentence: who rejected and why, or the timeout, or the failed request. */
const notGivenSentence = (approval: FleetApprovalOutcome): string => {
  if (approval.decision === 'rejected') {
    return `The fleet approval was rejected by ${approval.by ?? 'an operator (the SendTaskFailure call in CloudTrail names who)'}: ${(approval.reason ?? '').replace(/\.?$/, '.')}`;
  }
  if (approval.decision === 'timed-out') {
    return `The fleet approval got ${approval.reason ?? 'no decision in time'}, so the fleet was called off.`;
  }
  return `The fleet was called off: ${approval.reason ?? 'the approval was not given'}.`;
};

const NOT_GIVEN = new Set<FleetApprovalOutcome['decision']>(['rejected', 'timed-out', 'failed']);

const skipped = (
  id: string,
  kind: DatabaseOutcome['kind'],
  oldKeyArn: string | null,
  blockers: string[],
) => ({
  id,
  kind,
  status: 'SKIPPED' as const,
  rotationId: null,
  executionArn: null,
  startedAt: null,
  finishedAt: null,
  oldKeyArn,
  newKeyArn: null,
  evidenceUri: null,
  error: 'Ineligible',
  cause: blockers.join(' '),
});

/**
 * FinishFleet: the fleet output from the plan and the outcomes, written as the fleet evidence record
 * `fleets/<fleetId>/record.json`. When the output would pass the execution output limit, it keeps
 * the counts and every database that did not succeed, and points to the record for the rest.
 */
export const finishFleet = async (summary: FinishFleetInput): Promise<FleetOutput> => {
  const plan = await readPlan(summary.fleetId);
  const approval = fleetApprovalOf(summary);
  const notGiven = NOT_GIVEN.has(approval.decision);
  const databases: DatabaseOutcome[] = [];
  for (const planned of plan.databases) {
    if (!planned.eligible) {
      databases.push(skipped(planned.id, planned.kind, planned.oldKeyArn, planned.blockers));
      continue;
    }
    if (notGiven) {
      // The gate stands before the Map: nothing was started, so there is no outcome to read.
      databases.push({
        ...skipped(planned.id, planned.kind, planned.oldKeyArn, []),
        status: 'NOT_STARTED',
        error: 'FleetApprovalNotGiven',
        cause: `not started: ${notGivenSentence(approval)}`,
      });
      continue;
    }
    const outcome = await getJson<DatabaseOutcome>(outcomeKey(summary.fleetId, planned.id));
    databases.push(
      outcome ?? {
        ...skipped(planned.id, planned.kind, planned.oldKeyArn, []),
        status: 'NOT_STARTED',
        error: 'NotStarted',
        cause: 'the fleet ended before this database was started.',
      },
    );
  }
  const counts: Record<DatabaseStatus, number> = { SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, NOT_STARTED: 0 };
  for (const database of databases) counts[database.status] += 1;
  const refused = plan.onIneligible === 'fail' ? databases.filter((d) => d.status === 'SKIPPED') : [];
  const left = databases.filter((d) => d.status === 'FAILED' || d.status === 'NOT_STARTED');
  const succeeded = left.length === 0 && refused.length === 0;
  const describe = (list: DatabaseOutcome[]) => list.map((d) => `${d.id} (${d.status})`).join(', ');
  const reason = notGiven
    ? `${notGivenSentence(approval)} No database was started${left.length ? `: ${describe(left)}` : ''}.`
    : succeeded
      ? `${counts.SUCCEEDED} database(s) rotated, ${counts.SKIPPED} skipped.`
      : [
          left.length ? `${left.length} database(s) not rotated: ${describe(left)}.` : '',
          refused.length
            ? `onIneligible is "fail" and ${refused.length} database(s) were refused: ${describe(refused)}.`
            : '',
        ]
          .filter(Boolean)
          .join(' ');
  const output: FleetOutput = {
    fleetId: summary.fleetId,
    status: succeeded && !notGiven ? 'SUCCEEDED' : 'FAILED',
    reason,
    requestReason: summary.reason ?? null,
    requestedBy: summary.requestedBy ?? null,
    startedAt: summary.startedAt,
    finishedAt: new Date().toISOString(),
    maxConcurrency: plan.maxConcurrency,
    maxFailures: plan.maxFailures,
    onIneligible: plan.onIneligible,
    counts,
    databases,
    warnings: [
      ...plan.notes,
      ...databases
        .filter((d) => d.status === 'SKIPPED')
        .map((d) => `${d.id} was skipped, not rotated: ${d.cause ?? 'it cannot be rotated'}`),
    ],
    approval,
    evidenceUri: null,
  };
  const evidenceUri = await putJson(recordKey(summary.fleetId), { ...output, planUri: summary.planUri });
  const { complete: _complete, ...fitted } = fitOutput({ ...output, evidenceUri });
  return fitted;
};
