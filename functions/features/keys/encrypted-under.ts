import {
  type DBSnapshot,
  DescribeDBClusterAutomatedBackupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { isSameKey } from '#aws/kms-keys.js';
import type { RekeyRole } from '#aws/ownership.js';
import { SCAN_BUDGETS } from '#domain/limits.js';
import { TAG_ROLE, TAG_ROTATION_ID } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { StepContext } from '#runtime/handler.js';
import { logger } from '#runtime/logger.js';

/**
 * The inventory RetireKey takes before it schedules the old key's deletion: every RDS resource in
 * the account and Region still encrypted under the key. Read-only. An account may hold tens of
 * thousands of snapshots, more than one Lambda invocation can page through, so the inventory is
 * taken a bounded share per call (SCAN_BUDGETS.rdsPagesPerInvocation pages, fewer when the
 * invocation's time runs short) and carries its progress to the next call.
 */

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

/** How many resources under the key the progress keeps by name (the execution state is limited to 256 KiB). */
export const KEPT_BY_NAME = 50;

/** Where the inventory stands between two calls. */
export interface Inventory {
  /** The list being read (an index into SOURCES) and the marker of its next page. */
  source: number;
  marker?: string;
  /** Pages read so far, over all calls. */
  pages: number;
  /** The first KEPT_BY_NAME resources under the key other than this rotation's own artifact. */
  blocking: EncryptedResource[];
  /** How many such resources there are in all. */
  blockingCount: number;
  /**
   * Where this rotation's own artifact (the source snapshot), if still under the key, was found:
   * after how many of the other resources (the order the inventory reports them in).
   */
  ownArtifactAt: number | null;
}

interface Scope {
  plan: RotationPlan;
  under: (keyId: string | null | undefined) => boolean;
}

interface Page {
  found: EncryptedResource[];
  marker: string | undefined;
}

interface Source {
  what: string;
  page: (rds: RDSClient, Marker: string | undefined, scope: Scope) => Promise<Page>;
}

const MaxRecords = SCAN_BUDGETS.rdsPageSize;

/** Storage, or else Performance Insights data, under the key. */
const storageOrInsights = (
  kind: ResourceKind,
  id: string,
  scope: Scope,
  storageKey: string | undefined,
  insightsKey: string | undefined,
): EncryptedResource[] => {
  if (scope.under(storageKey)) return [{ kind, id }];
  if (scope.under(insightsKey)) return [{ kind, id, detail: 'Performance Insights' }];
  return [];
};

// Without a SnapshotType, RDS returns manual and automated snapshots but not AWS Backup's: ask for each.
const dbSnapshots = (SnapshotType: string): Source => ({
  what: `${SnapshotType} DB snapshots`,
  page: async (rds, Marker, scope) => {
    const page = await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType, MaxRecords, Marker }));
    const found = (page.DBSnapshots ?? [])
      .filter((s) => scope.under(s.KmsKeyId))
      .map((s) =>
        snapshot(
          'db-snapshot',
          s.DBSnapshotIdentifier ?? s.DBSnapshotArn,
          s.SnapshotType ?? SnapshotType,
          s.TagList,
        ),
      );
    return { found, marker: page.Marker };
  },
});

const clusterSnapshots = (SnapshotType: string): Source => ({
  what: `${SnapshotType} DB cluster snapshots`,
  page: async (rds, Marker, scope) => {
    const page = await rds.send(new DescribeDBClusterSnapshotsCommand({ SnapshotType, MaxRecords, Marker }));
    const found = (page.DBClusterSnapshots ?? [])
      .filter((s) => scope.under(s.KmsKeyId))
      .map((s) =>
        snapshot(
          'db-cluster-snapshot',
          s.DBClusterSnapshotIdentifier ?? s.DBClusterSnapshotArn,
          s.SnapshotType ?? SnapshotType,
          s.TagList,
        ),
      );
    return { found, marker: page.Marker };
  },
});

const snapshot = (
  kind: ResourceKind,
  id: string | undefined,
  type: string,
  tags: DBSnapshot['TagList'],
): EncryptedResource => {
  const detail = [type !== 'manual' && type, otherRotationDetail(tags)].filter(Boolean).join(', ');
  return { kind, id: id ?? '(unnamed)', ...(detail && { detail }) };
};

const SOURCE_SNAPSHOT_ROLE: RekeyRole = 'source-snapshot';

/**
 * Another rotation's source snapshot keeps the key like any other snapshot: that rotation may still
 * be running, or have failed and kept it for inspection (keepArtifactsOnFailure), and only it knows.
 * It deletes the snapshot itself once its old database is deleted (retire-key.ts); the reason says so.
 */
const otherRotationDetail = (tags: DBSnapshot['TagList']): string | undefined => {
  const value = (key: string) => (tags ?? []).find((tag) => tag.Key === key)?.Value;
  const rotationId = value(TAG_ROTATION_ID);
  if (value(TAG_ROLE) !== SOURCE_SNAPSHOT_ROLE || !rotationId) return undefined;
  return (
    `the source snapshot of Rekey rotation ${rotationId}, which deletes it once its old database is deleted; ` +
    'if that rotation failed or ended, delete it when you no longer need it'
  );
};

/**
 * Every list RDS keeps key-encrypted resources in: DB instances (storage and Performance
 * Insights, read replicas included), DB clusters (storage and Performance Insights; Aurora,
 * Multi-AZ clusters, Neptune and DocumentDB share this API), manual, automated and AWS Backup DB
 * snapshots, DB cluster snapshots, and retained automated backups. In this order, always.
 */
export const SOURCES: readonly Source[] = [
  {
    what: 'DB instances',
    page: async (rds, Marker, scope) => {
      const page = await rds.send(new DescribeDBInstancesCommand({ MaxRecords, Marker }));
      const found = (page.DBInstances ?? []).flatMap((db) =>
        storageOrInsights(
          'db-instance',
          db.DBInstanceIdentifier ?? db.DBInstanceArn ?? '(unnamed)',
          scope,
          db.KmsKeyId,
          db.PerformanceInsightsKMSKeyId,
        ),
      );
      return { found, marker: page.Marker };
    },
  },
  {
    what: 'DB clusters',
    page: async (rds, Marker, scope) => {
      const page = await rds.send(new DescribeDBClustersCommand({ MaxRecords, Marker }));
      const found = (page.DBClusters ?? []).flatMap((c) =>
        storageOrInsights(
          'db-cluster',
          c.DBClusterIdentifier ?? c.DBClusterArn ?? '(unnamed)',
          scope,
          c.KmsKeyId,
          c.PerformanceInsightsKMSKeyId,
        ),
      );
      return { found, marker: page.Marker };
    },
  },
  dbSnapshots('manual'),
  dbSnapshots('automated'),
  dbSnapshots('awsbackup'),
  clusterSnapshots('manual'),
  clusterSnapshots('automated'),
  {
    what: 'retained automated backups of DB instances',
    page: async (rds, Marker, { plan, under }) => {
      const page = await rds.send(new DescribeDBInstanceAutomatedBackupsCommand({ MaxRecords, Marker }));
      const found = (page.DBInstanceAutomatedBackups ?? []).flatMap((backup): EncryptedResource[] => {
        // A backup of the source instance is under the old key even when the response leaves the key out (moto does).
        const ofSource =
          plan.kind === 'instance' &&
          (backup.DbiResourceId
            ? backup.DbiResourceId === plan.source.dbiResourceId
            : backup.DBInstanceIdentifier === plan.source.dbInstanceIdentifier);
        if (!under(backup.KmsKeyId) && !(ofSource && !backup.KmsKeyId)) return [];
        const id =
          backup.DBInstanceIdentifier ??
          backup.DbiResourceId ??
          backup.DBInstanceAutomatedBackupsArn ??
          '(unnamed)';
        return [
          { kind: 'db-instance-automated-backup', id, ...(backup.Status && { detail: backup.Status }) },
        ];
      });
      return { found, marker: page.Marker };
    },
  },
  {
    what: 'retained automated backups of DB clusters',
    page: async (rds, Marker, { under }) => {
      const page = await clusterAutomatedBackupsPage(rds, Marker);
      const found = (page.DBClusterAutomatedBackups ?? [])
        .filter((backup) => under(backup.KmsKeyId))
        .map(
          (backup): EncryptedResource => ({
            kind: 'db-cluster-automated-backup',
            id: backup.DBClusterIdentifier ?? backup.DbClusterResourceId ?? '(unnamed)',
            ...(backup.Status && { detail: backup.Status }),
          }),
        );
      return { found, marker: page.Marker };
    },
  },
];

/**
 * Retained automated backups of deleted DB clusters. moto 5.2.1 does not implement this action
 * (HTTP 500 with an HTML page); against an emulator endpoint only, that answer counts as "none".
 * Against AWS every error propagates.
 */
const clusterAutomatedBackupsPage = async (rds: RDSClient, Marker: string | undefined) => {
  try {
    return await rds.send(new DescribeDBClusterAutomatedBackupsCommand({ MaxRecords, Marker }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (process.env.AWS_ENDPOINT_URL && status === 500) {
      logger.warn('the emulator does not implement DescribeDBClusterAutomatedBackups; treated as none', {
        endpoint: process.env.AWS_ENDPOINT_URL,
      });
      return { DBClusterAutomatedBackups: [], Marker: undefined };
    }
    throw error;
  }
};

export const emptyInventory = (): Inventory => ({
  source: 0,
  pages: 0,
  blocking: [],
  blockingCount: 0,
  ownArtifactAt: null,
});

export const isComplete = (inventory: Inventory): boolean => inventory.source >= SOURCES.length;

/** What the inventory is reading, for the execution history. */
export const inventoryStatus = (inventory: Inventory): string =>
  isComplete(inventory)
    ? `read ${inventory.pages} pages`
    : `read ${inventory.pages} pages so far, now the ${SOURCES[inventory.source]?.what}`;

/**
 * One call's share of the inventory: at least one page, at most the budget. `isOwnArtifact` tells
 * this rotation's disposable artifact apart from what keeps the key alive.
 */
export const continueInventory = async (
  rds: RDSClient,
  keyArn: string,
  plan: RotationPlan,
  isOwnArtifact: (resource: EncryptedResource) => boolean,
  previous: Inventory | undefined,
  context: StepContext,
): Promise<Inventory> => {
  const scope: Scope = { plan, under: (keyId) => isSameKey(keyId, keyArn, plan) };
  const inventory: Inventory = structuredClone(previous ?? emptyInventory());
  const named = new Set(inventory.blocking.map(label));
  for (let page = 0; page < SCAN_BUDGETS.rdsPagesPerInvocation && !isComplete(inventory); page++) {
    if (page > 0 && context.remainingMs() < SCAN_BUDGETS.reserveMs) break;
    const source = SOURCES[inventory.source] as Source;
    const { found, marker } = await source.page(rds, inventory.marker, scope);
    inventory.pages += 1;
    for (const resource of found) {
      if (isOwnArtifact(resource)) inventory.ownArtifactAt ??= inventory.blockingCount;
      else if (!named.has(label(resource))) {
        inventory.blockingCount += 1;
        if (inventory.blocking.length < KEPT_BY_NAME) {
          inventory.blocking.push(resource);
          named.add(label(resource));
        }
      }
    }
    if (marker) inventory.marker = marker;
    else {
      inventory.source += 1;
      delete inventory.marker;
    }
  }
  return inventory;
};
