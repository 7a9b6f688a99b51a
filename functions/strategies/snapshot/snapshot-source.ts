import type { SnapshotResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { SNAPSHOT_SOURCE } from '#targets/registry.js';

/** Snapshot the source under the old key and wait until the snapshot is available (targets/<kind>/snapshot.ts). */
export const snapshotSource = stepFor<SnapshotResult>('SnapshotSource', SNAPSHOT_SOURCE);
