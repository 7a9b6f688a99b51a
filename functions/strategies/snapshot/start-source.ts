import type { StartSourceResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { START_SOURCE } from '#targets/registry.js';

/** Cutover "none": start the source again if Rekey stopped it; clients keep using it (targets/<kind>/start.ts). */
export const startSource = stepFor<StartSourceResult>('StartSource', START_SOURCE);
