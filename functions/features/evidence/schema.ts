import type { LeftResource, RollbackFact } from '#domain/facts.js';

/**
 * The evidence record: one JSON document per rotation, written to the evidence bucket at the end
 * of every execution (success or failure), and what `rekey report` and `rekey history` read.
 * Compliance reviewers read it months later, after Step Functions has forgotten the execution.
 *
 * Versioned: `schemaVersion` changes whenever a field changes meaning or is removed. Adding an
 * optional field keeps the version. Timestamps are ISO 8601 in UTC; ARNs are full ARNs.
 */
export const EVIDENCE_SCHEMA_VERSION = 'rekey.evidence/v1';

/** Where records go in the bucket: newest first is the reverse order of `startedAt` within a target. */
export const evidenceKey = (target: string, startedAt: string, rotationId: string): string =>
  `rotations/${target.toLowerCase()}/${startedAt}-${rotationId}.json`;

/** The folder of a refused start's record (`refusedEvidenceKey`): apart from the rotations. */
export const REFUSED_PREFIX = 'refused/';
/** The target folder of a refused start whose input named no usable database identifier. */
export const REFUSED_NO_TARGET = '_no-target';

/**
 * A refused start (bad input, preflight said no, another rotation held the lock: nothing was
 * changed) keeps its record, under `refused/` rather than `rotations/`. The identifier comes from an
 * input that was refused, so only one shaped like an RDS identifier names the folder.
 */
export const refusedEvidenceKey = (target: string | null, startedAt: string, rotationId: string): string => {
  const folder =
    target && /^[A-Za-z][A-Za-z0-9-]{0,62}$/.test(target) ? target.toLowerCase() : REFUSED_NO_TARGET;
  return `${REFUSED_PREFIX}${folder}/${startedAt}-${rotationId}.json`;
};

/**
 * SUCCEEDED, FAILED and SKIPPED are written by the state machine's own RecordEvidence states.
 * ABORTED (someone ran StopExecution) and TIMED_OUT (the execution timeout) run no further state:
 * their record is written from the EventBridge status-change event and the execution history.
 */
export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'ABORTED' | 'TIMED_OUT';

/** The statuses of an execution that stopped without running any further state (no rollback). */
export type StoppedExecutionStatus = Extract<ExecutionStatus, 'ABORTED' | 'TIMED_OUT'>;

export interface KeyEvidence {
  arn: string;
  alias: string | null;
  keyManager: 'CUSTOMER' | 'AWS' | string;
  /** At the time the record was written, e.g. `Enabled` or `PendingDeletion`. */
  keyState: string | null;
  creationDate: string | null;
  /** When KMS deletes it (PendingDeletion only). */
  deletionDate: string | null;
  pendingWindowDays: number | null;
  description: string | null;
}

export type ResourceAction =
  | 'created'
  | 'changed'
  | 'renamed'
  | 'stopped'
  | 'started'
  | 'deleted'
  | 'scheduled-for-deletion'
  | 'retained';

export interface ResourceEvidence {
  kind:
    | 'db-instance'
    | 'db-cluster'
    | 'db-snapshot'
    | 'db-cluster-snapshot'
    | 'kms-key'
    | 'kms-alias'
    | 'blue-green-deployment'
    | 'dns-record';
  identifier: string;
  arn: string | null;
  action: ResourceAction;
  /** When it happened, from the execution history (the step that did it), when known. */
  at: string | null;
  /** One sentence: what changed, e.g. "deletion protection lifted" or "renamed to orders-db-old-rk…". */
  detail: string | null;
}

export interface StepEvidence {
  /** The state name, e.g. `CopySnapshot`. */
  name: string;
  startedAt: string;
  finishedAt: string | null;
  /** From first entry to last exit, waits included. */
  durationMs: number | null;
  /** Task invocations (polls and retries included). */
  invocations: number;
  /** Seconds spent in this step's Wait states. */
  waitedSeconds: number;
  outcome: 'succeeded' | 'failed' | 'running';
}

export interface HistoryEventEvidence {
  id: number;
  timestamp: string;
  type: string;
  stateName: string | null;
  /** Error name and cause for failure events, otherwise null. */
  detail: string | null;
}

export interface CloudTrailEventEvidence {
  eventId: string;
  eventTime: string;
  eventName: string;
  eventSource: string;
  username: string | null;
  resources: string[];
}

export interface EvidenceRecord {
  schemaVersion: typeof EVIDENCE_SCHEMA_VERSION;
  rotationId: string;
  generatedAt: string;
  execution: {
    arn: string;
    name: string;
    stateMachineArn: string | null;
    /** The Step Functions console page of the execution (kept 90 days after it closes). */
    consoleUrl: string | null;
    startedAt: string;
    finishedAt: string;
    status: ExecutionStatus;
    error: string | null;
    cause: string | null;
  };
  /**
   * Who started the execution: CloudTrail's StartExecution event when available; for a local run
   * against AWS, the caller identity (`sts:GetCallerIdentity`) of whoever ran it; for a local run
   * against an emulator, no identity (`emulator`). The last two values were added within v1.
   */
  startedBy: {
    principal: string | null;
    source: 'cloudtrail' | 'sts:GetCallerIdentity' | 'emulator' | 'unknown';
    /** `requestedBy` from the input, as the caller stated it (not authenticated). */
    requestedBy: string | null;
    sourceIpAddress: string | null;
    userAgent: string | null;
  };
  /** The execution input, as given. */
  input: unknown;
  reason: string | null;
  target: { kind: 'instance' | 'cluster'; identifier: string; region: string; accountId: string } | null;
  strategy: { requested: string; used: string; reason: string } | null;
  keys: { old: KeyEvidence | null; new: KeyEvidence | null };
  resources: ResourceEvidence[];
  validation: {
    passed: boolean;
    checkedAt: string | null;
    expectedKeyArn: string | null;
    actualKeyArn: string | null;
    /** Configuration parity: one entry per field that differs (empty when equal). */
    differences: { field: string; source: unknown; target: unknown }[];
    /** Added within v1: a failed validation's keys found on the new resources, other than the new key. */
    foundKeyArns?: string[];
  } | null;
  cutover: {
    type: 'cname' | 'rename' | 'switchover' | 'none';
    /** What clients used before and after: a record value, an endpoint. */
    before: string | null;
    after: string | null;
    verified: boolean;
    detail: string | null;
  } | null;
  oldKeyOutcome: {
    state: 'PendingDeletion' | 'Retained' | 'Untouched';
    deletionDate: string | null;
    reason: string | null;
  };
  steps: StepEvidence[];
  history: {
    source: 'states:GetExecutionHistory' | 'local-runner' | 'unavailable';
    events: HistoryEventEvidence[];
    truncated: boolean;
  };
  cloudTrail: {
    available: boolean;
    /** Why not, when not available (e.g. "LookupEvents answered HTTP 500"). */
    reason: string | null;
    /** The resource names looked up (LookupAttributes ResourceName). */
    lookedUp: string[];
    events: CloudTrailEventEvidence[];
  };
  /** `facts` and `left` (the rollback's typed facts) were added within v1. */
  rollback: { undone: string[]; leftBehind: string[]; facts?: RollbackFact[]; left?: LeftResource[] } | null;
  notes: string[];
  /** Added within v1 (absent from older records): the approval gate's decision. */
  approval?: ApprovalEvidence | null;
  /** Added within v1 (absent from older records): where the execution ran. */
  environment?: EnvironmentEvidence;
  /** Added within v1 (absent from older records): a start refused before anything changed. */
  refused?: boolean;
  /**
   * Added within v1 (absent from older records): how the snapshot path moved the data to the new
   * key; null for a Blue/Green rotation and before a plan.
   */
  reencryption?: ReencryptionEvidence | null;
}

/**
 * How the data reached the new key on the snapshot path. `snapshot-copy` (a DB instance):
 * CopySnapshot copied the source snapshot with KmsKeyId = the new key and the new database was
 * restored from that copy. `restore` (an Aurora cluster): the new cluster was restored straight
 * from the source snapshot with KmsKeyId = the new key, which re-encrypts; no copy was made.
 */
export interface ReencryptionEvidence {
  method: 'snapshot-copy' | 'restore';
  /** The snapshot the new database is restored from. */
  restoredFrom: string;
  /** The re-encrypting copy; null when the restore re-encrypted (no copy). */
  copySnapshotIdentifier: string | null;
  /** One sentence, as the report shows it. */
  detail: string;
}

/**
 * The approval gate (WaitForApproval): who decided, when, what and why. `by` is the name the
 * approver's command sent (`rekey approve --by`, default the OS user), not an authenticated
 * identity: the IAM caller of SendTaskSuccess / SendTaskFailure is in CloudTrail.
 */
export interface ApprovalEvidence {
  /** `rejected` and `timed-out` end in the rollback; `undecided`: stopped while waiting; `not-reached`: ended before the gate. */
  decision: 'approved' | 'rejected' | 'timed-out' | 'undecided' | 'not-reached';
  by: string | null;
  /** When the decision was made (the command's time, else when the gate's step ended). */
  at: string | null;
  /** The rejection's reason, or for a timeout what happened. */
  reason: string | null;
  /** How long the gate waited at most. */
  timeoutSeconds: number | null;
}

/**
 * Where the execution ran: the deployed state machine (`step-functions`) or the local runner
 * (`rekey run`, `npm start`: aws-local-stepfunctions in the operator's process), against AWS or an
 * emulator (`endpoint` then names it). A record made on an emulator proves nothing about AWS.
 */
export interface EnvironmentEvidence {
  runner: 'step-functions' | 'local';
  services: 'aws' | 'emulator';
  endpoint: string | null;
}
