import type { SnapshotResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { COPY_SNAPSHOT } from '#targets/registry.js';

/**
 * Copy the source snapshot under the new key, which re-encrypts the data (targets/<kind>/copy.ts).
 * DB instances only: the state machine takes an Aurora cluster from SnapshotSource straight to
 * RestoreInstance, whose cluster restore re-encrypts (targets/cluster/copy.ts).
 */
export const copySnapshot = stepFor<SnapshotResult>('CopySnapshot', COPY_SNAPSHOT);
