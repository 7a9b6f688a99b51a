import type { ConfigureResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { CONFIGURE_DATABASE } from '#targets/registry.js';

/** Apply to the new database what the restore could not take (targets/<kind>/configure.ts). */
// 'ConfigureInstance': the state name in the ASL, which the CLI and the evidence read.
export const configureDatabase = stepFor<ConfigureResult>('ConfigureInstance', CONFIGURE_DATABASE);
