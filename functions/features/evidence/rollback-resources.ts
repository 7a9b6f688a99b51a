import type { LeftResource, RollbackFact } from '#domain/facts.js';
import type { RotationPlan } from '#domain/plan.js';
import { type AddResource, type EvidenceState, rdsArn, type StepTime } from './context.js';
import type { ResourceEvidence } from './schema.js';

/**
 * What the rollback did to resources, from its typed facts (`state.rollback.facts`) and what it
 * left (`state.rollback.left`), never from its sentences: every resource it deleted, scheduled for
 * deletion, renamed, pointed back or started is listed with that action, and every resource it left
 * as retained. Pure.
 */

const rdsType = (kind: ResourceEvidence['kind']) =>
  kind === 'db-cluster'
    ? 'cluster'
    : kind === 'db-snapshot'
      ? 'snapshot'
      : kind === 'db-cluster-snapshot'
        ? 'cluster-snapshot'
        : 'db';

const BY_ROLLBACK = 'by the rollback';

const factResources = (fact: RollbackFact, plan: RotationPlan, at: string | null): ResourceEvidence[] => {
  const sourceKind: ResourceEvidence['kind'] = plan.kind === 'cluster' ? 'db-cluster' : 'db-instance';
  const rds = (kind: ResourceEvidence['kind'], identifier: string) => rdsArn(plan, rdsType(kind), identifier);
  switch (fact.kind) {
    case 'source-started':
      return [
        {
          kind: sourceKind,
          identifier: fact.identifier,
          arn: rds(sourceKind, fact.identifier),
          action: 'started',
          at,
          detail: `started again ${BY_ROLLBACK}`,
        },
      ];
    case 'deletion-protection-restored':
      return [
        {
          kind: sourceKind,
          identifier: fact.identifier,
          arn: rds(sourceKind, fact.identifier),
          action: 'changed',
          at,
          detail: `deletion protection turned on again ${BY_ROLLBACK}`,
        },
      ];
    case 'renamed-back':
      return [
        {
          kind: fact.resource,
          identifier: fact.from,
          arn: null,
          action: 'renamed',
          at,
          detail: `${fact.which === 'new' ? 'the new database' : 'the source'} renamed back to ${fact.to} ${BY_ROLLBACK}`,
        },
      ];
    case 'source-left-aside':
      return [
        {
          kind: 'db-instance',
          identifier: fact.identifier,
          arn: rds('db-instance', fact.identifier),
          action: 'retained',
          at,
          detail: `the source, left under this name: ${fact.original} names another DB instance (rename it back by hand)`,
        },
      ];
    case 'record-pointed-back':
      return [
        {
          kind: 'dns-record',
          identifier: fact.recordName,
          arn: null,
          action: 'changed',
          at,
          detail: `pointed back at ${fact.value} ${BY_ROLLBACK}`,
        },
      ];
    case 'deleted':
      return [
        {
          kind: fact.resource,
          identifier: fact.identifier,
          arn: rds(fact.resource, fact.identifier),
          action: 'deleted',
          at,
          detail: `created by this rotation, deleted ${BY_ROLLBACK} before any client used it`,
        },
      ];
    case 'blue-green-deleted':
      return [
        ...(fact.deploymentName
          ? [
              <ResourceEvidence>{
                kind: 'blue-green-deployment',
                identifier: fact.deploymentName,
                arn: null,
                action: 'deleted',
                at,
                detail: `deleted ${BY_ROLLBACK}, with its green resources`,
              },
            ]
          : []),
        ...fact.greenIdentifiers.map(
          (identifier): ResourceEvidence => ({
            kind: sourceKind,
            identifier,
            arn: rds(sourceKind, identifier),
            action: 'deleted',
            at,
            detail: `green resource, deleted ${BY_ROLLBACK}`,
          }),
        ),
      ];
    case 'key-scheduled-for-deletion':
      return [
        {
          kind: 'kms-key',
          identifier: fact.keyArn.split('/').pop() ?? fact.keyArn,
          arn: fact.keyArn,
          action: 'scheduled-for-deletion',
          at,
          detail: `the unused new key, scheduled for deletion ${BY_ROLLBACK}: KMS deletes it on ${fact.deletionDate ?? `the end of its ${fact.windowDays}-day waiting period`}`,
        },
      ];
    case 'key-not-scheduled':
      return [
        {
          kind: 'kms-key',
          identifier: fact.keyArn.split('/').pop() ?? fact.keyArn,
          arn: fact.keyArn,
          action: 'retained',
          at,
          detail: `the unused new key: the rollback could not schedule its deletion (${fact.errorName}); schedule it by hand`,
        },
      ];
  }
};

const leftResource = (left: LeftResource, plan: RotationPlan, at: string | null): ResourceEvidence => {
  const detail = 'left in place by the rollback: delete it by hand when done (README: Rolling back by hand)';
  switch (left.kind) {
    case 'kms-key':
      return {
        kind: 'kms-key',
        identifier: left.keyArn.split('/').pop() ?? left.keyArn,
        arn: left.keyArn,
        action: 'retained',
        at,
        detail: `${left.alias}: ${detail}`,
      };
    case 'blue-green-deployment':
      return {
        kind: 'blue-green-deployment',
        identifier: left.identifier,
        arn: null,
        action: 'retained',
        at,
        detail: left.afterSwitchover
          ? `${detail}; after the switchover, delete it without --delete-target`
          : detail,
      };
    case 'green':
      return {
        kind: left.resource,
        identifier: left.identifier,
        arn: rdsArn(plan, rdsType(left.resource), left.identifier),
        action: 'retained',
        at,
        detail: `green resource, ${detail}`,
      };
    case 'old-blue':
      return {
        kind: left.resource,
        identifier: left.identifier,
        arn: rdsArn(plan, rdsType(left.resource), left.identifier),
        action: 'retained',
        at,
        detail: `old blue resource (${left.status}, under the OLD key), ${detail}`,
      };
    default:
      return {
        kind: left.kind,
        identifier: left.identifier,
        arn: rdsArn(plan, rdsType(left.kind), left.identifier),
        action: 'retained',
        at,
        detail,
      };
  }
};

export const addRollbackResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: AddResource,
  stepAt: StepTime,
) => {
  const rollback = state.rollback;
  if (!rollback) return;
  const at = stepAt('Rollback');
  for (const fact of rollback.facts ?? [])
    for (const resource of factResources(fact, plan, at)) add(resource);
  for (const left of rollback.left ?? []) add(leftResource(left, plan, at));
};
