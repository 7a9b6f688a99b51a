import { getClients } from '#aws/clients.js';
import type { RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { unmarkRetired } from '#reconcilers/retirement.js';
import { logger } from '#runtime/logger.js';
import { stepFor } from '#targets/ops.js';
import { ROLLBACK, retirementOf } from '#targets/registry.js';

const rollbackOfKind = stepFor<RollbackResult>('Rollback', ROLLBACK);

/**
 * The snapshot path's compensation, for the plan's kind (targets/<kind>/rollback.ts). When the
 * cutover was not verified but had already marked the source retired (its answer was lost), the
 * mark comes off again once the rollback is done: the source serves clients again.
 */
export const rollbackSnapshot = async (state: RotationState): Promise<RollbackResult> => {
  const result = await rollbackOfKind(state);
  if (result.done && state.cutover && state.cutover.verified !== true) {
    const retirement = retirementOf(state.plan);
    const unmarked = await unmarkRetired(
      getClients().rds,
      state.plan.rotationId,
      await retirement.sources(state),
    );
    if (unmarked.length > 0) logger.info('took the retired mark off the source again', { unmarked });
  }
  return result;
};
