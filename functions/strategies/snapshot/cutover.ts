import type { ClusterCutoverResult, CutoverResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { CUTOVER } from '#targets/registry.js';

/**
 * Cut over: switch clients to the validated new database, by moving the CNAME or by the rename
 * (targets/<kind>/cutover.ts), and verify they reach it. A reconciling loop.
 */
export const cutover = stepFor<CutoverResult | ClusterCutoverResult>('Cutover', CUTOVER);
