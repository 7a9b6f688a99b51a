import {
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  paginateListAliases,
} from '@aws-sdk/client-kms';
import {
  type DBCluster,
  type DBInstance,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBClusters,
  paginateDescribeDBInstances,
  paginateDescribeDBSnapshots,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { isAwsError } from '#domain/errors.js';
import type { TargetKind } from '#domain/kinds.js';

/**
 * Read-only discovery of every database in the Region for the fleet planner and `rekey inventory`:
 * DB instances (Aurora members are their cluster's), Aurora clusters, their keys and aliases.
 * Every AWS call is counted by `service:Operation` (FleetPlan.calls).
 */

export type CallCounts = Record<string, number>;

/**
 * Counts a command under `service:Operation` and hands it on unchanged: the paginators' `withCommand`
 * (called before every page) and single `send`s both go through it, so the shared clients stay as
 * they are.
 */
export const counted =
  (calls: CallCounts, service: string) =>
  <C extends object>(command: C): C => {
    const name = `${service}:${command.constructor.name.replace(/Command$/, '')}`;
    calls[name] = (calls[name] ?? 0) + 1;
    return command;
  };

export interface DiscoveredKey {
  arn: string;
  keyManager: 'AWS' | 'CUSTOMER' | null;
  createdAt: string | null;
  keyState: string | null;
  aliases: string[];
}

export interface DiscoveredDatabase {
  id: string;
  kind: TargetKind;
  engine: string;
  status: string;
  encrypted: boolean;
  kmsKeyId: string | null;
  tags: Record<string, string>;
  allocatedStorageGiB: number | null;
  instance?: DBInstance;
  cluster?: DBCluster;
}

export interface Discovery {
  databases: DiscoveredDatabase[];
  /** By the database's KmsKeyId as RDS reports it (a key ARN). */
  keys: Map<string, DiscoveredKey>;
  /** Every instance, members included, by identifier (replica checks, cluster members). */
  instances: Map<string, DBInstance>;
  calls: CallCounts;
}

const tagsOf = (list: { Key?: string; Value?: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((list ?? []).filter((t) => t.Key).map((t) => [t.Key as string, t.Value ?? '']));

const PAGE = 100;

const listInstances = async (rds: RDSClient, calls: CallCounts): Promise<DBInstance[]> => {
  const found: DBInstance[] = [];
  const pages = paginateDescribeDBInstances(
    { client: rds, pageSize: PAGE, withCommand: counted(calls, 'rds') },
    {},
  );
  for await (const page of pages) found.push(...(page.DBInstances ?? []));
  return found;
};

const listClusters = async (rds: RDSClient, calls: CallCounts): Promise<DBCluster[]> => {
  const found: DBCluster[] = [];
  const pages = paginateDescribeDBClusters(
    { client: rds, pageSize: PAGE, withCommand: counted(calls, 'rds') },
    {},
  );
  for await (const page of pages) found.push(...(page.DBClusters ?? []));
  return found;
};

const listAliases = async (kms: KMSClient, calls: CallCounts): Promise<Map<string, string[]>> => {
  const byKeyId = new Map<string, string[]>();
  const pages = paginateListAliases({ client: kms, pageSize: PAGE, withCommand: counted(calls, 'kms') }, {});
  for await (const page of pages) {
    for (const alias of page.Aliases ?? []) {
      if (!alias.TargetKeyId || !alias.AliasName) continue;
      byKeyId.set(alias.TargetKeyId, [...(byKeyId.get(alias.TargetKeyId) ?? []), alias.AliasName]);
    }
  }
  return byKeyId;
};

/** Lists the Region's databases and their keys. Changes nothing. */
export const discover = async (calls: CallCounts = {}): Promise<Discovery> => {
  const { rds, kms } = getClients();
  const allInstances = await listInstances(rds, calls);
  const clusters = (await listClusters(rds, calls)).filter((c) => c.Engine?.startsWith('aurora'));
  const databases: DiscoveredDatabase[] = [
    ...allInstances
      .filter((db) => !db.DBClusterIdentifier)
      .map(
        (db): DiscoveredDatabase => ({
          id: db.DBInstanceIdentifier ?? '',
          kind: 'instance',
          engine: db.Engine ?? '',
          status: db.DBInstanceStatus ?? 'unknown',
          encrypted: Boolean(db.StorageEncrypted),
          kmsKeyId: db.StorageEncrypted ? (db.KmsKeyId ?? null) : null,
          tags: tagsOf(db.TagList),
          allocatedStorageGiB: db.AllocatedStorage ?? null,
          instance: db,
        }),
      ),
    ...clusters.map(
      (cluster): DiscoveredDatabase => ({
        id: cluster.DBClusterIdentifier ?? '',
        kind: 'cluster',
        engine: cluster.Engine ?? '',
        status: cluster.Status ?? 'unknown',
        encrypted: Boolean(cluster.StorageEncrypted),
        kmsKeyId: cluster.StorageEncrypted ? (cluster.KmsKeyId ?? null) : null,
        tags: tagsOf(cluster.TagList),
        allocatedStorageGiB: cluster.AllocatedStorage ?? null,
        cluster,
      }),
    ),
  ].sort((a, b) => a.id.localeCompare(b.id));

  const keys = new Map<string, DiscoveredKey>();
  const keyIds = [...new Set(databases.map((db) => db.kmsKeyId).filter((k): k is string => Boolean(k)))];
  const aliases = keyIds.length > 0 ? await listAliases(kms, calls) : new Map<string, string[]>();
  for (const keyId of keyIds) {
    let key: KeyMetadata | undefined;
    try {
      key = (await kms.send(counted(calls, 'kms')(new DescribeKeyCommand({ KeyId: keyId })))).KeyMetadata;
    } catch (error) {
      // A key this role may not describe (its key policy) or that is gone: the row says so by
      // having no manager or date. Anything else (throttling past the retries) fails the plan.
      if (!isAwsError(error, 'AccessDeniedException', 'NotFoundException')) throw error;
      key = undefined;
    }
    keys.set(keyId, {
      arn: key?.Arn ?? keyId,
      keyManager: key?.KeyManager === 'AWS' || key?.KeyManager === 'CUSTOMER' ? key.KeyManager : null,
      createdAt: key?.CreationDate ? new Date(key.CreationDate).toISOString() : null,
      keyState: key?.KeyState ?? null,
      aliases: key?.KeyId ? (aliases.get(key.KeyId) ?? []) : [],
    });
  }
  return {
    databases,
    keys,
    instances: new Map(allInstances.map((db) => [db.DBInstanceIdentifier ?? '', db])),
    calls,
  };
};

/** Manual DB snapshots and manual DB cluster snapshots in the Region (the quotas count them apart). */
export const countManualSnapshots = async (
  calls: CallCounts,
): Promise<{ instance: number; cluster: number }> => {
  const { rds } = getClients();
  const config = { client: rds, pageSize: PAGE, withCommand: counted(calls, 'rds') };
  let instance = 0;
  for await (const page of paginateDescribeDBSnapshots(config, { SnapshotType: 'manual' })) {
    instance += (page.DBSnapshots ?? []).length;
  }
  let cluster = 0;
  for await (const page of paginateDescribeDBClusterSnapshots(config, { SnapshotType: 'manual' })) {
    cluster += (page.DBClusterSnapshots ?? []).length;
  }
  return { instance, cluster };
};
