import { namesOfKind } from '#domain/kinds.js';
import type { RotationPlan } from '#domain/plan.js';
import type { ClusterCutoverResult, RetireBlueResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import type { AddResource, EvidenceState, StepTime } from './context.js';
import { greenDetail } from './new-key-claims.js';

/**
 * The resources of the move of clients: the CNAME records or the renames of the cutover, and the
 * Blue/Green deployment with its green and old blue resources. Pure.
 */

export const addCutoverResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: AddResource,
  at: string | null,
) => {
  const cutover = state.cutover as
    | (NonNullable<RotationState['cutover']> & Partial<ClusterCutoverResult>)
    | undefined;
  if (!cutover) return;
  if (cutover.type === 'cname' && plan.cutover.type === 'cname') {
    add({
      kind: 'dns-record',
      identifier: plan.cutover.recordName,
      arn: `arn:${plan.partition}:route53:::hostedzone/${plan.cutover.hostedZoneId}`,
      action: 'changed',
      at,
      detail: `CNAME ${cutover.previousValue} -> ${cutover.newValue}${cutover.verified ? ' (read back after INSYNC)' : ''}`,
    });
    const reader = cutover.reader;
    if (reader && 'reader' in plan.cutover && plan.cutover.reader) {
      add({
        kind: 'dns-record',
        identifier: reader.recordName,
        arn: `arn:${plan.partition}:route53:::hostedzone/${plan.cutover.reader.hostedZoneId}`,
        action: 'changed',
        at,
        detail: `CNAME ${reader.previousValue} -> ${reader.newValue}`,
      });
    }
    return;
  }
  if (cutover.type === 'rename') {
    const kind = namesOfKind(plan.kind).resource;
    const original = plan.target.identifier;
    const aside =
      'oldIdentifier' in cutover && cutover.oldIdentifier
        ? cutover.oldIdentifier
        : plan.cutover.type === 'rename'
          ? plan.cutover.asideIdentifier
          : `${original}-old`;
    const newId = state.validation?.dbInstanceIdentifier ?? plan.names.newDbInstanceIdentifier;
    if (!state.freeze?.movedAside && !state.freeze?.renamedAside) {
      add({
        kind,
        identifier: original,
        arn: null,
        action: 'renamed',
        at,
        detail: `the source, renamed to ${aside}`,
      });
    }
    add({
      kind,
      identifier: newId,
      arn: null,
      action: 'renamed',
      at,
      detail: `the new database, renamed to ${original} (clients keep ${cutover.previousValue})`,
    });
  }
};

export const addBlueGreenResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: AddResource,
  stepAt: StepTime,
) => {
  const green = state.greenDeployment;
  if (!green) return;
  const deploymentArn = `arn:${plan.partition}:rds:${plan.region}:${plan.accountId}:deployment:${green.deploymentId}`;
  add({
    kind: 'blue-green-deployment',
    identifier: green.deploymentId,
    arn: deploymentArn,
    action: 'created',
    at: stepAt('CreateGreen'),
    detail: greenDetail(state, green.deploymentName),
  });
  for (const member of green.members) {
    if (!member.targetArn) continue;
    const kind = member.targetArn.includes(':cluster:') ? 'db-cluster' : 'db-instance';
    add({
      kind,
      identifier: member.targetArn.split(':').pop() ?? member.targetArn,
      arn: member.targetArn,
      action: 'created',
      at: stepAt('CreateGreen'),
      detail: `green copy of ${member.sourceArn}`,
    });
  }
  if (state.switchover?.requested) {
    add({
      kind: 'blue-green-deployment',
      identifier: green.deploymentId,
      arn: deploymentArn,
      action: 'changed',
      at: state.switchover.completedAt ?? stepAt('Switchover'),
      detail: `switchover ${state.switchover.status}`,
    });
  }
  const retired = state.retireInstance as RetireBlueResult | undefined;
  if (retired && 'deleted' in retired) {
    const at = stepAt('RetireBlue');
    for (const id of retired.deleted ?? []) {
      add({
        kind: namesOfKind(plan.kind).resource,
        identifier: id,
        arn: null,
        action: 'deleted',
        at,
        detail: 'old blue resource, after the switchover',
      });
    }
    for (const id of retired.retained ?? []) {
      add({
        kind: namesOfKind(plan.kind).resource,
        identifier: id,
        arn: null,
        action: 'retained',
        at,
        detail: retired.reason ?? 'old blue resource kept',
      });
    }
    if (retired.deploymentDeleted) {
      add({
        kind: 'blue-green-deployment',
        identifier: green.deploymentId,
        arn: deploymentArn,
        action: 'deleted',
        at,
        detail: 'the deployment record (its resources are listed above)',
      });
    }
  }
};
