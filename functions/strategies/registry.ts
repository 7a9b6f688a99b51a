import { PreconditionFailedError } from '#domain/errors.js';
import type { BlueGreenRotationOutput, ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import type { StrategyDecision } from '#domain/plan.js';
import type { RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';

export type StrategyName = StrategyDecision['used'];

/**
 * What differs by strategy in a step the state machine runs on both paths. Each operation's table
 * lives with its step (strategies/summarize.ts, strategies/rollback.ts) and `satisfies
 * ByStrategy<op>`: a step bundles only its own operation, so its role grants only those AWS calls.
 */
export interface StrategyOps {
  /** The execution output of a successful rotation. */
  summarize: (
    state: RotationState,
  ) => Promise<RotationOutput | ClusterRotationOutput | BlueGreenRotationOutput>;
  /** The compensation after a failure, once the rotation holds its lock. */
  rollback: (state: RotationState) => Promise<RollbackResult>;
}

/** One operation for every strategy: a strategy added to the plan's union fails to compile until it has one. */
export type ByStrategy<O extends keyof StrategyOps> = { [S in StrategyName]: StrategyOps[O] };

/** The entry of the plan's strategy. No default: a plan without a known strategy is a wiring error. */
export const forStrategy = <T extends { [S in StrategyName]: unknown }>(
  table: T,
  state: RotationState,
  step: string,
): T[StrategyName] => {
  const used = state.plan?.strategy?.used;
  const entry = used === undefined ? undefined : table[used];
  if (entry === undefined) {
    throw new PreconditionFailedError(
      `${step} found no known strategy in the plan ("${String(used)}"). This is a wiring error: report it with the execution ARN.`,
    );
  }
  return entry;
};
