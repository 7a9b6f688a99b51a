import { stoppedBeforeChanges } from '#domain/approval.js';
import { whatWentWrong } from '#domain/failure.js';
import type { RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { nothingChanged } from '#reconcilers/undo-log.js';
import { rollbackBlueGreen } from './blue-green/rollback.js';
import { type ByStrategy, forStrategy } from './registry.js';
import { rollbackSnapshot } from './snapshot/rollback.js';

export const ROLLBACK_BY_STRATEGY = {
  snapshot: rollbackSnapshot,
  'blue-green': rollbackBlueGreen,
} satisfies ByStrategy<'rollback'>;

/**
 * The Rollback step, after any failure. A rotation refused before it held its lock (bad input,
 * preflight, another rotation holds the database) changed nothing, and there may be no plan at
 * all; nor did one that ended at an approval gate before any change (rejected, or no decision in
 * time): its cause opens with the gate's verdict. Otherwise the compensation of the strategy that
 * ran undoes what is safe to undo.
 */
export const rollback = async (state: RotationState): Promise<RollbackResult> => {
  if (!state.plan || state.lock?.acquired !== true) return nothingChanged(state);
  if (stoppedBeforeChanges(state)) {
    return { ...nothingChanged(state), cause: `${whatWentWrong(state)} Nothing was changed in AWS.` };
  }
  return forStrategy(ROLLBACK_BY_STRATEGY, state, 'Rollback')(state);
};
