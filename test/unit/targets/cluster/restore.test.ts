import {
  CreateDBInstanceCommand,
  InsufficientDBClusterCapacityFault,
  KMSKeyNotAccessibleFault,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { restoreCluster } from '#targets/cluster/restore.js';
import { READER_CONFIG, WRITER_CONFIG } from '../../../support/cluster-fixtures.js';

import {
  kms,
  NEW_CLUSTER,
  NEW_KEY,
  NEW_READER,
  NEW_WRITER,
  newCluster,
  newMember,
  OLD_KEY,
  READER,
  RID,
  rds,
  route53,
  SOURCE,
  SOURCE_SNAPSHOT,
  snapshot,
  state,
  WRITER,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: restore', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('restore', () => {
    it("restores the new cluster straight from the source snapshot with KmsKeyId = the new key and the source's configuration, creating no member yet", async () => {
      // Prepare: the source snapshot is under the old key; there is no copy.
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT)] });
      rds
        .on(RestoreDBClusterFromSnapshotCommand)
        .resolves({ DBCluster: newCluster({ Status: 'creating', Endpoint: undefined }) });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(RestoreDBClusterFromSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(RestoreDBClusterFromSnapshotCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        SnapshotIdentifier: SOURCE_SNAPSHOT,
        KmsKeyId: NEW_KEY,
        Engine: 'aurora-postgresql',
        EngineVersion: '16.4',
        EngineMode: 'provisioned',
        Port: 5432,
        DBSubnetGroupName: 'orders-private',
        VpcSecurityGroupIds: ['sg-1', 'sg-2'],
        DBClusterParameterGroupName: 'orders-aurora-pg16',
        EnableIAMDatabaseAuthentication: true,
        EnableCloudwatchLogsExports: ['postgresql'],
        DeletionProtection: true,
        CopyTagsToSnapshot: true,
        BackupRetentionPeriod: 7,
        PreferredBackupWindow: '03:00-03:30',
        StorageType: 'aurora-iopt1',
        NetworkType: 'IPV4',
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'new-cluster' },
        ],
      });
      // Aurora PostgreSQL refuses any BacktrackWindow: it must not be sent when backtracking is off.
      expect(rds.commandCalls(RestoreDBClusterFromSnapshotCommand)[0]?.args[0].input).not.toHaveProperty(
        'BacktrackWindow',
      );
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      expect(result).toMatchObject({
        done: false,
        dbClusterIdentifier: NEW_CLUSTER,
        status: 'creating',
        restoredFrom: { snapshotIdentifier: SOURCE_SNAPSHOT, reencryptedBy: 'restore' },
        // Aurora gives no dependable size: the checks aim at the fixed 900 s of a restore, in three steps.
        poll: { waitSeconds: 300, expected: { seconds: 900 } },
      });
    });

    it('refuses to restore when the source snapshot is gone, and restores nothing', async () => {
      // Prepare
      world({});

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(`The source cluster snapshot ${SOURCE_SNAPSHOT} no longer exists`),
      });
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
    });

    it('never restores from a snapshot of that name that this rotation did not take', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT, { TagList: [] })] });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('Rekey never adopts a snapshot it did not create'),
      });
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
    });

    it('names both keys when RDS cannot use them for the restore', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT)] });
      rds
        .on(RestoreDBClusterFromSnapshotCommand)
        .rejects(new KMSKeyNotAccessibleFault({ message: 'key is disabled', $metadata: {} }));

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'KMSKeyNotAccessibleFault',
        message: expect.stringMatching(
          new RegExp(
            `under the new key ${NEW_KEY} \\(check that the old key ${OLD_KEY} and the new key are Enabled`,
          ),
        ),
      });
    });

    it('creates the writer first, in the new cluster with its class, AZ and promotion tier, and the reader only after it', async () => {
      // Prepare
      world({ clusters: [newCluster()] });
      rds.on(CreateDBInstanceCommand).callsFake(({ DBInstanceIdentifier }) => ({
        DBInstance: newMember(DBInstanceIdentifier, WRITER_CONFIG, { DBInstanceStatus: 'creating' }),
      }));

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
        DBInstanceIdentifier: NEW_WRITER,
        DBClusterIdentifier: NEW_CLUSTER,
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
        AvailabilityZone: 'us-east-1a',
        PromotionTier: 0,
        DBParameterGroupName: 'orders-aurora-instance-pg16',
        Tags: [
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'new-instance' },
        ],
      });
      expect(result.done).toBe(false);
      // The member's own expected time (600 s), counted from its creation, and its "instance created" event.
      expect(result.poll).toMatchObject({
        waitSeconds: 300,
        expected: { seconds: 600 },
        awaits: { sourceType: 'DB_INSTANCE', sourceIdentifier: NEW_WRITER, eventIds: ['RDS-EVENT-0005'] },
      });
      expect(result.members).toEqual([
        {
          sourceDbInstanceIdentifier: WRITER,
          dbInstanceIdentifier: NEW_WRITER,
          isWriter: true,
          status: 'creating',
        },
        {
          sourceDbInstanceIdentifier: READER,
          dbInstanceIdentifier: NEW_READER,
          isWriter: false,
          status: 'waiting-for-writer',
        },
      ]);
    });

    it('creates the reader with its own class, AZ and promotion tier once the writer is available', async () => {
      // Prepare
      world({ clusters: [newCluster()], instances: [newMember(NEW_WRITER, WRITER_CONFIG)] });
      rds.on(CreateDBInstanceCommand).resolves({
        DBInstance: newMember(NEW_READER, READER_CONFIG, { DBInstanceStatus: 'creating' }),
      });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
      expect(rds).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
        DBInstanceIdentifier: NEW_READER,
        DBClusterIdentifier: NEW_CLUSTER,
        DBInstanceClass: 'db.r6g.xlarge',
        AvailabilityZone: 'us-east-1b',
        PromotionTier: 1,
      });
      expect(result).toMatchObject({ done: false, status: `${NEW_READER}:creating` });
    });

    it('finds the cluster and both members on a re-run, creates nothing and is done with no differences', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG), newMember(NEW_READER, READER_CONFIG)],
      });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      expect(result).toMatchObject({ done: true, status: 'available', differencesAfterRestore: [] });
    });

    it('ends the wait with ResourceFailedError when the new cluster cannot use its key', async () => {
      // Prepare
      world({ clusters: [newCluster({ Status: 'inaccessible-encryption-credentials' })] });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The new DB cluster ${NEW_CLUSTER} is in status "inaccessible-encryption-credentials"`,
        ),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
    });

    it('ends the wait with ResourceFailedError when a new member fails', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG, { DBInstanceStatus: 'incompatible-parameters' })],
      });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The new DB instance ${NEW_WRITER} is in status "incompatible-parameters"`,
        ),
      });
    });

    it('keeps the SDK error name when RDS refuses the cluster restore, and says what to do', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT)] });
      rds
        .on(RestoreDBClusterFromSnapshotCommand)
        .rejects(
          new InsufficientDBClusterCapacityFault({ message: 'no capacity for the cluster', $metadata: {} }),
        );

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'InsufficientDBClusterCapacityFault',
        message: expect.stringMatching(
          new RegExp(
            `^RDS refused to restore the cluster ${NEW_CLUSTER} .*InsufficientDBClusterCapacityFault: no capacity for the cluster\\..*Fix what RDS names`,
          ),
        ),
      });
    });

    it('refuses a cluster of the new name that this rotation did not create, creating no member in it', async () => {
      // Prepare
      world({ clusters: [newCluster({ TagList: [] })] });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(`A DB cluster named ${NEW_CLUSTER} already exists`),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
    });
  });
});
