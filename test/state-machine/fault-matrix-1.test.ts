import { defineFaultMatrix } from '../support/fault-matrix.js';

// Issue 3, point 6, first half: the steps up to the restore. The table, the expected outcome of
// each case and the invariants are in test/support/fault-matrix.ts; the matrix is split over two
// files so that the two vitest workers run it in parallel.
defineFaultMatrix('fault matrix: lock, new key, freeze, snapshot, copy, restore', [
  'AcquireLock',
  'CreateKey',
  'StopSource',
  'SnapshotSource',
  'CopySnapshot',
  'RestoreInstance',
]);
