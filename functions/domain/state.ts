import type { ApprovalRecord, ClusterPlan, InstancePlan, RotationPlan } from './plan.js';
import type {
  ClusterCutoverResult,
  ConfigureResult,
  CutoverResult,
  FailureInfo,
  FreezeResult,
  GreenDeploymentResult,
  GreenValidationResult,
  LockReleaseResult,
  LockResult,
  NewKey,
  OldKeyOutcome,
  RestoreResult,
  RetireBlueResult,
  RetireInstanceResult,
  RollbackResult,
  SnapshotResult,
  StartCheck,
  StartSourceResult,
  SwitchoverResult,
  ValidationResult,
} from './results.js';

/**
 * The execution state. The state machine wraps the execution input as `input`, then each step
 * writes its result under its own key (its Task's `ResultPath`). Steps receive the whole state
 * and read only what they need, so the ASL stays short and each step's contract is its type here.
 */

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
