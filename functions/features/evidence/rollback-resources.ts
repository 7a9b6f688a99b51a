import type { LeftResource, RollbackFact } from '#domain/facts.js';
import { namesOfKind } from '#domain/kinds.js';
import type { RotationPlan } from '#domain/plan.js';
import { type AddResource, type EvidenceState, rdsArn, type StepTime } from './context.js';
import type { ResourceAction, ResourceEvidence } from './schema.js';

/**
 * What the rollback did to resources, from its typed facts (`state.rollback.facts`) and what it
 * left (`state.rollback.left`), never from its sentences: every resource it deleted, scheduled for
 * deletion, renamed, pointed back or started is listed with that action, and every resource it left
 * as retained. Pure.
 */

type Kind = ResourceEvidence['kind'];

const RDS_TYPE: Partial<Record<Kind, Parameters<typeof rdsArn>[1]>> = {
  'db-instance': 'db',
  'db-cluster': 'cluster',
  'db-snapshot': 'snapshot',
  'db-cluster-snapshot': 'cluster-snapshot',
};

const BY_ROLLBACK = 'by the rollback';
const LEFT = 'left in place by the rollback: delete it by hand when done (README: Rolling back by hand)';

/** Builds the record's resources of one rollback, all at the Rollback step's time. */
const resourcesOf = (plan: RotationPlan, at: string | null) => {
  const resource = (
    kind: Kind,
    identifier: string,
    action: ResourceAction,
    detail: string,
    arn: string | null = null,
  ): ResourceEvidence => {
    const type = RDS_TYPE[kind];
    return {
      kind,
      identifier,
      arn: arn ?? (type ? rdsArn(plan, type, identifier) : null),
      action,
      at,
      detail,
    };
  };
  const key = (keyArn: string, action: ResourceAction, detail: string) =>
    resource('kms-key', keyArn.split('/').pop() ?? keyArn, action, detail, keyArn);
  return { resource, key };
};

const factResources = (fact: RollbackFact, plan: RotationPlan, at: string | null): ResourceEvidence[] => {
  const { resource, key } = resourcesOf(plan, at);
  const source: Kind = namesOfKind(plan.kind).resource;
  switch (fact.kind) {
    case 'source-started':
      return [resource(source, fact.identifier, 'started', `started again ${BY_ROLLBACK}`)];
    case 'deletion-protection-restored':
      return [
        resource(source, fact.identifier, 'changed', `deletion protection turned on again ${BY_ROLLBACK}`),
      ];
    case 'renamed-back': {
      const which = fact.which === 'new' ? 'the new database' : 'the source';
      return [
        {
          ...resource(
            fact.resource,
            fact.from,
            'renamed',
            `${which} renamed back to ${fact.to} ${BY_ROLLBACK}`,
          ),
          arn: null,
        },
      ];
    }
    case 'source-left-aside':
      return [
        resource(
          'db-instance',
          fact.identifier,
          'retained',
          `the source, left under this name: ${fact.original} names another DB instance (rename it back by hand)`,
        ),
      ];
    case 'record-pointed-back':
      return [
        resource('dns-record', fact.recordName, 'changed', `pointed back at ${fact.value} ${BY_ROLLBACK}`),
      ];
    case 'deleted':
      return [
        resource(
          fact.resource,
          fact.identifier,
          'deleted',
          `created by this rotation, deleted ${BY_ROLLBACK} before any client used it`,
        ),
      ];
    case 'blue-green-deleted':
      return [
        ...(fact.deploymentName
          ? [
              resource(
                'blue-green-deployment',
                fact.deploymentName,
                'deleted',
                `deleted ${BY_ROLLBACK}, with its green resources`,
              ),
            ]
          : []),
        ...fact.greenIdentifiers.map((id) =>
          resource(source, id, 'deleted', `green resource, deleted ${BY_ROLLBACK}`),
        ),
      ];
    case 'key-scheduled-for-deletion':
      return [
        key(
          fact.keyArn,
          'scheduled-for-deletion',
          `the unused new key, scheduled for deletion ${BY_ROLLBACK}: KMS deletes it on ${fact.deletionDate ?? `the end of its ${fact.windowDays}-day waiting period`}`,
        ),
      ];
    case 'key-not-scheduled':
      return [
        key(
          fact.keyArn,
          'retained',
          `the unused new key: the rollback could not schedule its deletion (${fact.errorName}); schedule it by hand`,
        ),
      ];
  }
};

const leftResource = (left: LeftResource, plan: RotationPlan, at: string | null): ResourceEvidence => {
  const { resource, key } = resourcesOf(plan, at);
  switch (left.kind) {
    case 'kms-key':
      return key(left.keyArn, 'retained', `${left.alias}: ${LEFT}`);
    case 'blue-green-deployment':
      return resource(
        'blue-green-deployment',
        left.identifier,
        'retained',
        left.afterSwitchover ? `${LEFT}; after the switchover, delete it without --delete-target` : LEFT,
      );
    case 'green':
      return resource(left.resource, left.identifier, 'retained', `green resource, ${LEFT}`);
    case 'old-blue':
      return resource(
        left.resource,
        left.identifier,
        'retained',
        `old blue resource (${left.status}, under the OLD key), ${LEFT}`,
      );
    default:
      return resource(left.kind, left.identifier, 'retained', LEFT);
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
