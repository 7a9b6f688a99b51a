import { ModifyDBClusterCommand, StopDBClusterCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopCluster } from '#targets/cluster/stop.js';

import {
  ASIDE,
  kms,
  RENAME,
  rds,
  route53,
  SOURCE,
  sourceCluster,
  state,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: stop', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('stop', () => {
    it('stops the source cluster when there is nothing to change first', async () => {
      // Prepare
      world({ clusters: [sourceCluster()] });
      rds.on(StopDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(StopDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(result).toMatchObject({ done: false, stoppedByRekey: true, status: 'stopping' });
    });

    it('lifts deletion protection without renaming when the old cluster will be deleted (no rename cutover)', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DeletionProtection: true })] });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        DeletionProtection: false,
        ApplyImmediately: true,
      });
      expect(rds.commandCalls(ModifyDBClusterCommand)[0]?.args[0].input).not.toHaveProperty(
        'NewDBClusterIdentifier',
      );
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
      expect(result).toMatchObject({ done: false, deletionProtectionLifted: true, renamedAside: false });
    });

    it('stops the source under its aside name once the rename is done', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE })] });
      rds.on(StopDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state(RENAME));

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).toHaveReceivedCommandWith(StopDBClusterCommand, { DBClusterIdentifier: ASIDE });
      expect(result).toMatchObject({ done: false, renamedAside: true });
    });

    it('is done once the cluster is stopped, calling nothing', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
      expect(result).toMatchObject({ done: true, status: 'stopped' });
    });

    it('ends the wait with ResourceFailedError when the source cluster failed', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'failed' })] });

      // Act / Assess
      await expect(stopCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(`The source DB cluster ${SOURCE} is in status "failed"`),
      });
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
    });
  });
});
