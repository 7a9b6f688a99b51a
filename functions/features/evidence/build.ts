import { rotationIdFor } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { ClusterCutoverResult, FailureInfo, RetireBlueResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import {
  type CloudTrailEventEvidence,
  EVIDENCE_SCHEMA_VERSION,
  type EvidenceRecord,
  type ExecutionStatus,
  type HistoryEventEvidence,
  type KeyEvidence,
  type ResourceEvidence,
  type StepEvidence,
  type StoppedExecutionStatus,
} from './schema.js';

/**
 * The evidence record, built from what the execution already knows (its state), its history
 * events, what CloudTrail said and the keys as KMS describes them now. Pure: no AWS call, no clock
 * (the caller passes `now`), so every field can be tested from fixtures.
 */

/** The execution state as RecordEvidence receives it: every path's state, complete or not. */
export type EvidenceState = Partial<RotationState> & {
  input?: unknown;
  /** The summary (success path: Summarize's ResultPath). */
  output?: unknown;
  /** The rollback itself failed (RollbackFailed Pass: `{ cause }`). */
  rollbackFailure?: { cause?: string; Cause?: string; Error?: string };
};

/** `$$.Execution` as Step Functions passes it. */
export interface ExecutionContext {
  Id: string;
  Name?: string;
  StartTime: string;
}

export interface HistoryInput {
  source: EvidenceRecord['history']['source'];
  events: HistoryEventEvidence[];
  truncated: boolean;
}

export interface CloudTrailInput {
  available: boolean;
  reason: string | null;
  lookedUp: string[];
  events: CloudTrailEventEvidence[];
  /** The StartExecution event of this execution, when found. */
  startedBy: { principal: string; sourceIpAddress: string | null; userAgent: string | null } | null;
  /** E.g. "ResourceName orders-db: stopped after 5 pages". */
  notes: string[];
}

/**
 * An execution that was aborted (StopExecution) or timed out: no state ran after it, so the record
 * is written from the EventBridge status-change event, with the state rebuilt from the history.
 */
export interface StoppedExecution {
  status: StoppedExecutionStatus;
  /** From the event or the ExecutionAborted/ExecutionTimedOut history event (null when none was given). */
  error: string | null;
  cause: string | null;
  /** When Step Functions stopped it (the event's stopDate), ISO 8601. */
  stoppedAt: string | null;
  /** The state it was in (the last state entered), null when it stopped before the first state. */
  lastState: string | null;
}

export interface BuildEvidenceOptions {
  state: EvidenceState;
  execution: ExecutionContext;
  history: HistoryInput;
  cloudTrail: CloudTrailInput;
  keys: { old: KeyEvidence | null; new: KeyEvidence | null };
  now: Date;
  /** Set for an ABORTED or TIMED_OUT execution: its status, error and cause replace the state's. */
  stopped?: StoppedExecution;
}

// ---------------------------------------------------------------------------------------------
// Execution ARN, target, status
// ---------------------------------------------------------------------------------------------

interface ParsedExecutionArn {
  partition: string;
  region: string;
  accountId: string;
  stateMachineName: string;
  name: string;
}

/** `arn:aws:states:us-east-1:123456789012:execution:<machine>:<name>`. */
export const parseExecutionArn = (arn: string): ParsedExecutionArn | null => {
  const match = /^arn:([\w-]+):states:([\w-]+):(\d{12}):execution:([^:]+):([^:]+)$/.exec(arn);
  if (!match) return null;
  const [, partition, region, accountId, stateMachineName, name] = match as unknown as string[];
  return {
    partition: partition as string,
    region: region as string,
    accountId: accountId as string,
    stateMachineName: stateMachineName as string,
    name: name as string,
  };
};

const plainObject = (value: unknown): Record<string, unknown> | null =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** What the record is about: the plan's target, or (a refusal before the plan) the input's identifier. */
const targetOf = (state: EvidenceState, parsed: ParsedExecutionArn | null): EvidenceRecord['target'] => {
  const plan = state.plan as RotationPlan | undefined;
  if (plan?.target) {
    return {
      kind: plan.target.kind,
      identifier: plan.target.identifier,
      region: plan.region,
      accountId: plan.accountId,
    };
  }
  const input = plainObject(state.input);
  const cluster = stringOrNull(input?.dbClusterIdentifier);
  const instance = stringOrNull(input?.dbInstanceIdentifier);
  if (!cluster && !instance) return null;
  return {
    kind: cluster ? 'cluster' : 'instance',
    identifier: (cluster ?? instance) as string,
    region: parsed?.region ?? '',
    accountId: parsed?.accountId ?? '',
  };
};

/** The rotation id: the plan's, else derived from the execution ARN exactly as preflight derives it. */
export const rotationIdOf = (state: EvidenceState, executionArn: string): string =>
  (state.plan as RotationPlan | undefined)?.rotationId ?? rotationIdFor(executionArn);

/** The identifier that names the record's key in the bucket (lower-cased by `evidenceKey`). */
export const evidenceTargetName = (state: EvidenceState): string =>
  targetOf(state, null)?.identifier ?? 'unknown-target';

const statusOf = (state: EvidenceState): ExecutionStatus => {
  if (state.failure || state.rollbackFailure) return 'FAILED';
  if (!state.plan && typeof state.start?.duplicateOf === 'string') return 'SKIPPED';
  if (state.lock && state.lock.acquired === false) return 'SKIPPED';
  return 'SUCCEEDED';
};

/** Error and cause as the Fail state reports them (RotationFailed, RollbackIncomplete). */
const errorAndCause = (state: EvidenceState): { error: string | null; cause: string | null } => {
  if (state.rollbackFailure) {
    return {
      error: 'RollbackFailedError',
      cause: state.rollbackFailure.cause ?? state.rollbackFailure.Cause ?? null,
    };
  }
  const failure = state.failure as FailureInfo | undefined;
  if (!failure) return { error: null, cause: null };
  return { error: failure.Error, cause: state.rollback?.cause ?? failure.Cause ?? null };
};

// ---------------------------------------------------------------------------------------------
// Steps, from the history events
// ---------------------------------------------------------------------------------------------

const INVOCATION = /^(LambdaFunction|Task)Scheduled$/;
const INVOCATION_SUCCEEDED = /^(LambdaFunction|Task)Succeeded$/;
const INVOCATION_FAILED = /^(LambdaFunction|Task)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$/;

/**
 * One entry per Task state, in the order first entered: from its first entry to its last exit
 * (waits included), the invocations (polls and retries), and the seconds its loop's Wait states
 * slept. A Wait state counts for the Task entered last before it (the loops are Task -> Choice ->
 * Wait -> Task). Events after the last exit of a Task that failed are what its Catch did.
 */
export const deriveSteps = (events: HistoryEventEvidence[]): StepEvidence[] => {
  interface Acc {
    step: StepEvidence;
    open: boolean;
    lastInvocation: 'succeeded' | 'failed' | 'none';
  }
  const steps = new Map<string, Acc>();
  let currentTask: string | null = null;
  const waitEntered = new Map<string, number>();
  const time = (event: HistoryEventEvidence) => Date.parse(event.timestamp);

  for (const event of events) {
    const name = event.stateName;
    if (event.type === 'TaskStateEntered' && name) {
      currentTask = name;
      const acc = steps.get(name);
      if (!acc) {
        steps.set(name, {
          step: {
            name,
            startedAt: event.timestamp,
            finishedAt: null,
            durationMs: null,
            invocations: 0,
            waitedSeconds: 0,
            outcome: 'running',
          },
          open: true,
          lastInvocation: 'none',
        });
      } else {
        acc.open = true;
      }
      continue;
    }
    const acc = currentTask ? steps.get(currentTask) : undefined;
    if (INVOCATION.test(event.type) && acc) {
      acc.step.invocations += 1;
    } else if (INVOCATION_SUCCEEDED.test(event.type) && acc) {
      acc.lastInvocation = 'succeeded';
    } else if (INVOCATION_FAILED.test(event.type) && acc) {
      acc.lastInvocation = 'failed';
      // Until a retry schedules it again or the Catch moves on, the step ended here.
      acc.step.finishedAt = event.timestamp;
      acc.step.outcome = 'failed';
    } else if (event.type === 'TaskStateExited' && name && steps.has(name)) {
      const exited = steps.get(name) as Acc;
      exited.open = false;
      exited.step.finishedAt = event.timestamp;
      exited.step.outcome = exited.lastInvocation === 'failed' ? 'failed' : 'succeeded';
    } else if (event.type === 'WaitStateEntered' && name) {
      waitEntered.set(name, time(event));
    } else if (event.type === 'WaitStateExited' && name && acc) {
      const entered = waitEntered.get(name);
      if (entered !== undefined) acc.step.waitedSeconds += Math.max(0, (time(event) - entered) / 1000);
      waitEntered.delete(name);
    }
  }

  return [...steps.values()].map(({ step, open, lastInvocation }) => {
    const outcome: StepEvidence['outcome'] =
      lastInvocation === 'failed' ? 'failed' : open ? 'running' : step.outcome;
    const finishedAt = outcome === 'running' ? null : step.finishedAt;
    return {
      ...step,
      outcome,
      finishedAt,
      durationMs: finishedAt ? Date.parse(finishedAt) - Date.parse(step.startedAt) : null,
      waitedSeconds: Math.round(step.waitedSeconds * 1000) / 1000,
    };
  });
};

// ---------------------------------------------------------------------------------------------
// Resources, from the state (with the time of the step that acted, from the steps)
// ---------------------------------------------------------------------------------------------

const rdsArn = (plan: RotationPlan, type: 'db' | 'cluster' | 'snapshot' | 'cluster-snapshot', id: string) =>
  `arn:${plan.partition}:rds:${plan.region}:${plan.accountId}:${type}:${id}`;

export const deriveResources = (state: EvidenceState, steps: StepEvidence[]): ResourceEvidence[] => {
  const plan = state.plan as RotationPlan | undefined;
  if (!plan) return [];
  const stepAt = (...names: string[]): string | null => {
    for (const name of names) {
      const step = steps.find((s) => s.name === name);
      if (step) return step.finishedAt ?? step.startedAt;
    }
    return null;
  };
  const resources: ResourceEvidence[] = [];
  const add = (resource: ResourceEvidence) => resources.push(resource);
  const cluster = plan.kind === 'cluster';
  const sourceKind = cluster ? 'db-cluster' : 'db-instance';
  const sourceArn = cluster ? plan.source.dbClusterArn : plan.source.dbInstanceArn;
  const sourceId = plan.target.identifier;

  const { newKey, freeze } = state;
  if (newKey) {
    add({
      kind: 'kms-key',
      identifier: newKey.keyId,
      arn: newKey.keyArn,
      action: 'created',
      at: stepAt('CreateKey'),
      detail: newKey.created
        ? `new customer-managed key, alias ${newKey.alias}`
        : `new customer-managed key, alias ${newKey.alias} (found: an earlier attempt of this rotation created it)`,
    });
    add({
      kind: 'kms-alias',
      identifier: newKey.alias,
      arn: `arn:${plan.partition}:kms:${plan.region}:${plan.accountId}:${newKey.alias}`,
      action: 'created',
      at: stepAt('CreateKey'),
      detail: `points at ${newKey.keyArn}`,
    });
  }

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

  for (const [key, step, what] of [
    ['sourceSnapshot', 'SnapshotSource', 'snapshot of the source, under the old key'],
    ['copySnapshot', 'CopySnapshot', 'copy of the source snapshot, re-encrypted under the new key'],
  ] as const) {
    const snapshot = state[key];
    if (!snapshot) continue;
    add({
      kind: cluster ? 'db-cluster-snapshot' : 'db-snapshot',
      identifier: snapshot.snapshotIdentifier,
      arn:
        snapshot.snapshotArn ??
        rdsArn(plan, cluster ? 'cluster-snapshot' : 'snapshot', snapshot.snapshotIdentifier),
      action: 'created',
      at: stepAt(step),
      detail: `${what}${snapshot.kmsKeyId ? ` (key ${snapshot.kmsKeyId})` : ''}`,
    });
  }

  const { restore, configure } = state;
  if (restore) {
    const at = stepAt('RestoreInstance');
    if (cluster) {
      const id = restore.dbClusterIdentifier ?? restore.dbInstanceIdentifier;
      add({
        kind: 'db-cluster',
        identifier: id,
        arn: restore.dbInstanceArn ?? rdsArn(plan, 'cluster', id),
        action: 'created',
        at,
        detail: 'restored from the re-encrypted snapshot, under the new key',
      });
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
    } else {
      add({
        kind: 'db-instance',
        identifier: restore.dbInstanceIdentifier,
        arn: restore.dbInstanceArn ?? rdsArn(plan, 'db', restore.dbInstanceIdentifier),
        action: 'created',
        at,
        detail: 'restored from the re-encrypted snapshot, under the new key',
      });
    }
    if (configure && (configure.applied.length > 0 || configure.rebooted)) {
      const id = restore.dbClusterIdentifier ?? restore.dbInstanceIdentifier;
      add({
        kind: cluster ? 'db-cluster' : 'db-instance',
        identifier: id,
        arn: restore.dbInstanceArn ?? rdsArn(plan, cluster ? 'cluster' : 'db', id),
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
      arn: renamedTo === sourceId ? sourceArn : rdsArn(plan, cluster ? 'cluster' : 'db', renamedTo),
      action: retired.outcome === 'deleted' ? 'deleted' : 'retained',
      at: stepAt('RetireInstance'),
      detail:
        retired.outcome === 'deleted'
          ? 'the old database, after the verified cutover'
          : (retired.reason ?? null),
    });
  }

  const oldKey = state.oldKey;
  if (oldKey) {
    const at = stepAt('RetireKey');
    if (oldKey.state === 'PendingDeletion') {
      if (state.sourceSnapshot) {
        add({
          kind: cluster ? 'db-cluster-snapshot' : 'db-snapshot',
          identifier: state.sourceSnapshot.snapshotIdentifier,
          arn:
            state.sourceSnapshot.snapshotArn ??
            rdsArn(plan, cluster ? 'cluster-snapshot' : 'snapshot', state.sourceSnapshot.snapshotIdentifier),
          action: 'deleted',
          at,
          detail: 'the last thing encrypted under the old key, deleted before its deletion was scheduled',
        });
      }
      add({
        kind: 'kms-key',
        identifier: oldKey.keyArn.split('/').pop() ?? oldKey.keyArn,
        arn: oldKey.keyArn,
        action: 'scheduled-for-deletion',
        at,
        detail: `KMS deletes it on ${oldKey.deletionDate} (waiting period ${oldKey.pendingWindowDays} days)`,
      });
    } else {
      add({
        kind: 'kms-key',
        identifier: oldKey.keyArn.split('/').pop() ?? oldKey.keyArn,
        arn: oldKey.keyArn,
        action: 'retained',
        at,
        detail: oldKey.reason,
      });
    }
  }
  return resources;
};

const addCutoverResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: (resource: ResourceEvidence) => void,
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
    const cluster = plan.kind === 'cluster';
    const kind = cluster ? 'db-cluster' : 'db-instance';
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

const addBlueGreenResources = (
  state: EvidenceState,
  plan: RotationPlan,
  add: (resource: ResourceEvidence) => void,
  stepAt: (...names: string[]) => string | null,
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
    detail: `${green.deploymentName}: green resources under the new key`,
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
        kind: plan.kind === 'cluster' ? 'db-cluster' : 'db-instance',
        identifier: id,
        arn: null,
        action: 'deleted',
        at,
        detail: 'old blue resource, after the switchover',
      });
    }
    for (const id of retired.retained ?? []) {
      add({
        kind: plan.kind === 'cluster' ? 'db-cluster' : 'db-instance',
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

// ---------------------------------------------------------------------------------------------
// Validation, cutover, old key
// ---------------------------------------------------------------------------------------------

const validationOf = (state: EvidenceState): EvidenceRecord['validation'] => {
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
    return { passed: false, checkedAt: null, expectedKeyArn, actualKeyArn: null, differences: [] };
  }
  return null;
};

const cutoverOf = (state: EvidenceState): EvidenceRecord['cutover'] => {
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

const oldKeyOutcomeOf = (state: EvidenceState, status: ExecutionStatus): EvidenceRecord['oldKeyOutcome'] => {
  const oldKey = state.oldKey;
  if (oldKey?.state === 'PendingDeletion') {
    return { state: 'PendingDeletion', deletionDate: oldKey.deletionDate, reason: null };
  }
  if (oldKey?.state === 'Retained') return { state: 'Retained', deletionDate: null, reason: oldKey.reason };
  const reasons: Partial<Record<ExecutionStatus, string>> = {
    SKIPPED: 'duplicate start: this execution did nothing',
    FAILED:
      'the rotation failed before RetireKey: the old key was not touched (the rollback never touches it)',
    ABORTED:
      'the execution was stopped before RetireKey finished: Rekey did not schedule its deletion (keys.old.keyState is what KMS says now)',
    TIMED_OUT:
      'the execution timed out before RetireKey finished: Rekey did not schedule its deletion (keys.old.keyState is what KMS says now)',
  };
  return { state: 'Untouched', deletionDate: null, reason: reasons[status] ?? null };
};

// ---------------------------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------------------------

export const consoleUrlOf = (executionArn: string): string | null => {
  const parsed = parseExecutionArn(executionArn);
  if (!parsed || parsed.accountId === '000000000000') return null;
  const host =
    parsed.partition === 'aws' ? 'console.aws.amazon.com' : `console.${parsed.partition}.amazonaws.com`;
  return `https://${parsed.region}.${host}/states/home?region=${parsed.region}#/v2/executions/details/${executionArn}`;
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

export const buildEvidence = (options: BuildEvidenceOptions): EvidenceRecord => {
  const { state, execution, history, cloudTrail, keys, now, stopped } = options;
  const parsed = parseExecutionArn(execution.Id);
  const plan = state.plan as RotationPlan | undefined;
  const status = stopped?.status ?? statusOf(state);
  const { error, cause } = stopped ? { error: stopped.error, cause: stopped.cause } : errorAndCause(state);
  const steps = deriveSteps(history.events);
  const input = plainObject(state.input);
  const notes: string[] = [...(plan?.decisions?.notes ?? [])];
  if (stopped) notes.push(stoppedNote(state, stopped));
  if (status === 'SKIPPED') {
    notes.push(state.start?.skipped ?? state.lock?.skipped ?? 'Duplicate start: nothing was done.');
  }
  if (state.lockReleaseError) {
    notes.push(
      `The rotation lock could not be released (${state.lockReleaseError.Error}); it expires by itself.`,
    );
  }
  if (history.source === 'unavailable') {
    notes.push('The execution history could not be read: steps and history events are missing.');
  }
  if (history.source === 'local-runner') {
    notes.push(
      'Run locally (aws-local-stepfunctions): history events are the local runner’s, not Step Functions’.',
    );
  }
  if (history.truncated) notes.push('The execution history was truncated.');
  notes.push(...cloudTrail.notes);
  if (cloudTrail.available) {
    notes.push(
      'CloudTrail delivers events within about 5 minutes of the call: calls of the last steps may be missing from cloudTrail.events; look them up by the resource names in cloudTrail.lookedUp (90 days of event history, longer in a trail).',
    );
  }

  const record: EvidenceRecord = {
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    rotationId: rotationIdOf(state, execution.Id),
    generatedAt: now.toISOString(),
    execution: {
      arn: execution.Id,
      name: execution.Name ?? parsed?.name ?? execution.Id,
      stateMachineArn: parsed
        ? `arn:${parsed.partition}:states:${parsed.region}:${parsed.accountId}:stateMachine:${parsed.stateMachineName}`
        : null,
      consoleUrl: history.source === 'local-runner' ? null : consoleUrlOf(execution.Id),
      startedAt: execution.StartTime,
      finishedAt: stopped?.stoppedAt ?? now.toISOString(),
      status,
      error,
      cause,
    },
    startedBy: {
      principal: cloudTrail.startedBy?.principal ?? null,
      source: cloudTrail.startedBy ? 'cloudtrail' : 'unknown',
      requestedBy: stringOrNull(input?.requestedBy),
      sourceIpAddress: cloudTrail.startedBy?.sourceIpAddress ?? null,
      userAgent: cloudTrail.startedBy?.userAgent ?? null,
    },
    input: state.input ?? null,
    reason: stringOrNull(input?.reason),
    target: targetOf(state, parsed),
    strategy: plan?.strategy
      ? { requested: plan.strategy.requested, used: plan.strategy.used, reason: plan.strategy.reason }
      : null,
    keys: {
      old:
        keys.old && state.oldKey?.state === 'PendingDeletion'
          ? { ...keys.old, pendingWindowDays: keys.old.pendingWindowDays ?? state.oldKey.pendingWindowDays }
          : keys.old,
      new: keys.new,
    },
    resources: deriveResources(state, steps),
    validation: validationOf(state),
    cutover: cutoverOf(state),
    oldKeyOutcome: oldKeyOutcomeOf(state, status),
    steps,
    history: { source: history.source, events: history.events, truncated: history.truncated },
    cloudTrail: {
      available: cloudTrail.available,
      reason: cloudTrail.reason,
      lookedUp: cloudTrail.lookedUp,
      events: cloudTrail.events,
    },
    rollback: state.rollback
      ? { undone: state.rollback.undone ?? [], leftBehind: state.rollback.leftBehind ?? [] }
      : null,
    notes,
  };
  return record;
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
