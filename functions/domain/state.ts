import type { ClusterConfig, MemberConfig } from './cluster-config.js';
import type { RotationInput, RotationTarget } from './input.js';
import type { ConfigDifference, InstanceConfig, Placement } from './instance-config.js';
import type { Poll } from './limits.js';
import type { RotationNames } from './naming.js';

/**
 * The execution state. The state machine wraps the execution input as `input`, then each step
 * writes its result under its own key (its Task's `ResultPath`). Steps receive the whole state
 * and read only what they need, so the ASL stays short and each step's contract is its type here.
 */

export interface CnameCutoverPlan {
  type: 'cname';
  hostedZoneId: string;
  recordName: string;
  ttl: number;
  /** What the record pointed at when the rotation started: the source endpoint. */
  previousValue: string;
}

export interface ClusterCnameCutoverPlan extends CnameCutoverPlan {
  /** The CNAME of the reader endpoint, when the input names one. */
  reader: { hostedZoneId: string; recordName: string; previousValue: string } | null;
}

export interface RenameCutoverPlan {
  type: 'rename';
  /** The identifier the source is renamed to, out of the way: `<id>-old-<rotation id>`. */
  asideIdentifier: string;
  /** The endpoint clients use, which the new database takes over with the original identifier. */
  endpointAddress: string;
}

export type CutoverPlan = CnameCutoverPlan | ClusterCnameCutoverPlan | RenameCutoverPlan | { type: 'none' };

/** Which strategy moves the data, and why (`auto` decides in preflight). */
export interface StrategyDecision {
  requested: 'snapshot' | 'blue-green' | 'auto';
  used: 'snapshot' | 'blue-green';
  /** One sentence: why this strategy, for the output and the evidence. */
  reason: string;
  /** Why Blue/Green cannot be used for this database; empty when it can. */
  blueGreenIneligible: string[];
}

/** What the rotation will do, decided once in preflight and explained in `notes`. */
export interface Decisions {
  stopSource: boolean;
  switchClients: boolean;
  deleteOldInstance: boolean;
  /** Why the old instance is kept, when `deleteOldInstance` is false. */
  keepOldInstanceReason: string | null;
  /** Tentative: `retire-key` still checks that nothing else is encrypted under the old key. */
  retireOldKey: boolean;
  /** Why the old key is kept, when `retireOldKey` is false. */
  keepOldKeyReason: string | null;
  /** One sentence per decision that departs from the caller's request, for the output and the evidence. */
  notes: string[];
}

export interface ReadReplicaDescription {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
}

export interface SourceDescription {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  dbiResourceId: string | null;
  endpointAddress: string;
  port: number | null;
  kmsKeyArn: string;
  /** `CUSTOMER` or `AWS` (the `aws/rds` key, which can never be scheduled for deletion). */
  keyManager: string;
  config: InstanceConfig;
  placement: Placement;
  /** In-Region read replicas (only a Blue/Green rotation carries them over; a snapshot rotation refuses them). */
  readReplicas: ReadReplicaDescription[];
}

export interface ClusterMemberDescription {
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  isWriter: boolean;
  config: MemberConfig;
}

export interface ClusterSourceDescription {
  dbClusterIdentifier: string;
  dbClusterArn: string;
  /** Survives a rename: how later steps know the cluster under a name is still the source. */
  dbClusterResourceId?: string | null;
  /** The writer (cluster) endpoint. */
  endpointAddress: string;
  readerEndpointAddress: string | null;
  port: number | null;
  kmsKeyArn: string;
  /** `CUSTOMER` or `AWS` (the `aws/rds` key, which can never be scheduled for deletion). */
  keyManager: string;
  config: ClusterConfig;
  members: ClusterMemberDescription[];
}

interface PlanBase {
  rotationId: string;
  executionId: string;
  startedAt: string;
  partition: string;
  region: string;
  accountId: string;
  request: RotationInput;
  target: RotationTarget;
  strategy: StrategyDecision;
  names: RotationNames;
  cutover: CutoverPlan;
  decisions: Decisions;
  /** The approval gate before the cutover (or switchover); see commons/approval.ts. Set by every preflight. */
  approval?: ApprovalPlan;
}

/** In the output: whether the gate ran and, if so, who approved when. */
export type ApprovalSummary =
  | { required: false }
  | { required: true; approvedBy: string | null; approvedAt: string | null };

/** Whether WaitForApproval runs, and how long it waits (TimeoutSecondsPath). */
export interface ApprovalPlan {
  /** True when the gate runs: asked for in the input, and a cutover or switchover will happen. */
  required: boolean;
  /** The input asked for approval (also true when a cutover "none" makes the gate moot). */
  requested: boolean;
  timeoutSeconds: number;
}

/**
 * `$.approval`: the operator's SendTaskSuccess output (`{approvedBy, approvedAt}`), or, when the
 * gate ended without an approval (rejected, timed out), `{approved: false}` (ApprovalNotGiven).
 */
export type ApprovalRecord = { approvedBy?: string; approvedAt?: string; approved?: boolean } & Record<
  string,
  unknown
>;

export interface InstancePlan extends PlanBase {
  kind: 'instance';
  source: SourceDescription;
}

export interface ClusterPlan extends PlanBase {
  kind: 'cluster';
  source: ClusterSourceDescription;
}

export type RotationPlan = InstancePlan | ClusterPlan;

/** A step that acts and then waits: `done: false` sends the state machine round its Wait loop. */
export interface Reconciled {
  done: boolean;
  poll?: Poll;
}

export interface NewKey {
  keyId: string;
  keyArn: string;
  alias: string;
  /** False when a re-run found the key this rotation had already created. */
  created: boolean;
}

export interface FreezeResult extends Reconciled {
  /** True when Rekey issued the stop (so rollback must start the source again). */
  stoppedByRekey: boolean;
  /** Aurora, rename cutover: the source cluster was renamed to the aside identifier before the stop. */
  renamedAside?: boolean;
  /**
   * True when Rekey turned the source's deletion protection off before stopping it. RDS cannot
   * modify a stopped instance, so an old instance that will be deleted after the cutover has its
   * protection lifted while it still runs; rollback turns it on again.
   */
  deletionProtectionLifted?: boolean;
  /** Rename cutover: true once Rekey asked RDS to move the source aside (before stopping it). */
  movedAside?: boolean;
  status: string;
}

export interface SnapshotResult extends Reconciled {
  snapshotIdentifier: string;
  snapshotArn: string | null;
  kmsKeyId: string | null;
  status: string;
}

export interface RestoreResult extends Reconciled {
  dbInstanceIdentifier: string;
  dbInstanceArn: string | null;
  status: string;
  /**
   * Once done: the configuration fields in which the restored instance differs from the source,
   * which ConfigureInstance then applies. Read before ConfigureInstance changes anything, so a re-run
   * gives the same list.
   */
  differencesAfterRestore?: string[];
  /** Aurora: the new cluster (also in `dbInstanceIdentifier`, which names the new database). */
  dbClusterIdentifier?: string;
  /** Aurora: the members created in the new cluster, writer first. */
  members?: RestoredMember[];
}

export interface RestoredMember {
  sourceDbInstanceIdentifier: string;
  dbInstanceIdentifier: string;
  isWriter: boolean;
  status: string;
}

export interface ConfigureResult extends Reconciled {
  /** Fields changed with ModifyDBInstance after the restore. Each is applied at most once. */
  applied: string[];
  rebooted: boolean;
  status: string;
  /** Aurora: the members rebooted to apply a parameter group (each at most once). */
  rebootedMembers?: string[];
}

export interface ValidationResult {
  /** The new DB instance, or for Aurora the new cluster. */
  dbInstanceIdentifier: string;
  dbInstanceArn: string;
  endpointAddress: string;
  port: number | null;
  kmsKeyArn: string;
  status: string;
  differences: ConfigDifference[];
  checkedAt: string;
  /** Aurora: the new cluster's reader endpoint. `endpointAddress` is its writer (cluster) endpoint. */
  readerEndpointAddress?: string | null;
  /** Aurora: the new cluster's resource id, which survives the rename cutover. */
  dbClusterResourceId?: string | null;
  /** Aurora: the validated members. */
  members?: { sourceDbInstanceIdentifier: string; dbInstanceIdentifier: string; isWriter: boolean }[];
}

/** A DB instance's cutover. */
export type CutoverResult = CnameCutoverResult | RenameCutoverResult;

export interface RenameCutoverResult extends Reconciled {
  type: 'rename';
  /** Where the rename stands: the source moved aside, then the new instance given the original identifier. */
  phase: 'moving-source-aside' | 'renaming-new-instance' | 'done';
  /** Set once asked, so a lost answer is not mistaken for a missing instance. */
  sourceMoveRequested: boolean;
  newRenameRequested: boolean;
  /** The source, moved aside. */
  oldIdentifier: string;
  /** The new instance, now under the original identifier. */
  newIdentifier: string;
  /** The endpoint clients use: the same before and after. */
  previousValue: string;
  newValue: string;
  status: string;
  /** The new instance answers under the original identifier with the original endpoint address. */
  verified: boolean;
}

export interface CnameCutoverResult extends Reconciled {
  type: 'cname';
  changeId: string | null;
  changeStatus: string;
  previousValue: string;
  newValue: string;
  /** The record, read back after INSYNC, points at the new endpoint. */
  verified: boolean;
}

/** An Aurora cluster's cutover: the writer record (and reader record), or the cluster rename. */
export interface ClusterCutoverResult extends Reconciled {
  type: 'cname' | 'rename';
  changeId: string | null;
  changeStatus: string;
  previousValue: string;
  newValue: string;
  /** The record, read back after INSYNC, points at the new endpoint. */
  verified: boolean;
  /** Aurora, cname: the reader record, moved the same way. */
  reader?: {
    recordName: string;
    changeId: string | null;
    changeStatus: string;
    previousValue: string;
    newValue: string;
  } | null;
  /** Aurora, rename: what a rename cutover did, for rollback and the summary. */
  renamed?: { sourceAside: boolean; newToOriginal: boolean };
  /** A remark for the summary, e.g. an endpoint that differs from the original. */
  note?: string;
}

export interface StartSourceResult extends Reconciled {
  status: string;
  started: boolean;
}

export interface RetireInstanceResult extends Reconciled {
  outcome: 'deleted' | 'retained';
  status: string;
  reason?: string;
}

export type OldKeyOutcome =
  | { state: 'PendingDeletion'; keyArn: string; deletionDate: string; pendingWindowDays: number }
  | { state: 'Retained'; keyArn: string; reason: string; encryptedResources: string[] };

/** The first step's verdict: a duplicate start ends as a no-op. */
export interface StartCheck {
  duplicateOf: string | null;
  /** Why this execution did nothing (duplicate start). */
  skipped?: string;
}

export interface LockResult {
  /** False only for a duplicate start, which ends the execution as a no-op. */
  acquired: boolean;
  lockKeys: string[];
  acquiredAt?: string;
  /** The rotation that already ran for the same idempotency key. */
  duplicateOf?: string;
  /** Why this execution did nothing (duplicate start). */
  skipped?: string;
}

export interface LockReleaseResult {
  released: string[];
}

export interface FailureInfo {
  Error: string;
  Cause: string;
}

export interface RollbackResult extends Reconciled {
  undone: string[];
  leftBehind: string[];
  /** The execution's failure cause: what went wrong, what was undone, what is left. */
  cause: string;
}

/** One resource of a Blue/Green deployment: a blue (source) member and its green (target) counterpart. */
export interface BlueGreenMember {
  /** ARN of the blue resource (`...:db:<id>` or `...:cluster:<id>`), as the deployment names it. */
  sourceArn: string;
  /** ARN of the green resource; empty while RDS has not created it yet. */
  targetArn: string;
  /** The member's switchover status (PROVISIONING, AVAILABLE, SWITCHOVER_COMPLETED, ...). */
  status: string;
}

/** CreateGreen: the Blue/Green deployment this rotation created (or found), and its green resources. */
export interface GreenDeploymentResult extends Reconciled {
  deploymentId: string;
  deploymentName: string;
  /** The deployment's status (PROVISIONING, AVAILABLE, ...). */
  status: string;
  /** False when a re-run found the deployment this rotation had already created. */
  created: boolean;
  members: BlueGreenMember[];
}

/** One green resource as ValidateGreen found it. */
export interface GreenResourceCheck {
  kind: 'db-instance' | 'db-cluster';
  identifier: string;
  arn: string;
  status: string;
  kmsKeyArn: string | null;
  /** The blue resource it replaces. */
  sourceArn: string;
}

/** ValidateGreen: every green resource is available and under the new key (else it throws). */
export interface GreenValidationResult {
  deploymentId: string;
  resources: GreenResourceCheck[];
  checkedAt: string;
}

/** Switchover: the one SwitchoverBlueGreenDeployment call and the wait for SWITCHOVER_COMPLETED. */
export interface SwitchoverResult extends Reconciled {
  deploymentId: string;
  status: string;
  /** True once this rotation has asked RDS to switch over (the deployment's status says so on a re-run). */
  requested: boolean;
  switchoverTimeoutSeconds: number;
  /** Once done: the members after the switchover (blue ones renamed `<id>-old1`, green ones under the original names). */
  members: BlueGreenMember[];
  completedAt?: string;
}

/** RetireBlue (written where RetireKey reads RetireInstance's result): the deployment and the old blue resources. */
export interface RetireBlueResult extends RetireInstanceResult {
  deploymentDeleted: boolean;
  /** The old blue resources deleted (identifiers after the switchover, e.g. `orders-db-old1`). */
  deleted: string[];
  /** The old blue resources kept (when the plan keeps the old database). */
  retained: string[];
}

export interface RotationState<P extends RotationPlan = RotationPlan> {
  input: unknown;
  start?: StartCheck;
  plan: P;
  lock?: LockResult;
  newKey?: NewKey;
  freeze?: FreezeResult;
  sourceSnapshot?: SnapshotResult;
  copySnapshot?: SnapshotResult;
  restore?: RestoreResult;
  configure?: ConfigureResult;
  validation?: ValidationResult;
  cutover?: P extends ClusterPlan ? ClusterCutoverResult : CutoverResult;
  startSource?: StartSourceResult;
  retireInstance?: RetireInstanceResult | RetireBlueResult;
  greenDeployment?: GreenDeploymentResult;
  greenValidation?: GreenValidationResult;
  switchover?: SwitchoverResult;
  oldKey?: OldKeyOutcome;
  approval?: ApprovalRecord;
  failure?: FailureInfo;
  rollback?: RollbackResult;
  lockRelease?: LockReleaseResult;
  /** Set when releasing the lock failed after a completed rotation (the lock then expires by TTL). */
  lockReleaseError?: FailureInfo;
}

export type InstanceState = RotationState<InstancePlan>;
export type ClusterState = RotationState<ClusterPlan>;

/** The output of a successful execution (the `Summarize` step). */
export interface RotationOutput {
  rotationId: string;
  /** The strategy used and why (`auto` records what it chose). */
  strategy: { requested: string; used: string; reason: string };
  sourceDbInstanceIdentifier: string;
  newDbInstanceIdentifier: string;
  newEndpoint: { address: string; port: number | null };
  oldKeyArn: string;
  newKeyArn: string;
  snapshotIdentifiers: { source: string; reencrypted: string };
  oldInstance: 'deleted' | 'retained';
  oldKey: { state: 'PendingDeletion'; deletionDate: string } | { state: 'Retained'; reason: string };
  cutover:
    | { type: 'cname'; recordName: string; previousValue: string; newValue: string }
    | { type: 'rename'; identifier: string; endpoint: string; oldInstanceRenamedTo: string }
    | { type: 'none' };
  writeFreeze: 'stop' | 'none';
  configurationChangesAfterRestore: string[];
  notes: string[];
  reason: string;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  /** The approval gate: who approved the cutover (or switchover), and when. */
  approval?: ApprovalSummary;
}

/** The output of a successful Blue/Green rotation (the `Summarize` step). */
export interface BlueGreenRotationOutput {
  rotationId: string;
  strategy: { requested: string; used: string; reason: string };
  kind: 'instance' | 'cluster';
  /** The database clients use, before and after: the switchover keeps its name and endpoint. */
  sourceIdentifier: string;
  endpoint: { address: string; port: number | null };
  blueGreenDeployment: { identifier: string; name: string; deleted: boolean };
  /** The green resources now in service, each under the new key. */
  greenResources: { kind: string; identifier: string; arn: string; kmsKeyArn: string | null }[];
  /** The old blue resources (renamed `-old1` by the switchover). */
  oldResources: { deleted: string[]; retained: string[] };
  oldKeyArn: string;
  newKeyArn: string;
  oldInstance: 'deleted' | 'retained';
  oldKey: { state: 'PendingDeletion'; deletionDate: string } | { state: 'Retained'; reason: string };
  switchover: { timeoutSeconds: number; completedAt: string | null };
  cutover: { type: 'cname'; recordName: string; value: string } | { type: 'none' };
  notes: string[];
  reason: string;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  /** The approval gate: who approved the cutover (or switchover), and when. */
  approval?: ApprovalSummary;
}

/** Narrows an optional state field, failing with a message that names the missing step. */
export const required = <K extends keyof RotationState>(
  state: RotationState,
  key: K,
): NonNullable<RotationState[K]> => {
  const value = state[key];
  if (value === undefined || value === null) {
    throw new Error(`state.${String(key)} is missing: the step that produces it has not run`);
  }
  return value as NonNullable<RotationState[K]>;
};

/** The output of a successful Aurora cluster rotation: the instance output's shape, for a cluster. */
export interface ClusterRotationOutput
  extends Omit<
    RotationOutput,
    'sourceDbInstanceIdentifier' | 'newDbInstanceIdentifier' | 'oldInstance' | 'cutover'
  > {
  kind: 'cluster';
  sourceDbClusterIdentifier: string;
  newDbClusterIdentifier: string;
  newReaderEndpoint: string | null;
  members: { source: string; new: string; writer: boolean }[];
  oldCluster: 'deleted' | 'retained';
  cutover:
    | {
        type: 'cname';
        recordName: string;
        previousValue: string;
        newValue: string;
        reader: { recordName: string; previousValue: string; newValue: string } | null;
      }
    | { type: 'rename'; identifier: string; endpoint: string; oldClusterRenamedTo: string }
    | { type: 'none' };
}
