import { CreateDBClusterSnapshotCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotCluster } from '#targets/cluster/snapshot.js';

import {
  ACCOUNT,
  ASIDE,
  kms,
  OLD_KEY,
  RENAME,
  RID,
  rds,
  route53,
  SOURCE,
  SOURCE_SNAPSHOT,
  snapshot,
  sourceCluster,
  state,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: snapshot', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('snapshot', () => {
    it("snapshots the source cluster under the rotation's name, with its user tags and the rotation tags, then polls", async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });
      rds.on(CreateDBClusterSnapshotCommand).resolves({
        DBClusterSnapshot: snapshot(SOURCE_SNAPSHOT, { Status: 'creating' }),
      });

      // Act
      const result = await snapshotCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CreateDBClusterSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBClusterSnapshotCommand, {
        DBClusterIdentifier: SOURCE,
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'source-snapshot' },
        ],
      });
      expect(result).toMatchObject({ done: false, snapshotIdentifier: SOURCE_SNAPSHOT, status: 'creating' });
      expect(result.poll).toEqual({
        attempt: 1,
        waitSeconds: 60,
        lastStatus: 'creating',
        since: expect.any(String),
        // The wait ends at RDS's "cluster snapshot created" for this snapshot.
        awaits: {
          sourceType: 'CLUSTER_SNAPSHOT',
          sourceIdentifier: SOURCE_SNAPSHOT,
          eventIds: ['RDS-EVENT-0075'],
        },
        checkedAt: expect.any(String),
      });
    });

    it('snapshots the source under its aside name after a rename cutover moved it', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })] });
      rds.on(CreateDBClusterSnapshotCommand).resolves({});

      // Act
      await snapshotCluster(state(RENAME));

      // Assess
      expect(rds).toHaveReceivedCommandWith(CreateDBClusterSnapshotCommand, {
        DBClusterIdentifier: ASIDE,
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
    });

    it('finds its own snapshot on a re-run and reports it done without taking a second one', async () => {
      // Prepare
      world({ clusters: [sourceCluster()], snapshots: [snapshot(SOURCE_SNAPSHOT)] });

      // Act
      const result = await snapshotCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(CreateDBClusterSnapshotCommand);
      expect(result).toEqual({
        done: true,
        snapshotIdentifier: SOURCE_SNAPSHOT,
        snapshotArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster-snapshot:${SOURCE_SNAPSHOT}`,
        kmsKeyId: OLD_KEY,
        status: 'available',
      });
    });

    it('ends the wait with ResourceFailedError when the snapshot failed', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT, { Status: 'failed' })] });

      // Act / Assess
      await expect(snapshotCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The source cluster snapshot ${SOURCE_SNAPSHOT} is in status "failed"`,
        ),
      });
    });

    it('refuses a snapshot of its name that another rotation took, creating nothing', async () => {
      // Prepare
      world({
        snapshots: [
          snapshot(SOURCE_SNAPSHOT, { TagList: [{ Key: 'rekey:rotation-id', Value: 'rkffffffffff' }] }),
        ],
      });

      // Act / Assess
      await expect(snapshotCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('its rekey:rotation-id tag is "rkffffffffff"'),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBClusterSnapshotCommand);
    });
  });
});
