import {
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DBParameterGroupNotFoundFault,
  DescribeDBInstancesCommand,
  InsufficientDBInstanceCapacityFault,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { restoreDatabase } from '#strategies/snapshot/restore-database.js';
import { newInstanceOf } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const NEW_ID = 'orders-db-rk05e5c03bc0';
const COPY_ID = 'rekey-orders-db-rk05e5c03bc0-reencrypted';
const state = () => stepEvent('restore-database');
const notFound = () =>
  new DBInstanceNotFoundFault({ message: `DBInstance ${NEW_ID} not found.`, $metadata: {} });
const withStatus = (status: string) => ({
  DBInstances: [newInstanceOf(state(), { DBInstanceStatus: status })],
});

describe('restore-instance', () => {
  beforeEach(() => {
    rds.reset();
  });

  it("restores from the re-encrypted copy with the source's configuration and no KmsKeyId", async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).rejects(notFound());
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({
      DBInstance: newInstanceOf(state(), { DBInstanceStatus: 'creating' }),
    });

    // Act
    const result = await restoreDatabase(state());

    // Assess
    expect(result).toMatchObject({
      done: false,
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${NEW_ID}`,
      status: 'creating',
      // The expected restore of 50 GiB (900 s + 2 s per GiB: 1,000 s) in four equal steps.
      poll: { attempt: 1, waitSeconds: 250, lastStatus: 'creating', expected: { seconds: 1000 } },
    });
    expect(rds).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
    const input = rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      DBInstanceIdentifier: NEW_ID,
      DBSnapshotIdentifier: COPY_ID,
      DBInstanceClass: 'db.t3.medium',
      DBParameterGroupName: 'orders-postgres16',
      DBSubnetGroupName: 'orders-private',
      VpcSecurityGroupIds: ['sg-0a1b2c3d4e5f60001', 'sg-0a1b2c3d4e5f60002'],
      MultiAZ: false,
      AvailabilityZone: 'us-east-1a',
      Port: 5432,
      PubliclyAccessible: false,
      StorageType: 'gp3',
      AllocatedStorage: 50,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      BackupRetentionPeriod: 7,
      PreferredBackupWindow: '03:00-03:30',
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      NetworkType: 'IPV4',
    });
    // The restore has no KmsKeyId: the instance takes the key of the copy.
    expect(input).not.toHaveProperty('KmsKeyId');
    // A default option group is the one the restore keeps anyway.
    expect(input).not.toHaveProperty('OptionGroupName');
    expect(input?.Tags).toEqual([
      { Key: 'environment', Value: 'production' },
      { Key: 'team', Value: 'orders' },
      { Key: 'rekey:rotation-id', Value: 'rk05e5c03bc0' },
      { Key: 'rekey:source-db', Value: 'orders-db' },
      { Key: 'rekey:role', Value: 'new-instance' },
    ]);
  });

  it('passes a custom option group', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).rejects(notFound());
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    const current = state();
    current.plan.source.config.optionGroupName = 'orders-postgres16-options';

    // Act
    const result = await restoreDatabase(current);

    // Assess
    expect(result).toMatchObject({ done: false, status: 'creating' });
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, {
      OptionGroupName: 'orders-postgres16-options',
    });
  });

  it('polls, without restoring again, while a re-run finds its instance being created', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('backing-up'));
    const current = state();
    current.restore = {
      done: false,
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: null,
      status: 'creating',
      poll: { attempt: 2, waitSeconds: 30, lastStatus: 'creating' },
    };

    // Act
    const result = await restoreDatabase(current);

    // Assess
    expect(result).toMatchObject({
      done: false,
      status: 'backing-up',
      poll: { attempt: 3, waitSeconds: 250 },
    });
    expect(rds).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it('is done, without restoring again, when a re-run finds its instance available', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('available'));

    // Act
    const result = await restoreDatabase(state());

    // Assess
    expect(result).toEqual({
      done: true,
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${NEW_ID}`,
      status: 'available',
      differencesAfterRestore: [],
    });
    expect(rds).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it('says, once done, which fields the restore left different from the source (for ConfigureInstance)', async () => {
    // Prepare: the restore could not take the maintenance window and max storage.
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        newInstanceOf(state(), {
          DBInstanceStatus: 'available',
          MaxAllocatedStorage: undefined,
          PreferredMaintenanceWindow: 'mon:00:00-mon:00:30',
        }),
      ],
    });

    // Act
    const result = await restoreDatabase(state());

    // Assess
    expect(result.differencesAfterRestore).toEqual(['maxAllocatedStorage', 'preferredMaintenanceWindow']);
  });

  it('keeps polling when a racing attempt already started the restore (DBInstanceAlreadyExists)', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).rejects(notFound());
    rds
      .on(RestoreDBInstanceFromDBSnapshotCommand)
      .rejects(new DBInstanceAlreadyExistsFault({ message: 'DB instance already exists', $metadata: {} }));

    // Act
    const result = await restoreDatabase(state());

    // Assess
    expect(result).toMatchObject({ done: false, status: 'creating', poll: { attempt: 1 } });
  });

  it("never adopts an instance of the same name that lacks this rotation's tag", async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [newInstanceOf(state(), { TagList: [{ Key: 'team', Value: 'billing' }] })],
    });

    // Act / Assess
    await expect(restoreDatabase(state())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(
        `${NEW_ID} already exists, but it was not created by rotation rk05e5c03bc0`,
      ),
    });
    expect(rds).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  it.each([
    [
      'a missing parameter group',
      new DBParameterGroupNotFoundFault({
        message: 'DBParameterGroup not found: orders-postgres16',
        $metadata: {},
      }),
    ],
    [
      'no capacity for the class',
      new InsufficientDBInstanceCapacityFault({
        message:
          'Cannot create a database instance because there is no capacity for db.t3.medium in us-east-1a.',
        $metadata: {},
      }),
    ],
  ])(
    'keeps the SDK error name when RDS refuses the restore (%s), and says what to do',
    async (_case, fault) => {
      // Prepare
      rds.on(DescribeDBInstancesCommand).rejects(notFound());
      rds.on(RestoreDBInstanceFromDBSnapshotCommand).rejects(fault);

      // Act
      const failure = await restoreDatabase(state()).catch((error: Error) => error);

      // Assess: the name the README's error table promises, the message quoting AWS and naming the fix.
      expect(failure).toMatchObject({
        name: fault.name,
        message: expect.stringContaining(
          `RDS refused to restore ${NEW_ID} from the re-encrypted snapshot ${COPY_ID}`,
        ),
      });
      expect((failure as Error).message).toContain(`${fault.name}: ${fault.message}`);
      expect((failure as Error).message).toContain('Fix what RDS names');
    },
  );

  it('fails with ResourceFailedError when the new instance reaches a terminal status', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('incompatible-restore'));

    // Act / Assess
    await expect(restoreDatabase(state())).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringContaining('incompatible-restore'),
    });
  });

  it('fails with ResourceFailedError when someone deletes the new instance during the restore', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('deleting'));

    // Act / Assess
    await expect(restoreDatabase(state())).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringContaining('being deleted'),
    });
  });

  it('gives up with WaitTimeoutError after its iteration cap', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('creating'));
    const current = state();
    current.restore = {
      done: false,
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: null,
      status: 'creating',
      poll: { attempt: 150, waitSeconds: 300, lastStatus: 'creating' },
    };

    // Act / Assess
    await expect(restoreDatabase(current)).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });
});
