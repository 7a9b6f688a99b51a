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
 * all; otherwise the compensation of the strategy that ran undoes what is safe to undo.
 */
export const rollback = async (state: RotationState): Promise<RollbackResult> =>
  state.plan && state.lock?.acquired === true
    ? forStrategy(ROLLBACK_BY_STRATEGY, state, 'Rollback')(state)
    : nothingChanged(state);
