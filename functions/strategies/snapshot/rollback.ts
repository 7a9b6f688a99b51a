import type { RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { stepFor } from '#targets/ops.js';
import { ROLLBACK } from '#targets/registry.js';

/** The snapshot path's compensation, for the plan's kind (targets/<kind>/rollback.ts). */
export const rollbackSnapshot: (state: RotationState) => Promise<RollbackResult> = stepFor<RollbackResult>(
  'Rollback',
  ROLLBACK,
);
