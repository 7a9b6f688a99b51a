import type { RestoreResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { RESTORE_DATABASE } from '#targets/registry.js';

/** Restore the new database from the re-encrypted copy with the source's configuration (targets/<kind>/restore.ts). */
// 'RestoreInstance': the state name in the ASL, which the CLI and the evidence read.
export const restoreDatabase = stepFor<RestoreResult>('RestoreInstance', RESTORE_DATABASE);
