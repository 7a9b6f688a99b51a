import type { SnapshotResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { COPY_SNAPSHOT } from '#targets/registry.js';

/** Copy the source snapshot under the new key, which re-encrypts the data (targets/<kind>/copy.ts). */
export const copySnapshot = stepFor<SnapshotResult>('CopySnapshot', COPY_SNAPSHOT);
