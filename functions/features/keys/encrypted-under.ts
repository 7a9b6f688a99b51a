import {
  DescribeDBClusterAutomatedBackupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { isSameKey, type KeyScope } from '#aws/kms-keys.js';
import type { RotationPlan } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';

/**
 * The inventory RetireKey takes before it schedules the old key's deletion: every RDS resource in
 * the account and Region still encrypted under the key. Read-only.
 */

/** RDS Describe* pages: 100 is the largest MaxRecords RDS accepts. */
const PAGE_SIZE = 100;

export type ResourceKind =
  | 'db-instance'
  | 'db-cluster'
  | 'db-snapshot'
  | 'db-cluster-snapshot'
  | 'db-instance-automated-backup'
  | 'db-cluster-automated-backup';

/** An RDS resource whose data (or Performance Insights data) is encrypted under the old key. */
export interface EncryptedResource {
  kind: ResourceKind;
  id: string;
  /** What a person needs to know beyond the id, e.g. "Performance Insights" or "automated". */
  detail?: string;
}

export const label = (r: EncryptedResource): string => `${r.kind}:${r.id}`;
export const describe = (r: EncryptedResource): string => (r.detail ? `${label(r)} (${r.detail})` : label(r));

/** Every page of an RDS Describe* call (Marker pagination). */
const allPages = async <T>(
  fetch: (marker: string | undefined) => Promise<{ items: T[] | undefined; marker: string | undefined }>,
): Promise<T[]> => {
  const items: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetch(marker);
    items.push(...(page.items ?? []));
    marker = page.marker;
  } while (marker);
  return items;
};

/**
 * Everything in this account and Region that RDS keeps encrypted under the key:
 * DB instances (storage and Performance Insights, read replicas included), DB clusters (storage and
 * Performance Insights; Aurora, Multi-AZ clusters, Neptune and DocumentDB share this API), manual,
 * automated and AWS Backup DB snapshots, DB cluster snapshots, and retained automated backups.
 */
export const resourcesEncryptedUnder = async (
  rds: RDSClient,
  keyArn: string,
  plan: RotationPlan,
): Promise<EncryptedResource[]> => {
  const scope: KeyScope = plan;
  const under = (keyId: string | undefined) => isSameKey(keyId, keyArn, scope);
  const found = new Map<string, EncryptedResource>();
  const add = (resource: EncryptedResource) => {
    if (!found.has(label(resource))) found.set(label(resource), resource);
  };

  const instances = await allPages(async (Marker) => {
    const page = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: PAGE_SIZE, Marker }));
    return { items: page.DBInstances, marker: page.Marker };
  });
  for (const db of instances) {
    const id = db.DBInstanceIdentifier ?? db.DBInstanceArn ?? '(unnamed)';
    if (under(db.KmsKeyId)) add({ kind: 'db-instance', id });
    else if (under(db.PerformanceInsightsKMSKeyId))
      add({ kind: 'db-instance', id, detail: 'Performance Insights' });
  }

  const clusters = await allPages(async (Marker) => {
    const page = await rds.send(new DescribeDBClustersCommand({ MaxRecords: PAGE_SIZE, Marker }));
    return { items: page.DBClusters, marker: page.Marker };
  });
  for (const cluster of clusters) {
    const id = cluster.DBClusterIdentifier ?? cluster.DBClusterArn ?? '(unnamed)';
    if (under(cluster.KmsKeyId)) add({ kind: 'db-cluster', id });
    else if (under(cluster.PerformanceInsightsKMSKeyId))
      add({ kind: 'db-cluster', id, detail: 'Performance Insights' });
  }

  // Without a SnapshotType, RDS returns manual and automated snapshots but not AWS Backup's: ask for each.
  const snapshots: { kind: ResourceKind; id: string; keyId: string | undefined; type: string }[] = [];
  for (const SnapshotType of ['manual', 'automated', 'awsbackup']) {
    const listed = await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBSnapshotsCommand({ SnapshotType, MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBSnapshots, marker: page.Marker };
    });
    for (const snapshot of listed) {
      const id = snapshot.DBSnapshotIdentifier ?? snapshot.DBSnapshotArn ?? '(unnamed)';
      const type = snapshot.SnapshotType ?? SnapshotType;
      snapshots.push({ kind: 'db-snapshot', id, keyId: snapshot.KmsKeyId, type });
    }
  }
  for (const SnapshotType of ['manual', 'automated']) {
    const listed = await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBClusterSnapshotsCommand({ SnapshotType, MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBClusterSnapshots, marker: page.Marker };
    });
    for (const snapshot of listed) {
      const id = snapshot.DBClusterSnapshotIdentifier ?? snapshot.DBClusterSnapshotArn ?? '(unnamed)';
      const type = snapshot.SnapshotType ?? SnapshotType;
      snapshots.push({ kind: 'db-cluster-snapshot', id, keyId: snapshot.KmsKeyId, type });
    }
  }
  for (const { kind, id, keyId, type } of snapshots) {
    if (under(keyId)) add({ kind, id, ...(type !== 'manual' && { detail: type }) });
  }

  const backups = await allPages(async (Marker) => {
    const page = await rds.send(
      new DescribeDBInstanceAutomatedBackupsCommand({ MaxRecords: PAGE_SIZE, Marker }),
    );
    return { items: page.DBInstanceAutomatedBackups, marker: page.Marker };
  });
  for (const backup of backups) {
    // A backup of the source instance is under the old key even when the response leaves the key out (moto does).
    const ofSource =
      plan.kind === 'instance' &&
      (backup.DbiResourceId
        ? backup.DbiResourceId === plan.source.dbiResourceId
        : backup.DBInstanceIdentifier === plan.source.dbInstanceIdentifier);
    if (!under(backup.KmsKeyId) && !(ofSource && !backup.KmsKeyId)) continue;
    add({
      kind: 'db-instance-automated-backup',
      id:
        backup.DBInstanceIdentifier ??
        backup.DbiResourceId ??
        backup.DBInstanceAutomatedBackupsArn ??
        '(unnamed)',
      ...(backup.Status && { detail: backup.Status }),
    });
  }

  for (const backup of await clusterAutomatedBackups(rds)) {
    if (!under(backup.KmsKeyId)) continue;
    add({
      kind: 'db-cluster-automated-backup',
      id: backup.DBClusterIdentifier ?? backup.DbClusterResourceId ?? '(unnamed)',
      ...(backup.Status && { detail: backup.Status }),
    });
  }

  return [...found.values()];
};

/**
 * Retained automated backups of deleted DB clusters. moto 5.2.1 does not implement this action
 * (HTTP 500 with an HTML page); against an emulator endpoint only, that answer counts as "none".
 * Against AWS every error propagates.
 */
const clusterAutomatedBackups = async (rds: RDSClient) => {
  try {
    return await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBClusterAutomatedBackupsCommand({ MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBClusterAutomatedBackups, marker: page.Marker };
    });
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (process.env.AWS_ENDPOINT_URL && status === 500) {
      logger.warn('the emulator does not implement DescribeDBClusterAutomatedBackups; treated as none', {
        endpoint: process.env.AWS_ENDPOINT_URL,
      });
      return [];
    }
    throw error;
  }
};
