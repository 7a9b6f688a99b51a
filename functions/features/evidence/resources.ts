import { namesOfKind } from '#domain/kinds.js';
import type { RotationPlan } from '#domain/plan.js';
import { type AddResource, type EvidenceState, rdsArn, type StepTime } from './context.js';
import { addBlueGreenResources, addCutoverResources } from './cutover-resources.js';
import { addNewKeyResources, addOldKeyResources } from './key-lifecycle.js';
import { copyDetail, copyWasMade, restoredDetail, sourceSnapshotDetail } from './new-key-claims.js';
import { addRollbackResources } from './rollback-resources.js';
import type { ResourceEvidence, StepEvidence } from './schema.js';

/**
 * Every resource the rotation created, changed or deleted, in the order it touched them, from the
 * state (with the time of the step that acted, from the steps); and the names CloudTrail is asked
 * about. Pure.
 */

export const deriveResources = (state: EvidenceState, steps: StepEvidence[]): ResourceEvidence[] => {
  const plan = state.plan as RotationPlan | undefined;
  if (!plan) return [];
  const stepAt: StepTime = (...names) => {
    for (const name of names) {
      const step = steps.find((s) => s.name === name);
      if (step) return step.finishedAt ?? step.startedAt;
    }
    return null;
  };
  const resources: ResourceEvidence[] = [];
  const add: AddResource = (resource) => resources.push(resource);
  const kind = namesOfKind(plan.kind);
  const sourceKind = kind.resource;
  const sourceArn = rdsArn(plan, kind.arnType, plan.target.identifier);
  const sourceId = plan.target.identifier;

  addNewKeyResources(state, plan, add, stepAt);

  const { freeze } = state;
  if (freeze) {
    const at = stepAt('StopSource');
    if (freeze.deletionProtectionLifted) {
      add({
        kind: sourceKind,
        identifier: sourceId,
        arn: sourceArn,
        action: 'changed',
        at,
        detail: 'deletion protection lifted (to delete it after the cutover)',
      });
    }
    if (freeze.movedAside || freeze.renamedAside) {
      const aside =
        plan.cutover.type === 'rename' ? plan.cutover.asideIdentifier : plan.names.asideDbInstanceIdentifier;
      add({
        kind: sourceKind,
        identifier: sourceId,
        arn: sourceArn,
        action: 'renamed',
        at,
        detail: `renamed to ${aside}`,
      });
    }
    if (freeze.stoppedByRekey) {
      add({
        kind: sourceKind,
        identifier: sourceId,
        arn: sourceArn,
        action: 'stopped',
        at,
        detail: 'stopped to freeze writes before the snapshot',
      });
    }
  }

  for (const [key, step] of [
    ['sourceSnapshot', 'SnapshotSource'],
    ['copySnapshot', 'CopySnapshot'],
  ] as const) {
    const snapshot = state[key];
    if (!snapshot) continue;
    // A cluster's CopySnapshot (of an earlier definition) that copied nothing created nothing.
    if (key === 'copySnapshot' && !copyWasMade(state)) continue;
    add({
      kind: kind.snapshotResource,
      identifier: snapshot.snapshotIdentifier,
      arn: snapshot.snapshotArn ?? rdsArn(plan, kind.snapshotArnType, snapshot.snapshotIdentifier),
      action: 'created',
      at: stepAt(step),
      detail: key === 'sourceSnapshot' ? sourceSnapshotDetail(snapshot.kmsKeyId) : copyDetail(state),
    });
  }

  const { restore, configure } = state;
  if (restore) {
    const at = stepAt('RestoreInstance');
    // The new database, then (Aurora) the members created in it.
    const id = restore.dbClusterIdentifier ?? restore.dbInstanceIdentifier;
    const newDatabase = {
      kind: kind.resource,
      identifier: id,
      arn: restore.dbInstanceArn ?? rdsArn(plan, kind.arnType, id),
    };
    add({ ...newDatabase, action: 'created', at, detail: restoredDetail(state) });
    for (const member of restore.members ?? []) {
      add({
        kind: 'db-instance',
        identifier: member.dbInstanceIdentifier,
        arn: rdsArn(plan, 'db', member.dbInstanceIdentifier),
        action: 'created',
        at,
        detail: `${member.isWriter ? 'writer' : 'reader'} member of ${id}, for ${member.sourceDbInstanceIdentifier}`,
      });
    }
    if (configure && (configure.applied.length > 0 || configure.rebooted)) {
      add({
        ...newDatabase,
        action: 'changed',
        at: stepAt('ConfigureInstance'),
        detail: `applied after the restore: ${configure.applied.join(', ') || 'nothing'}${configure.rebooted ? '; rebooted' : ''}`,
      });
    }
  }

  addCutoverResources(state, plan, add, stepAt('Cutover'));

  if (state.startSource?.started) {
    add({
      kind: sourceKind,
      identifier: sourceId,
      arn: sourceArn,
      action: 'started',
      at: stepAt('StartSource'),
      detail: 'started again: it stays in service',
    });
  }

  addBlueGreenResources(state, plan, add, stepAt);

  const retired = state.retireInstance;
  if (retired && plan.strategy?.used !== 'blue-green') {
    const renamedTo =
      state.cutover?.type === 'rename' && 'oldIdentifier' in state.cutover
        ? state.cutover.oldIdentifier
        : plan.cutover.type === 'rename'
          ? plan.cutover.asideIdentifier
          : sourceId;
    add({
      kind: sourceKind,
      identifier: renamedTo,
      arn: renamedTo === sourceId ? sourceArn : rdsArn(plan, kind.arnType, renamedTo),
      action: retired.outcome === 'deleted' ? 'deleted' : 'retained',
      at: stepAt('RetireInstance'),
      detail:
        retired.outcome === 'deleted'
          ? 'the old database, after the verified cutover'
          : (retired.reason ?? null),
    });
  }

  addOldKeyResources(state, plan, add, stepAt);
  addRollbackResources(state, plan, add, stepAt);
  return resources;
};

/**
 * The names CloudTrail's LookupEvents is asked about (LookupAttributes ResourceName): the keys (by
 * ARN, as KMS events name them), and every database, snapshot and deployment of the rotation.
 */
export const resourceNamesOf = (state: EvidenceState, resources: ResourceEvidence[]): string[] => {
  const plan = state.plan as RotationPlan | undefined;
  const names = new Set<string>();
  if (plan?.source?.kmsKeyArn) names.add(plan.source.kmsKeyArn);
  if (state.newKey?.keyArn) names.add(state.newKey.keyArn);
  if (plan?.target?.identifier) names.add(plan.target.identifier);
  for (const resource of resources) {
    if (resource.kind === 'kms-alias' || resource.kind === 'dns-record') continue;
    names.add(resource.kind === 'kms-key' ? (resource.arn ?? resource.identifier) : resource.identifier);
  }
  return [...names];
};
