import type { ClusterConfig, MemberConfig } from './cluster-config.js';
import type { RotationInput, RotationTarget } from './input.js';
import type { InstanceConfig, Placement } from './instance-config.js';
import type { RotationNames } from './naming.js';

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
