import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  CreateDBClusterCommand,
  CreateDBClusterParameterGroupCommand,
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
} from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';

/**
 * The sample the demo rotates, and the resources `events/break-glass.json` names: an encrypted
 * PostgreSQL instance with a custom parameter group, two security groups, tags and deletion
 * protection, and a hosted zone whose CNAME points at it. Only ever run against the emulator.
 */
export const SAMPLE = {
  dbInstanceIdentifier: 'orders-db',
  parameterGroupName: 'orders-postgres16',
  securityGroupIds: ['sg-0a1b2c3d4e5f60001', 'sg-0a1b2c3d4e5f60002'],
  keyAlias: 'alias/orders-db',
  zoneName: 'db.example.internal',
  recordName: 'orders.db.example.internal',
  tags: { team: 'orders', environment: 'production', 'cost-center': 'cc-1234' },
} as const;

export interface SeededSample {
  dbInstanceIdentifier: string;
  endpointAddress: string;
  oldKeyArn: string;
  hostedZoneId: string;
  recordName: string;
}

export const seedSample = async (options: { dbInstanceIdentifier?: string } = {}): Promise<SeededSample> => {
  const { rds, kms, route53 } = getClients();
  const dbInstanceIdentifier = options.dbInstanceIdentifier ?? SAMPLE.dbInstanceIdentifier;

  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({
      Description: `Sample key for ${dbInstanceIdentifier} (the key Rekey rotates away from)`,
      Tags: [{ TagKey: 'team', TagValue: 'orders' }],
    }),
  );
  const oldKeyArn = KeyMetadata?.Arn as string;
  await kms.send(
    new CreateAliasCommand({ AliasName: `alias/${dbInstanceIdentifier}`, TargetKeyId: KeyMetadata?.KeyId }),
  );

  await rds.send(
    new CreateDBParameterGroupCommand({
      DBParameterGroupName: SAMPLE.parameterGroupName,
      DBParameterGroupFamily: 'postgres16',
      Description: 'Orders database parameters',
    }),
  );
  const { DBInstance } = await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: dbInstanceIdentifier,
      Engine: 'postgres',
      EngineVersion: '16.3',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: 50,
      MaxAllocatedStorage: 200,
      StorageType: 'gp3',
      MasterUsername: 'orders_admin',
      MasterUserPassword: 'sample-password-not-secret',
      DBName: 'orders',
      StorageEncrypted: true,
      KmsKeyId: oldKeyArn,
      DBParameterGroupName: SAMPLE.parameterGroupName,
      VpcSecurityGroupIds: [...SAMPLE.securityGroupIds],
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      PreferredBackupWindow: '03:00-03:30',
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
      Tags: Object.entries(SAMPLE.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  const endpointAddress = DBInstance?.Endpoint?.Address as string;

  const { HostedZone } = await route53.send(
    new CreateHostedZoneCommand({ Name: SAMPLE.zoneName, CallerReference: `rekey-sample-${Date.now()}` }),
  );
  const hostedZoneId = (HostedZone?.Id ?? '').replace('/hostedzone/', '');
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: {
              Name: SAMPLE.recordName,
              Type: 'CNAME',
              TTL: 60,
              ResourceRecords: [{ Value: endpointAddress }],
            },
          },
        ],
      },
    }),
  );
  return { dbInstanceIdentifier, endpointAddress, oldKeyArn, hostedZoneId, recordName: SAMPLE.recordName };
};

/** The Aurora sample `events/aurora-cluster.json` names: a PostgreSQL cluster with a writer and a reader. */
export const CLUSTER_SAMPLE = {
  dbClusterIdentifier: 'orders-aurora',
  clusterParameterGroupName: 'orders-aurora-pg16',
  instanceParameterGroupName: 'orders-aurora-instance-pg16',
  members: [
    {
      id: 'orders-aurora-1',
      dbInstanceClass: 'db.r6g.large',
      promotionTier: 0,
      availabilityZone: 'us-east-1a',
    },
    {
      id: 'orders-aurora-2',
      dbInstanceClass: 'db.r6g.xlarge',
      promotionTier: 2,
      availabilityZone: 'us-east-1b',
    },
  ],
  recordName: 'orders-aurora.db.example.internal',
  readerRecordName: 'orders-aurora-ro.db.example.internal',
  tags: { team: 'orders', environment: 'production', 'cost-center': 'cc-1234' },
} as const;

export interface SeededClusterSample {
  dbClusterIdentifier: string;
  endpointAddress: string;
  readerEndpointAddress: string;
  oldKeyArn: string;
  hostedZoneId: string;
  recordName: string;
  readerRecordName: string;
  members: string[];
}

/** Seeds the Aurora sample; in the sample's hosted zone when given, else in a new one. */
export const seedClusterSample = async (
  options: { hostedZoneId?: string } = {},
): Promise<SeededClusterSample> => {
  const { rds, kms, route53 } = getClients();
  const id = CLUSTER_SAMPLE.dbClusterIdentifier;
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({ Description: `Sample key for ${id} (the key Rekey rotates away from)` }),
  );
  const oldKeyArn = KeyMetadata?.Arn as string;
  await kms.send(new CreateAliasCommand({ AliasName: `alias/${id}`, TargetKeyId: KeyMetadata?.KeyId }));
  await rds.send(
    new CreateDBClusterParameterGroupCommand({
      DBClusterParameterGroupName: CLUSTER_SAMPLE.clusterParameterGroupName,
      DBParameterGroupFamily: 'aurora-postgresql16',
      Description: 'Orders Aurora cluster parameters',
    }),
  );
  await rds.send(
    new CreateDBParameterGroupCommand({
      DBParameterGroupName: CLUSTER_SAMPLE.instanceParameterGroupName,
      DBParameterGroupFamily: 'aurora-postgresql16',
      Description: 'Orders Aurora instance parameters',
    }),
  );
  const { DBCluster } = await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: id,
      Engine: 'aurora-postgresql',
      EngineVersion: '16.4',
      MasterUsername: 'orders_admin',
      MasterUserPassword: 'sample-password-not-secret',
      DatabaseName: 'orders',
      Port: 5432,
      StorageEncrypted: true,
      KmsKeyId: oldKeyArn,
      DBClusterParameterGroupName: CLUSTER_SAMPLE.clusterParameterGroupName,
      VpcSecurityGroupIds: [...SAMPLE.securityGroupIds],
      DeletionProtection: true,
      BackupRetentionPeriod: 7,
      PreferredBackupWindow: '03:00-03:30',
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      CopyTagsToSnapshot: true,
      EnableIAMDatabaseAuthentication: true,
      EnableCloudwatchLogsExports: ['postgresql'],
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 8 },
      Tags: Object.entries(CLUSTER_SAMPLE.tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  for (const member of CLUSTER_SAMPLE.members) {
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: member.id,
        DBClusterIdentifier: id,
        Engine: 'aurora-postgresql',
        DBInstanceClass: member.dbInstanceClass,
        PromotionTier: member.promotionTier,
        AvailabilityZone: member.availabilityZone,
        DBParameterGroupName: CLUSTER_SAMPLE.instanceParameterGroupName,
        AutoMinorVersionUpgrade: false,
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
        Tags: [{ Key: 'team', Value: 'orders' }],
      }),
    );
  }
  const endpointAddress = DBCluster?.Endpoint as string;
  const readerEndpointAddress = DBCluster?.ReaderEndpoint as string;

  let hostedZoneId = options.hostedZoneId;
  if (!hostedZoneId) {
    const { HostedZone } = await route53.send(
      new CreateHostedZoneCommand({
        Name: SAMPLE.zoneName,
        CallerReference: `rekey-aurora-sample-${Date.now()}`,
      }),
    );
    hostedZoneId = (HostedZone?.Id ?? '').replace('/hostedzone/', '');
  }
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Changes: [
          [CLUSTER_SAMPLE.recordName, endpointAddress],
          [CLUSTER_SAMPLE.readerRecordName, readerEndpointAddress],
        ].map(([Name, value]) => ({
          Action: 'CREATE' as const,
          ResourceRecordSet: { Name, Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: value }] },
        })),
      },
    }),
  );
  return {
    dbClusterIdentifier: id,
    endpointAddress,
    readerEndpointAddress,
    oldKeyArn,
    hostedZoneId,
    recordName: CLUSTER_SAMPLE.recordName,
    readerRecordName: CLUSTER_SAMPLE.readerRecordName,
    members: CLUSTER_SAMPLE.members.map((m) => m.id),
  };
};
