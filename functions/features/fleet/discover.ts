import {
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import {
  type DBCluster,
  type DBInstance,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import type { TargetKind } from '#domain/kinds.js';

/**
 * Read-only discovery of every database in the Region for the fleet planner and `rekey inventory`:
 * DB instances (Aurora members are their cluster's), Aurora clusters, their keys and aliases.
 * Every AWS call is counted by `service:Operation` (FleetPlan.calls).
 */

export type CallCounts = Record<string, number>;

interface Sender {
  send: (command: never) => Promise<unknown>;
}

/** `client.send` that counts each call under `service:Operation`. */
export const counting = <C extends Sender>(client: C, service: string, calls: CallCounts): C =>
  ({
    send: (command: { constructor: { name: string } }) => {
      const name = `${service}:${command.constructor.name.replace(/Command$/, '')}`;
      calls[name] = (calls[name] ?? 0) + 1;
      return client.send(command as never);
    },
  }) as unknown as C;

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

const listInstances = async (rds: RDSClient): Promise<DBInstance[]> => {
  const found: DBInstance[] = [];
  let Marker: string | undefined;
  do {
    const page = await rds.send(new DescribeDBInstancesCommand({ Marker, MaxRecords: 100 }));
    found.push(...(page.DBInstances ?? []));
    Marker = page.Marker;
  } while (Marker);
  return found;
};

const listClusters = async (rds: RDSClient): Promise<DBCluster[]> => {
  const found: DBCluster[] = [];
  let Marker: string | undefined;
  do {
    const page = await rds.send(new DescribeDBClustersCommand({ Marker, MaxRecords: 100 }));
    found.push(...(page.DBClusters ?? []));
    Marker = page.Marker;
  } while (Marker);
  return found;
};

const listAliases = async (kms: KMSClient): Promise<Map<string, string[]>> => {
  const byKeyId = new Map<string, string[]>();
  let Marker: string | undefined;
  do {
    const page = await kms.send(new ListAliasesCommand({ Marker, Limit: 100 }));
    for (const alias of page.Aliases ?? []) {
      if (!alias.TargetKeyId || !alias.AliasName) continue;
      byKeyId.set(alias.TargetKeyId, [...(byKeyId.get(alias.TargetKeyId) ?? []), alias.AliasName]);
    }
    Marker = page.Truncated ? page.NextMarker : undefined;
  } while (Marker);
  return byKeyId;
};

/** Lists the Region's databases and their keys. Changes nothing. */
export const discover = async (calls: CallCounts = {}): Promise<Discovery> => {
  const clients = getClients();
  const rds = counting(clients.rds, 'rds', calls);
  const kms = counting(clients.kms, 'kms', calls);
  const allInstances = await listInstances(rds);
  const clusters = (await listClusters(rds)).filter((c) => c.Engine?.startsWith('aurora'));
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
  const aliases = keyIds.length > 0 ? await listAliases(kms) : new Map<string, string[]>();
  for (const keyId of keyIds) {
    let key: KeyMetadata | undefined;
    try {
      key = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    } catch {
      // A key this role cannot describe: its row says so by having no manager or date.
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
  const rds = counting(getClients().rds, 'rds', calls);
  let instance = 0;
  let Marker: string | undefined;
  do {
    const page = await rds.send(
      new DescribeDBSnapshotsCommand({ SnapshotType: 'manual', Marker, MaxRecords: 100 }),
    );
    instance += (page.DBSnapshots ?? []).length;
    Marker = page.Marker;
  } while (Marker);
  let cluster = 0;
  do {
    const page = await rds.send(
      new DescribeDBClusterSnapshotsCommand({ SnapshotType: 'manual', Marker, MaxRecords: 100 }),
    );
    cluster += (page.DBClusterSnapshots ?? []).length;
    Marker = page.Marker;
  } while (Marker);
  return { instance, cluster };
};
