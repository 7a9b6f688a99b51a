import { approvalSummary } from '#domain/approval.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { BlueGreenRotationOutput, ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import type { RotationState } from '#domain/state.js';
import { STRATEGIES } from './registry.js';

/**
 * The Summarize step: the execution output of a successful rotation, in the shape of the strategy
 * that ran (and, for a snapshot rotation, of the target's kind), with the approval gate's outcome.
 */
export const summarize = async (
  state: RotationState,
): Promise<RotationOutput | ClusterRotationOutput | BlueGreenRotationOutput> => {
  const used = state.plan.strategy?.used;
  const strategy = used === undefined ? undefined : STRATEGIES[used];
  if (!strategy) {
    throw new PreconditionFailedError(
      `Summarize found no known strategy in the plan ("${String(used)}"). This is a wiring error: report it with the execution ARN.`,
    );
  }
  const output = await strategy.summarize(state);
  return { ...output, approval: approvalSummary(state) };
};
