import { StartDBClusterCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { startCluster } from '#targets/cluster/start.js';

import { kms, rds, route53, SOURCE, sourceCluster, state, world } from '../../../support/cluster-steps.js';

describe('Aurora cluster: start (cutover "none")', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('start (cutover "none")', () => {
    it('starts the source cluster Rekey stopped, then waits', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });
      rds.on(StartDBClusterCommand).resolves({});

      // Act
      const result = await startCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(result).toMatchObject({ done: false, started: true, status: 'starting' });
    });

    it('is done when the source is available again, without starting it twice', async () => {
      // Prepare
      world({ clusters: [sourceCluster()] });

      // Act
      const result = await startCluster(
        state({ type: 'none' }, { startSource: { done: false, started: true, status: 'starting' } }),
      );

      // Assess
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toEqual({ done: true, status: 'available', started: true });
    });

    it('does not start a source it did not stop', async () => {
      // Prepare
      const current = state({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });

      // Act
      const result = await startCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toMatchObject({ done: true, started: false });
    });

    it('ends the wait with ResourceFailedError when the source cannot use its key', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'inaccessible-encryption-credentials-recoverable' })] });

      // Act / Assess
      await expect(startCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
      });
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
    });
  });
});
