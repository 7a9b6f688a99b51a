import { rotationIdFor } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { FailureInfo } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import type {
  CloudTrailEventEvidence,
  EvidenceRecord,
  ExecutionStatus,
  HistoryEventEvidence,
  KeyEvidence,
  ResourceEvidence,
  StoppedExecutionStatus,
} from './schema.js';

/**
 * What the evidence record is built from (the execution's state, its history, CloudTrail, the
 * keys) and the facts every part of the record reads: the execution ARN, the target, the status.
 * Pure.
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

/**
 * A local run (`rekey run`, `npm start`): the endpoint of the emulator it ran against (null: AWS),
 * and who ran it as `sts:GetCallerIdentity` answered (against AWS only), or why that is unknown.
 */
export interface LocalRun {
  endpoint: string | null;
  caller: { arn: string; account: string | null } | { error: string } | null;
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
  /** Set for a local run (the local runner registered it): where it ran and who ran it. */
  localRun?: LocalRun;
}

export interface ParsedExecutionArn {
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

export const plainObject = (value: unknown): Record<string, unknown> | null =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

export const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** What the record is about: the plan's target, or (a refusal before the plan) the input's identifier. */
export const targetOf = (
  state: EvidenceState,
  parsed: ParsedExecutionArn | null,
): EvidenceRecord['target'] => {
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
export const evidenceTargetName = (state: EvidenceState): string | null =>
  targetOf(state, null)?.identifier ?? null;

/**
 * A start refused before anything changed: it failed before it held its lock (bad input, preflight
 * said no, another rotation holds the database), the same test the Rollback step makes.
 */
export const isRefusedStart = (state: EvidenceState): boolean =>
  Boolean(state.failure) && !state.rollbackFailure && !(state.plan && state.lock?.acquired === true);

export const statusOf = (state: EvidenceState): ExecutionStatus => {
  if (state.failure || state.rollbackFailure) return 'FAILED';
  if (!state.plan && typeof state.start?.duplicateOf === 'string') return 'SKIPPED';
  if (state.lock && state.lock.acquired === false) return 'SKIPPED';
  return 'SUCCEEDED';
};

/** Error and cause as the Fail state reports them (RotationFailed, RollbackIncomplete). */
export const errorAndCause = (state: EvidenceState): { error: string | null; cause: string | null } => {
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

export const consoleUrlOf = (executionArn: string): string | null => {
  const parsed = parseExecutionArn(executionArn);
  if (!parsed || parsed.accountId === '000000000000') return null;
  const host =
    parsed.partition === 'aws' ? 'console.aws.amazon.com' : `console.${parsed.partition}.amazonaws.com`;
  return `https://${parsed.region}.${host}/states/home?region=${parsed.region}#/v2/executions/details/${executionArn}`;
};

/** The ARN of an RDS resource of the plan's account and Region. */
export const rdsArn = (
  plan: RotationPlan,
  type: 'db' | 'cluster' | 'snapshot' | 'cluster-snapshot',
  id: string,
) => `arn:${plan.partition}:rds:${plan.region}:${plan.accountId}:${type}:${id}`;

/** The time of the first of `names` that ran (its end, else its start): when a step acted on a resource. */
export type StepTime = (...names: string[]) => string | null;

/** Appends one resource to the record's list, in the order the rotation touched them. */
export type AddResource = (resource: ResourceEvidence) => void;
