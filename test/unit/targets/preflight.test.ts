import {
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  NotFoundException,
} from '@aws-sdk/client-kms';
import {
  DBClusterNotFoundFault,
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DescribeAccountAttributesCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KEY_PENDING_WINDOW_DAYS as WINDOW } from '#domain/limits.js';
import { namesFor, rotationIdFor } from '#domain/naming.js';
import type { PreflightInput } from '#targets/ops.js';
import { preflight } from '#targets/preflight.js';
import { executionInput, preflightEvent } from '../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const route53 = mockClient(Route53Client);

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const ENDPOINT = 'orders-db.abcdefghij.us-east-1.rds.amazonaws.com';
const source = (overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: 'orders-db',
  DBInstanceArn: 'arn:aws:rds:us-east-1:123456789012:db:orders-db',
  DBInstanceStatus: 'available',
  Engine: 'postgres',
  EngineVersion: '16.3',
  DBInstanceClass: 'db.t3.medium',
  StorageEncrypted: true,
  KmsKeyId: KEY_ARN,
  Endpoint: { Address: ENDPOINT, Port: 5432 },
  ...overrides,
});
/** The names preflight plans for the sample execution. */
const PLANNED = namesFor(rotationIdFor(preflightEvent().executionId), 'orders-db');

const event = (input: unknown = executionInput('scheduled-rotation')): PreflightInput => ({
  ...preflightEvent(),
  input,
});

describe('preflight', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolves({ DBInstances: [source()] });
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(new DBSnapshotNotFoundFault({ message: 'not found', $metadata: {} }));
    rds.on(DescribeAccountAttributesCommand).resolves({
      AccountQuotas: [{ AccountQuotaName: 'ManualSnapshots', Used: 10, Max: 100 }],
    });
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolves({ DBInstances: [source()] });
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: 'k',
        Arn: KEY_ARN,
        KeyState: 'Enabled',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
      },
    });
    kms
      .on(DescribeKeyCommand, { KeyId: PLANNED.keyAlias })
      .rejects(new NotFoundException({ message: 'Alias not found', $metadata: {} }));
    route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [{ Id: '/hostedzone/Z0123456789ABC', Name: 'db.example.internal.', CallerReference: 'c' }],
      IsTruncated: false,
      MaxItems: 100,
    });
    route53
      .on(GetHostedZoneCommand)
      .resolves({ HostedZone: { Id: '/hostedzone/Z0123456789ABC', Name: 'x.', CallerReference: 'c' } });
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        {
          Name: 'orders.db.example.internal.',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: ENDPOINT }],
        },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });
  });

  it('refuses bad input before calling AWS at all', async () => {
    // Act
    const attempt = preflight(
      event({
        dbInstanceIdentifier: 'orders-db',
        cutover: { type: 'none' },
        oldKeyPendingWindowDays: WINDOW.max + 1,
      }),
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(
        new RegExp(
          `oldKeyPendingWindowDays: must be ${WINDOW.min} to ${WINDOW.max} days.*\\(given: ${WINDOW.max + 1}\\).*reason: is required`,
        ),
      ),
    });
    expect(rds.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
    expect(route53.calls()).toHaveLength(0);
  });

  it('plans the rotation and reads only', async () => {
    // Act
    const plan = await preflight(event());
    const fromSample = await preflight(preflightEvent());

    // Assess
    expect(plan.cutover).toMatchObject({
      type: 'cname',
      hostedZoneId: 'Z0123456789ABC',
      previousValue: ENDPOINT,
    });
    expect(plan.source.kmsKeyArn).toBe(KEY_ARN);
    expect(fromSample.rotationId).toBe('rk05e5c03bc0');
    const writes = [...rds.calls(), ...kms.calls(), ...route53.calls()].filter(
      (call) =>
        !/^(Describe|List|Get)/.test((call.args[0] as { constructor: { name: string } }).constructor.name),
    );
    expect(writes).toHaveLength(0);
  });

  it.each([
    [
      'a pending modification',
      source({ PendingModifiedValues: { DBInstanceClass: 'db.r6g.large' } }),
      'pending modifications (DBInstanceClass)',
    ],
    [
      'a read replica',
      source({ ReadReplicaSourceDBInstanceIdentifier: 'orders-primary' }),
      'is a read replica of orders-primary',
    ],
    [
      'an Aurora member',
      source({ DBClusterIdentifier: 'orders-cluster' }),
      'member of the Aurora cluster orders-cluster',
    ],
    [
      'a primary with replicas',
      source({ ReadReplicaDBInstanceIdentifiers: ['orders-replica'] }),
      'has read replicas (orders-replica)',
    ],
    ['an unencrypted instance', source({ StorageEncrypted: false, KmsKeyId: undefined }), 'is not encrypted'],
    ['Multi-AZ SQL Server', source({ Engine: 'sqlserver-se', MultiAZ: true }), 'cannot stop'],
    ['an RDS Custom instance', source({ Engine: 'custom-oracle-ee' }), 'RDS Custom instance'],
    [
      'a Secrets Manager-managed master password',
      source({
        MasterUserSecret: { SecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1' },
      }),
      'keeps its master password in Secrets Manager',
    ],
    [
      'more tags than RDS allows beside the rotation tags',
      source({ TagList: Array.from({ length: 48 }, (_, i) => ({ Key: `tag-${i}`, Value: 'x' })) }),
      'has 48 tags',
    ],
  ])('refuses %s with a message that says why', async (_case, db, message) => {
    // Prepare
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' }).resolves({ DBInstances: [db] });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(message),
    });
  });

  describe('decides the kind from what RDS reports, not from the input field', () => {
    const clusterNotFound = () => new DBClusterNotFoundFault({ message: 'not found', $metadata: {} });
    const withoutTarget = () => {
      const { dbInstanceIdentifier: _target, ...input } = executionInput('scheduled-rotation');
      return { ...input, cutover: { type: 'none' } };
    };
    const onlyReads = () =>
      [...rds.calls(), ...kms.calls(), ...route53.calls()].every((call) =>
        /^(Describe|List|Get)/.test((call.args[0] as { constructor: { name: string } }).constructor.name),
      );

    it('refuses a cluster named in dbInstanceIdentifier and says which field to use', async () => {
      // Prepare
      rds.on(DescribeDBClustersCommand).rejects(clusterNotFound());
      rds
        .on(DescribeDBClustersCommand, { DBClusterIdentifier: 'orders-aurora' })
        .resolves({ DBClusters: [{ DBClusterIdentifier: 'orders-aurora', Engine: 'aurora-postgresql' }] });

      // Act
      const attempt = preflight(event({ ...withoutTarget(), dbInstanceIdentifier: 'orders-aurora' }));

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message:
          'dbInstanceIdentifier: "orders-aurora" is a DB cluster, not a DB instance. Nothing was changed; ' +
          'give "dbClusterIdentifier": "orders-aurora" instead of "dbInstanceIdentifier".',
      });
      expect(onlyReads()).toBe(true);
    });

    it('refuses an instance named in dbClusterIdentifier and says which field to use', async () => {
      // Prepare
      rds.on(DescribeDBClustersCommand).rejects(clusterNotFound());

      // Act
      const attempt = preflight(event({ ...withoutTarget(), dbClusterIdentifier: 'orders-db' }));

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message:
          'dbClusterIdentifier: "orders-db" is a DB instance, not a DB cluster. Nothing was changed; ' +
          'give "dbInstanceIdentifier": "orders-db" instead of "dbClusterIdentifier".',
      });
      expect(onlyReads()).toBe(true);
    });

    it('refuses an Aurora member named in dbInstanceIdentifier and names its cluster', async () => {
      // Prepare
      rds
        .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
        .resolves({ DBInstances: [source({ DBClusterIdentifier: 'orders-cluster' })] });

      // Act
      const attempt = preflight(event());

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringMatching(
          /^dbInstanceIdentifier: orders-db is a member of the Aurora cluster orders-cluster\. .*give "dbClusterIdentifier": "orders-cluster" instead of "dbInstanceIdentifier"\.$/,
        ),
      });
      expect(rds).not.toHaveReceivedCommand(DescribeDBClustersCommand);
    });

    it('says the instance does not exist when RDS has no database of that name at all', async () => {
      // Prepare
      rds.on(DescribeDBClustersCommand).rejects(clusterNotFound());

      // Act
      const attempt = preflight(event({ ...withoutTarget(), dbInstanceIdentifier: 'no-such-db' }));

      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('dbInstanceIdentifier: no DB instance "no-such-db"'),
      });
    });
  });

  it.each([
    ['disabled', { KeyState: 'Disabled' }, 'is Disabled'],
    ['pending deletion', { KeyState: 'PendingDeletion' }, 'cancel-key-deletion'],
    ['asymmetric', { KeySpec: 'RSA_2048' }, 'RSA_2048'],
    [
      'in another Region',
      { Arn: 'arn:aws:kms:eu-west-1:123456789012:key/x' },
      'is in eu-west-1, not us-east-1',
    ],
  ])('refuses a source key that is %s', async (_case, metadata, message) => {
    // Prepare
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: 'k',
        Arn: KEY_ARN,
        KeyState: 'Enabled',
        KeyManager: 'CUSTOMER',
        KeySpec: 'SYMMETRIC_DEFAULT',
        ...metadata,
      } as never,
    });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(message),
    });
  });

  it('rotates away from the AWS-managed aws/rds key but never plans to retire it', async () => {
    // Prepare
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: 'k',
        Arn: KEY_ARN,
        KeyState: 'Enabled',
        KeyManager: 'AWS',
        KeySpec: 'SYMMETRIC_DEFAULT',
      },
    });
    kms
      .on(DescribeKeyCommand, { KeyId: PLANNED.keyAlias })
      .rejects(new NotFoundException({ message: 'Alias not found', $metadata: {} }));

    // Act
    const plan = await preflight(event());

    // Assess
    expect(plan.decisions).toMatchObject({ retireOldKey: false, deleteOldInstance: true });
    expect(plan.decisions.keepOldKeyReason).toContain('AWS-managed aws/rds key');
  });

  it('refuses when the manual snapshot quota has no room for two more', async () => {
    // Prepare
    rds.on(DescribeAccountAttributesCommand).resolves({
      AccountQuotas: [{ AccountQuotaName: 'ManualSnapshots', Used: 99, Max: 100 }],
    });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      message: expect.stringContaining('99 of 100 manual DB snapshots'),
    });
  });

  it('refuses when the new instance name is taken by something that is not this rotation', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [source({ DBInstanceIdentifier: 'taken', TagList: [{ Key: 'team', Value: 'x' }] })],
    });
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolves({ DBInstances: [source()] });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      message: expect.stringContaining('already exists and does not belong to this rotation'),
    });
  });

  it('refuses when the key alias it would create points at a key that is not this rotation’s', async () => {
    // Prepare
    kms.on(DescribeKeyCommand, { KeyId: PLANNED.keyAlias }).resolves({
      KeyMetadata: { KeyId: 'stranger', Arn: 'arn:aws:kms:us-east-1:123456789012:key/stranger' },
    });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'team', TagValue: 'x' }] });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(`The KMS alias ${PLANNED.keyAlias} already exists`),
    });
  });

  it('refuses a record that is not a CNAME', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: 'orders.db.example.internal.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });

    // Act / Assess
    await expect(preflight(event())).rejects.toMatchObject({
      message: expect.stringContaining('is of type A, not CNAME'),
    });
  });
});
