import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand, CreateDBParameterGroupCommand } from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { getClients } from '../functions/commons/clients.js';

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
