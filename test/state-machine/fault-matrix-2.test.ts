import { defineFaultMatrix } from '../support/fault-matrix.js';

// Issue 3, point 6, second half: from the configuration of the new instance to the release of the
// lock (see fault-matrix-1.test.ts).
defineFaultMatrix('fault matrix: configure, cutover, start, retire, release', [
  'ConfigureInstance',
  'Cutover',
  'StartSource',
  'RetireInstance',
  'RetireKey',
  'ReleaseLock',
]);
