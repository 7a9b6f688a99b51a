import type { ClusterConfig, MemberConfig } from './cluster-config.js';
import type { ApprovalPosition, RotationInput, RotationTarget } from './input.js';
import type { InstanceConfig, Placement } from './instance-config.js';
import type { TargetKind } from './kinds.js';
import type { ClusterRotationNames, RotationNames } from './naming.js';

/**
 * The rotation plan: what preflight found and decided, written once to `$.plan` and read by every
 * later step.
 */

export interface CnameCutoverPlan {
  type: 'cname';
  hostedZoneId: string;
  recordName: string;
  ttl: number;
  /** What the record pointed at when the rotation started: the source endpoint. */
  previousValue: string;
  /** What preflight noticed about the record (a record of the same name in a less specific zone). */
  notes?: string[];
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

/**
 * Whether the source is stopped for the data move, so that no write is made after the snapshot.
 * Not stopped with `writeFreeze: "none"`, and never on the Blue/Green path (the switchover blocks
 * writes itself and replication carries every write over).
 */
export type WriteFreezeDecision = { action: 'stop-source' } | { action: 'none'; reason: string };

/** How clients reach the new database: moved by a cutover or a switchover, or not at all. */
export type ClientSwitchDecision =
  | { action: 'switch'; by: 'cname' | 'rename' | 'switchover' }
  | { action: 'none'; reason: string };

/** What becomes of the old database (instance or cluster) once clients use the new one. */
export type OldDatabaseDecision = { action: 'delete' } | { action: 'retain'; reason: string };

/**
 * What becomes of the old key. Tentative when `schedule-deletion`: RetireKey still checks that
 * the old database was deleted and that nothing else in RDS is encrypted under the key.
 */
export type OldKeyDecision =
  | { action: 'schedule-deletion'; pendingWindowDays: number }
  | { action: 'retain'; reason: string };

/** What a rollback does with the new key, snapshots and database when the rotation fails before its cutover. */
export type FailureArtifactsDecision = { action: 'remove' } | { action: 'keep'; reason: string };

/**
 * What the rotation will do, decided once in preflight (domain/decisions.ts) and explained in
 * `notes`. Later steps follow these decisions and re-check only live facts, never the request.
 */
export interface Decisions {
  writeFreeze: WriteFreezeDecision;
  clientSwitch: ClientSwitchDecision;
  oldDatabase: OldDatabaseDecision;
  oldKey: OldKeyDecision;
  artifactsOnFailure: FailureArtifactsDecision;
  /** One sentence per decision that departs from the caller's request, for the output and the evidence. */
  notes: string[];
  // The flags below are derived from the decisions above (`decisionFlags`), for the steps that test a flag.
  /** `writeFreeze.action === 'stop-source'`. */
  stopSource: boolean;
  /** `clientSwitch.action === 'switch'`. */
  switchClients: boolean;
  /** `oldDatabase.action === 'delete'`. */
  deleteOldInstance: boolean;
  /** `oldDatabase.reason` when it is retained. */
  keepOldInstanceReason: string | null;
  /** `oldKey.action === 'schedule-deletion'`. */
  retireOldKey: boolean;
  /** `oldKey.reason` when it is retained. */
  keepOldKeyReason: string | null;
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
  cutover: CutoverPlan;
  decisions: Decisions;
  /** The approval gate, before any change or before the cutover (or switchover); see domain/approval.ts. Set by every preflight. */
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
  /**
   * Where WaitForApproval runs: `before-changes` (after the lock, before CreateKey: nothing has
   * changed yet) or `before-cutover` (after the validation). Absent in plans made before it existed:
   * read as `before-cutover`.
   */
  at?: ApprovalPosition;
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
  names: RotationNames;
}

export interface ClusterPlan extends PlanBase {
  kind: 'cluster';
  source: ClusterSourceDescription;
  /** No snapshot copy: the new cluster is restored from the source snapshot under the new key. */
  names: ClusterRotationNames;
}

export type RotationPlan = InstancePlan | ClusterPlan;

/** Every kind of plan is a kind domain/kinds.ts names: a plan of another kind fails to compile here. */
export const PLAN_KINDS_ARE_NAMED: RotationPlan['kind'] extends TargetKind ? true : never = true;
