import type { DBCluster, DBInstance, Tag } from '@aws-sdk/client-rds';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput, RotationTarget } from '#domain/input.js';
import type { ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import type { RotationPlan } from '#domain/plan.js';
import type {
  ClusterCutoverResult,
  ConfigureResult,
  CutoverResult,
  FreezeResult,
  RestoreResult,
  RetireInstanceResult,
  RollbackResult,
  SnapshotResult,
  StartSourceResult,
  ValidationResult,
} from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import type { Retirement } from '#reconcilers/retirement.js';

/**
 * What every kind of target (a DB instance, an Aurora cluster) must do, one operation per piece of
 * work that differs by kind. The kind-neutral steps look the plan's kind up in a table that has an
 * entry for every kind (targets/registry.ts), so a kind added to the plan's union does not compile
 * until it has every operation.
 */

export type TargetKind = RotationPlan['kind'];
export type PlanOf<K extends TargetKind> = Extract<RotationPlan, { kind: K }>;
export type StateOf<K extends TargetKind> = RotationState<PlanOf<K>>;

/** What RDS describes for a database of each kind: the answer preflight decides the kind from. */
export type DescribedOf<K extends TargetKind> = { instance: DBInstance; cluster: DBCluster }[K];

/** The execution output of a snapshot rotation of each kind. */
export type CutoverOf<K extends TargetKind> = { instance: CutoverResult; cluster: ClusterCutoverResult }[K];
export type SummaryOf<K extends TargetKind> = { instance: RotationOutput; cluster: ClusterRotationOutput }[K];

/** The input fields that name the database to rotate. */
export type TargetField = 'dbInstanceIdentifier' | 'dbClusterIdentifier';

export interface PreflightInput {
  /** The execution input, as given. */
  input: unknown;
  /** `$$.Execution.Id`: the rotation id derives from it, so a retried preflight plans the same names. */
  executionId: string;
  /** `$$.Execution.StartTime`. */
  startedAt: string;
}

/** What the kind's preflight works from, once RDS confirmed the kind. */
export interface PreflightContext<K extends TargetKind> {
  request: RotationInput;
  target: RotationTarget;
  event: PreflightInput;
  described: DescribedOf<K>;
}

export interface PreflightOps<K extends TargetKind> {
  /** The input field that names a database of this kind. */
  field: TargetField;
  /** What the kind is called in messages ("a DB instance"). */
  what: string;
  /** What RDS reports for this identifier as a database of this kind, or `null` when it has none. */
  describe(identifier: string): Promise<DescribedOf<K> | null>;
  /** The refusal when RDS has no database of this kind (nor of any other) under the identifier. */
  notFound(identifier: string): string;
  /**
   * The database of another kind that this one is part of (an Aurora member belongs to its
   * cluster), with why it cannot be rotated alone; `null` when it stands on its own.
   */
  partOf(described: DescribedOf<K>): { kind: TargetKind; identifier: string; why: string } | null;
  /** Every check of this kind and the plan. Read-only: a refusal leaves AWS as it was. */
  plan(context: PreflightContext<K>): Promise<PlanOf<K>>;
}

/** A blue resource of a Blue/Green deployment, as far as the kind needs to tell which one it is. */
export interface BlueResource {
  kind: 'db-instance' | 'db-cluster';
  /** Set on a read replica. */
  replicaOf: string | null;
}

/** What a Blue/Green deployment of this kind starts from and covers. */
export interface BlueGreenOps<K extends TargetKind> {
  /** The ARN the deployment starts from (CreateBlueGreenDeployment `Source`). */
  sourceArn(plan: PlanOf<K>): string;
  /**
   * The blue resources that each need their own green counterpart under the new key (one
   * `TargetResourceConfigurations` entry each): the instance and its read replicas, or the cluster.
   */
  blueArns(plan: PlanOf<K>): string[];
  /** The blue resource preflight described (the others are replicas or members). */
  isPrimary(resource: BlueResource): boolean;
  /** Its resource id as preflight recorded it (a rename keeps it), or `null` when unknown. */
  primaryResourceId(plan: PlanOf<K>): string | null;
}

type Step<K extends TargetKind, R> = (state: StateOf<K>) => Promise<R>;

/** Which resources the Cutover marks serving and retired, and where a rollback looks for the mark. */
export interface RetirementOps<K extends TargetKind> {
  marks(state: StateOf<K>): Retirement;
  /** The source's resources under every name a rename may have left them at, with their tags. */
  sources(state: StateOf<K>): Promise<{ arn: string; tags: Tag[] | undefined }[]>;
}

export interface TargetOps<K extends TargetKind> {
  preflight: PreflightOps<K>;
  stopSource: Step<K, FreezeResult>;
  snapshotSource: Step<K, SnapshotResult>;
  /** A DB instance copies its snapshot under the new key; an Aurora cluster needs no copy (targets/cluster/copy.ts). */
  copySnapshot: Step<K, SnapshotResult>;
  restoreDatabase: Step<K, RestoreResult>;
  configureDatabase: Step<K, ConfigureResult>;
  validateDatabase: Step<K, ValidationResult>;
  startSource: Step<K, StartSourceResult>;
  retireDatabase: Step<K, RetireInstanceResult>;
  cutover: Step<K, CutoverOf<K>>;
  retirement: RetirementOps<K>;
  /** The snapshot path's compensation after a failure (a Blue/Green rotation has its own). */
  rollback: Step<K, RollbackResult>;
  summarize: Step<K, SummaryOf<K>>;
  blueGreen: BlueGreenOps<K>;
}

export type OpName = keyof TargetOps<TargetKind>;

/** One operation for every kind: adding a kind to the plan's union fails to compile until it has one. */
export type ByKind<O extends OpName> = { [K in TargetKind]: TargetOps<K>[O] };

/**
 * The entry of the plan's kind. No default: every table has an entry for every kind. Throws only
 * when the state has no plan or an unknown kind (a wiring error, not a choice).
 */
export const entryFor = <T extends { [K in TargetKind]: unknown }>(
  table: T,
  plan: RotationPlan | undefined,
  step: string,
): T[TargetKind] => {
  const kind: TargetKind | undefined = plan?.kind;
  const entry = kind === undefined ? undefined : table[kind];
  if (entry === undefined) {
    throw new PreconditionFailedError(
      `${step} found no plan for a known kind of database (kind "${String(kind)}"). This is a wiring error: report it with the execution ARN.`,
    );
  }
  return entry;
};

/** A kind-neutral step: runs the operation of the plan's kind on the state. */
export const stepFor =
  <R>(step: string, table: { [K in TargetKind]: Step<K, R> }) =>
  (state: RotationState): Promise<R> =>
    // The plan's kind says which state this is: the entry of that kind takes it.
    (entryFor(table, state.plan, step) as Step<TargetKind, R>)(state);
