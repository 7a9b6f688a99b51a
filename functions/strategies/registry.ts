import type { BlueGreenRotationOutput, ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import type { StrategyDecision } from '#domain/plan.js';
import type { RotationState } from '#domain/state.js';
import { summarizeBlueGreen } from './blue-green/summarize.js';
import { summarizeSnapshot } from './snapshot/summarize.js';

export type StrategyName = StrategyDecision['used'];

/** What differs by strategy in a step the state machine runs for both. */
export interface StrategyOps {
  /** The execution output of a successful rotation. */
  summarize: (
    state: RotationState,
  ) => Promise<RotationOutput | ClusterRotationOutput | BlueGreenRotationOutput>;
}

/** A strategy added to the plan's union fails to compile here until it has every operation. */
export const STRATEGIES = {
  snapshot: { summarize: summarizeSnapshot },
  'blue-green': { summarize: summarizeBlueGreen },
} satisfies { [S in StrategyName]: StrategyOps };
