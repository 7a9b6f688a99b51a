import type { RotationPlan } from '#domain/plan.js';
import type { ClusterCutoverResult, FailureInfo } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { type EvidenceState, type StoppedExecution, targetOf } from './context.js';
import type { EvidenceRecord } from './schema.js';

/**
 * The facts a reviewer reads first: whether the new database passed validation, how clients were
 * moved, and, for a stopped execution, what may be left behind. Pure.
 */

export const validationOf = (state: EvidenceState): EvidenceRecord['validation'] => {
  const expectedKeyArn = state.newKey?.keyArn ?? null;
  if (state.validation) {
    return {
      passed: true,
      checkedAt: state.validation.checkedAt,
      expectedKeyArn,
      actualKeyArn: state.validation.kmsKeyArn,
      differences: state.validation.differences.map((d) => ({
        field: d.field,
        source: d.expected,
        target: d.actual,
      })),
    };
  }
  if (state.greenValidation) {
    return {
      passed: true,
      checkedAt: state.greenValidation.checkedAt,
      expectedKeyArn,
      actualKeyArn: state.greenValidation.resources[0]?.kmsKeyArn ?? null,
      differences: [],
    };
  }
  if (state.failure?.Error === 'ValidationFailedError') {
    const found = foundKeysOf(state);
    return {
      passed: false,
      checkedAt: null,
      expectedKeyArn,
      actualKeyArn: found[0] ?? null,
      differences: [],
      foundKeyArns: found,
    };
  }
  return null;
};

/**
 * The keys a failed validation's resources were really under: the rollback reads each new
 * resource's key from RDS before it removes it (`rollback.observedKeys`, a typed fact; the
 * validation's own error is never parsed). Only keys other than the new key are listed.
 */
export const foundKeysOf = (state: EvidenceState): string[] => {
  const newKey = state.newKey;
  const isNew = (arn: string) =>
    arn === newKey?.keyArn || (newKey?.keyId !== undefined && arn.endsWith(`:key/${newKey.keyId}`));
  const keys = (state.rollback?.observedKeys ?? [])
    .map((observed) => observed.kmsKeyArn)
    .filter((arn): arn is string => arn !== null && !isNew(arn));
  return [...new Set(keys)];
};

export const cutoverOf = (state: EvidenceState): EvidenceRecord['cutover'] => {
  const plan = state.plan as RotationPlan | undefined;
  if (!plan) return null;
  if (plan.strategy?.used === 'blue-green') {
    if (!state.switchover) return null;
    return {
      type: 'switchover',
      before: plan.source.endpointAddress,
      after: plan.source.endpointAddress,
      verified: state.switchover.status === 'SWITCHOVER_COMPLETED',
      detail: `Blue/Green switchover ${state.switchover.status}${state.switchover.completedAt ? ` at ${state.switchover.completedAt}` : ''}; the endpoints keep their names`,
    };
  }
  if (plan.cutover.type === 'none') {
    return {
      type: 'none',
      before: plan.source.endpointAddress,
      after: plan.source.endpointAddress,
      verified: false,
      detail: 'no cutover: clients keep using the source; the new database stands beside it',
    };
  }
  const cutover = state.cutover as
    | (NonNullable<RotationState['cutover']> & Partial<ClusterCutoverResult>)
    | undefined;
  if (!cutover) return null;
  const reader = cutover.reader
    ? `; reader ${cutover.reader.recordName}: ${cutover.reader.previousValue} -> ${cutover.reader.newValue}`
    : '';
  return {
    type: cutover.type,
    before: cutover.previousValue,
    after: cutover.newValue,
    verified: cutover.verified,
    detail:
      cutover.type === 'cname' && plan.cutover.type === 'cname'
        ? `CNAME ${plan.cutover.recordName} (zone ${plan.cutover.hostedZoneId})${reader}`
        : (cutover.note ?? 'rename: the new database took the original identifier and endpoint'),
  };
};

/**
 * What a reviewer must know about an execution that was stopped or timed out: no rollback ran,
 * where it was, and what may be left (the source stopped, resources created so far).
 */
export const stoppedNote = (state: EvidenceState, stopped: StoppedExecution): string => {
  const plan = state.plan as RotationPlan | undefined;
  const how =
    stopped.status === 'ABORTED'
      ? 'The execution was stopped (StopExecution, status ABORTED)'
      : 'The execution timed out (status TIMED_OUT)';
  const where = stopped.lastState
    ? ` while in state ${stopped.lastState}`
    : ' before it entered its first state';
  const rollingBack = state.failure
    ? ` It was already handling a failure (${(state.failure as FailureInfo).Error}): that rollback did not finish.`
    : '';
  const sourceName = plan?.target?.identifier ?? targetOf(state, null)?.identifier ?? 'the source database';
  if (!plan) {
    return `${how}${where}, so no further state ran and no rollback ran. No plan had been made yet, so Rekey had changed nothing: the record holds the input only.`;
  }
  const source =
    state.freeze?.stoppedByRekey && !state.startSource?.started
      ? ` Rekey had stopped the source ${sourceName} and did not start it again: it is still stopped, start it by hand (README: Limits).`
      : ` The source ${sourceName} may be stopped (if the execution stopped during or after StopSource): check it and start it by hand if so (README: Limits).`;
  return (
    `${how}${where}, so no further state ran and no rollback ran.${rollingBack}${source}` +
    ' The record is built from the last state the execution history holds: the resources it lists were created and not cleaned up (README: Rolling back by hand).'
  );
};
