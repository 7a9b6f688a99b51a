import type { RestoreResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { RESTORE_DATABASE } from '#targets/registry.js';

/**
 * Restore the new database with the source's configuration (targets/<kind>/restore.ts): an
 * instance from the re-encrypted copy, an Aurora cluster from the source snapshot with `KmsKeyId` =
 * the new key (no copy).
 */
// 'RestoreInstance': the state name in the ASL, which the CLI and the evidence read.
export const restoreDatabase = stepFor<RestoreResult>('RestoreInstance', RESTORE_DATABASE);
