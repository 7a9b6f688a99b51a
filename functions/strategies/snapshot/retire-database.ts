import type { RetireInstanceResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { RETIRE_DATABASE } from '#targets/registry.js';

/** Retire the old database once clients use the new one, or record why it is kept (targets/<kind>/retire.ts). */
// 'RetireInstance': the state name in the ASL, which the CLI and the evidence read.
export const retireDatabase = stepFor<RetireInstanceResult>('RetireInstance', RETIRE_DATABASE);
