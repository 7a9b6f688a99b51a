import type { ClusterRotationOutput, RotationOutput } from '#domain/output.js';
import { stepFor } from '#targets/ops.js';
import { SUMMARIZE } from '#targets/registry.js';

/** The output of a snapshot rotation, in the shape of the target's kind (targets/<kind>/summarize.ts). */
export const summarizeSnapshot = stepFor<RotationOutput | ClusterRotationOutput>('Summarize', SUMMARIZE);
