import { PreconditionFailedError } from './commons/errors.js';
import type { RotationInput, RotationTarget } from './commons/input.js';
import type { ClusterPlan } from './commons/types.js';
import type { PreflightInput } from './preflight.js';

/** Preflight for an Aurora DB cluster. */
export const preflightCluster = async (
  _request: RotationInput,
  target: RotationTarget,
  _event: PreflightInput,
): Promise<ClusterPlan> => {
  throw new PreconditionFailedError(
    `dbClusterIdentifier: rotating the Aurora cluster ${target.identifier} is not built yet.`,
  );
};
