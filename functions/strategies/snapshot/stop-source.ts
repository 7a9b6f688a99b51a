import type { FreezeResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { STOP_SOURCE } from '#targets/registry.js';

/** Freeze writes: stop the source (an instance, or a cluster) and wait until it is stopped (targets/<kind>/stop.ts). */
export const stopSource = stepFor<FreezeResult>('StopSource', STOP_SOURCE);
