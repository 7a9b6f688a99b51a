import { PreconditionFailedError } from '#domain/errors.js';
import type { ClusterState, InstanceState, RotationState } from '#domain/state.js';

/**
 * A step that works on both kinds of target: a DB instance, or an Aurora cluster with its member
 * instances. The state machine is the same for both; each step picks its implementation here.
 */
export const byKind =
  <R>(
    step: string,
    implementations: {
      instance: (state: InstanceState) => Promise<R>;
      cluster?: (state: ClusterState) => Promise<R>;
    },
  ) =>
  async (state: RotationState): Promise<R> => {
    // Rollback also runs when preflight refused, before there is a plan.
    if (state.plan?.kind !== 'cluster') return implementations.instance(state as InstanceState);
    if (!implementations.cluster) {
      throw new PreconditionFailedError(
        `${step} cannot work on an Aurora cluster. This is a wiring error: report it with the execution ARN.`,
      );
    }
    return implementations.cluster(state as ClusterState);
  };
