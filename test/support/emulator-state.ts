import { DescribeKeyCommand, ListAliasesCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import { ListHostedZonesCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';

/**
 * Everything a rotation could change, read from the emulator as plain sorted text: KMS keys and
 * their states, aliases (but AWS's own), DB instances (status, key, deletion protection), clusters, snapshots, every
 * record of every hosted zone, and the lock table's items. Two equal snapshots mean nothing changed.
 */
export const emulatorState = async (): Promise<string[]> => {
  const { rds, kms, route53, dynamodb } = getClients();
  const lines: string[] = [];
  const { Keys } = await kms.send(new ListKeysCommand({}));
  for (const key of Keys ?? []) {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }));
    lines.push(`key ${KeyMetadata?.KeyId} ${KeyMetadata?.KeyState}`);
  }
  const { Aliases } = await kms.send(new ListAliasesCommand({}));
  for (const alias of Aliases ?? []) {
    if (!alias.AliasName?.startsWith('alias/aws/'))
      lines.push(`alias ${alias.AliasName} ${alias.TargetKeyId}`);
  }
  const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({}));
  for (const db of DBInstances ?? []) {
    lines.push(
      `instance ${db.DBInstanceIdentifier} ${db.DBInstanceStatus} ${db.KmsKeyId} protection=${db.DeletionProtection}`,
    );
  }
  const { DBClusters } = await rds.send(new DescribeDBClustersCommand({}));
  for (const cluster of DBClusters ?? [])
    lines.push(`cluster ${cluster.DBClusterIdentifier} ${cluster.Status}`);
  const { DBSnapshots } = await rds.send(new DescribeDBSnapshotsCommand({}));
  for (const snapshot of DBSnapshots ?? [])
    lines.push(`snapshot ${snapshot.DBSnapshotIdentifier} ${snapshot.Status}`);
  const { HostedZones } = await route53.send(new ListHostedZonesCommand({}));
  for (const zone of HostedZones ?? []) {
    const { ResourceRecordSets } = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id }),
    );
    for (const record of ResourceRecordSets ?? []) {
      lines.push(
        `record ${zone.Id} ${record.Name} ${record.Type} ${record.ResourceRecords?.map((r) => r.Value).join(',')}`,
      );
    }
  }
  try {
    const { Items } = await dynamodb.send(new ScanCommand({ TableName: LOCAL_LOCK_TABLE }));
    for (const item of Items ?? []) lines.push(`lock ${item.lockKey} ${item.rotationId}`);
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  return lines.sort();
};
