import { getClients } from '#aws/clients.js';
import type { ClusterCutoverResult, CutoverResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { markRetirement } from '#reconcilers/retirement.js';
import { stepFor } from '#targets/ops.js';
import { CUTOVER, retirementOf } from '#targets/registry.js';

const cutoverOfKind = stepFor<CutoverResult | ClusterCutoverResult>('Cutover', CUTOVER);

/**
 * Cut over: switch clients to the validated new database, by moving the CNAME or by the rename
 * (targets/<kind>/cutover.ts), and verify they reach it. A reconciling loop. Once verified, and
 * before it reports done, it marks the new database serving and the old source retired
 * (reconcilers/retirement.ts): the marks are what IAM lets the retire steps delete.
 */
export const cutover = async (state: RotationState): Promise<CutoverResult | ClusterCutoverResult> => {
  const result = await cutoverOfKind(state);
  if (result.done && result.verified) {
    await markRetirement(getClients().rds, state.plan.rotationId, retirementOf(state.plan).marks(state));
  }
  return result;
};
