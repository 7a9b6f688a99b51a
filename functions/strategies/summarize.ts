import { approvalSummary } from '#domain/approval.js';
import type { BlueGreenRotationOutput, ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import type { RotationState } from '#domain/state.js';
import { summarizeBlueGreen } from './blue-green/summarize.js';
import { type ByStrategy, forStrategy } from './registry.js';
import { summarizeSnapshot } from './snapshot/summarize.js';

export const SUMMARIZE_BY_STRATEGY = {
  snapshot: summarizeSnapshot,
  'blue-green': summarizeBlueGreen,
} satisfies ByStrategy<'summarize'>;

/**
 * The Summarize step: the execution output of a successful rotation, in the shape of the strategy
 * that ran (and, for a snapshot rotation, of the target's kind), with the approval gate's outcome.
 */
export const summarize = async (
  state: RotationState,
): Promise<RotationOutput | ClusterRotationOutput | BlueGreenRotationOutput> => {
  const output = await forStrategy(SUMMARIZE_BY_STRATEGY, state, 'Summarize')(state);
  return { ...output, approval: approvalSummary(state) };
};
