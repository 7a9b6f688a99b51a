import type { LeftResource, ObservedKey, RollbackFact } from './facts.js';
import type { ConfigDifference } from './instance-config.js';
import type { Poll } from './limits.js';

/**
 * What each step records under its own key of the execution state (its Task's `ResultPath`).
 */

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

/**
 * The `status` of a CopySnapshot result that copied nothing: an Aurora cluster needs no copy
 * (targets/cluster/copy.ts answers an execution that started on an earlier definition with it).
 */
export const COPY_NOT_NEEDED = 'not-needed';

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
  /**
   * The snapshot the new database was restored from, and what re-encrypted its data: `copy` (the
   * snapshot is the copy CopySnapshot made under the new key: a DB instance) or `restore` (the
   * source snapshot, restored with `KmsKeyId` = the new key: an Aurora cluster). Absent in results
   * of executions that started before it was recorded.
   */
  restoredFrom?: { snapshotIdentifier: string; reencryptedBy: 'copy' | 'restore' };
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

/**
 * What every cutover result records. The Cutover step's first call changes nothing: it only
 * writes `attempted: true` (and waits a second), so from then on a rollback knows clients may
 * have moved, even when a later call changed DNS or a name and its answer was lost.
 */
export interface CutoverAttempt extends Reconciled {
  /**
   * True in every result the Cutover step writes. Absent only in a result written by an earlier
   * version of the step, whose first result already followed its first change.
   */
  attempted?: boolean;
}

/**
 * The Cutover step's first result: it changed nothing and comes back after a second, so that
 * `attempted: true` is in the state before its first change. The attempt count starts after it.
 */
export const FIRST_CUTOVER_POLL: Poll = { attempt: 0, waitSeconds: 1, lastStatus: 'cutover started' };

/** Where one CNAME's move stands. */
export interface RecordProgress {
  /** The Route 53 change to wait on; null before one was accepted. */
  changeId: string | null;
  /** Route 53's status of the change (PENDING, INSYNC), or NOT_SUBMITTED before one was accepted. */
  changeStatus: string;
  /** The record, read back after INSYNC, points at the new endpoint. */
  verified: boolean;
}

export interface RenameCutoverResult extends CutoverAttempt {
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

export interface CnameCutoverResult extends CutoverAttempt, RecordProgress {
  type: 'cname';
  previousValue: string;
  newValue: string;
}

/** An Aurora cluster's cutover: the writer record (and reader record), or the cluster rename. */
export interface ClusterCutoverResult extends CutoverAttempt, RecordProgress {
  type: 'cname' | 'rename';
  previousValue: string;
  newValue: string;
  /** Aurora, cname: the reader record, moved the same way. */
  reader?: ({ recordName: string; previousValue: string; newValue: string } & RecordProgress) | null;
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
  | {
      state: 'Retained';
      keyArn: string;
      reason: string;
      encryptedResources: string[];
      /**
       * True when RetireKey kept the key (something else is under it) but deleted this rotation's
       * own source snapshot, disposable once the old database was deleted (docs/fleet.md#shared-old-keys).
       */
      sourceSnapshotDeleted?: boolean;
    };

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
  /** What was undone, in words: rendered from `facts`. */
  undone: string[];
  /** What is left for a person, in words: rendered from `left`. */
  leftBehind: string[];
  /** What was undone, as data: carried between the rollback's polls and read by its decisions. */
  facts?: RollbackFact[];
  /** What is left, as data. */
  left?: LeftResource[];
  /** The execution's failure cause: what went wrong, what was undone, what is left. */
  cause: string;
  /**
   * Where the search for an unaliased new key goes on (a CreateKey that died between creating the
   * key and aliasing it): one bounded share of the account's keys per poll.
   */
  keySearch?: { marker?: string; scannedKeys: number };
  /** The keys RDS reported on the new resources before the rollback removed them. */
  observedKeys?: ObservedKey[];
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
