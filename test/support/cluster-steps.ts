/** Fixtures of the Aurora cluster step tests (test/unit/targets/cluster/): one world of mocked clients. */
import { KMSClient } from '@aws-sdk/client-kms';
import {
  type DBCluster,
  DBClusterNotFoundFault,
  type DBClusterSnapshot,
  DBClusterSnapshotNotFoundFault,
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import type { MemberConfig } from '#domain/cluster-config.js';
import { KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { clusterNamesFor } from '#domain/naming.js';
import type { ClusterCnameCutoverPlan, ClusterPlan } from '#domain/plan.js';
import type { ClusterCutoverResult, ValidationResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { CLUSTER_CONFIG, READER_CONFIG, WRITER_CONFIG } from './cluster-fixtures.js';

export const rds = mockClient(RDSClient);
export const kms = mockClient(KMSClient);
export const route53 = mockClient(Route53Client);

export const RID = 'rk0123456789';
export const ACCOUNT = '123456789012';
export const OLD_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-1111-1111-1111-111111111111`;
export const NEW_KEY_ID = '22222222-2222-2222-2222-222222222222';
export const NEW_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${NEW_KEY_ID}`;
export const SOURCE = 'orders-aurora';
export const WRITER = 'orders-aurora-1';
export const READER = 'orders-aurora-2';
export const NEW_CLUSTER = `orders-aurora-${RID}`;
export const NEW_WRITER = `orders-aurora-1-${RID}`;
export const NEW_READER = `orders-aurora-2-${RID}`;
export const ASIDE = `orders-aurora-old-${RID}`;
export const SOURCE_SNAPSHOT = `rekey-orders-aurora-${RID}-source`;
/** The copy only plans made before Aurora stopped copying name: a cluster plan of today has none. */
export const COPY_SNAPSHOT = `rekey-orders-aurora-${RID}-reencrypted`;
export const SOURCE_ENDPOINT = 'orders-aurora.cluster-abc.us-east-1.rds.amazonaws.com';
export const SOURCE_READER_ENDPOINT = 'orders-aurora.cluster-ro-abc.us-east-1.rds.amazonaws.com';
export const NEW_ENDPOINT = `${NEW_CLUSTER}.cluster-abc.us-east-1.rds.amazonaws.com`;
export const NEW_READER_ENDPOINT = `${NEW_CLUSTER}.cluster-ro-abc.us-east-1.rds.amazonaws.com`;
export const OURS = [{ Key: 'rekey:rotation-id', Value: RID }];
/** What the Cutover tags the old source (cluster and members) with once clients use the new cluster. */
export const RETIRED = [
  { Key: 'rekey:role', Value: 'retired-source' },
  { Key: 'rekey:retired-by', Value: RID },
];

/** A cluster rotation of orders-aurora (reader listed before the writer, as RDS may list them). */
export const state = (cutover: ClusterPlan['cutover'], extra: Partial<ClusterState> = {}): ClusterState => {
  const plan: ClusterPlan = {
    kind: 'cluster',
    rotationId: RID,
    executionId: `arn:aws:states:us-east-1:${ACCOUNT}:execution:rekey:x`,
    startedAt: '2026-01-01T00:00:00Z',
    partition: 'aws',
    region: 'us-east-1',
    accountId: ACCOUNT,
    request: {
      cutover: { type: 'none' },
      writeFreeze: 'stop',
      reason: 'annual PCI key change',
      requestedBy: 'platform-team',
    } as ClusterPlan['request'],
    target: { kind: 'cluster', identifier: SOURCE } as ClusterPlan['target'],
    strategy: { requested: 'snapshot', used: 'snapshot', reason: 'r', blueGreenIneligible: [] },
    names: clusterNamesFor(RID, SOURCE, [READER, WRITER]),
    cutover,
    decisions: {
      writeFreeze: { action: 'stop-source' },
      clientSwitch:
        cutover.type === 'none'
          ? { action: 'none', reason: 'cutover is "none": clients still use the old instance.' }
          : { action: 'switch', by: cutover.type },
      oldDatabase: { action: 'delete' },
      oldKey: { action: 'schedule-deletion', pendingWindowDays: KEY_PENDING_WINDOW_DAYS.default },
      artifactsOnFailure: { action: 'remove' },
      stopSource: true,
      switchClients: cutover.type !== 'none',
      deleteOldInstance: true,
      keepOldInstanceReason: null,
      retireOldKey: true,
      keepOldKeyReason: null,
      notes: [],
    },
    source: {
      dbClusterIdentifier: SOURCE,
      dbClusterArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster:${SOURCE}`,
      dbClusterResourceId: 'cluster-SOURCE',
      endpointAddress: SOURCE_ENDPOINT,
      readerEndpointAddress: SOURCE_READER_ENDPOINT,
      port: 5432,
      kmsKeyArn: OLD_KEY,
      keyManager: 'CUSTOMER',
      config: CLUSTER_CONFIG,
      members: [
        { dbInstanceIdentifier: READER, dbInstanceArn: 'r', isWriter: false, config: READER_CONFIG },
        { dbInstanceIdentifier: WRITER, dbInstanceArn: 'w', isWriter: true, config: WRITER_CONFIG },
      ],
    },
  };
  return {
    input: {},
    plan,
    lock: { acquired: true, lockKeys: [] },
    newKey: { keyId: NEW_KEY_ID, keyArn: NEW_KEY, alias: `alias/rekey/${SOURCE}/${RID}`, created: true },
    ...extra,
  };
};
export const RENAME = { type: 'rename', asideIdentifier: ASIDE, endpointAddress: SOURCE_ENDPOINT } as const;
export const CNAME: ClusterCnameCutoverPlan = {
  type: 'cname',
  hostedZoneId: 'Z0123',
  recordName: 'orders.db.example.internal',
  ttl: 60,
  previousValue: SOURCE_ENDPOINT,
  reader: {
    hostedZoneId: 'Z0123',
    recordName: 'orders-ro.db.example.internal',
    previousValue: SOURCE_READER_ENDPOINT,
  },
};
export const validation: ValidationResult = {
  dbInstanceIdentifier: NEW_CLUSTER,
  dbInstanceArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster:${NEW_CLUSTER}`,
  endpointAddress: NEW_ENDPOINT,
  readerEndpointAddress: NEW_READER_ENDPOINT,
  port: 5432,
  kmsKeyArn: NEW_KEY,
  status: 'available',
  differences: [],
  checkedAt: '2026-01-01T02:00:00Z',
  members: [
    { sourceDbInstanceIdentifier: WRITER, dbInstanceIdentifier: NEW_WRITER, isWriter: true },
    { sourceDbInstanceIdentifier: READER, dbInstanceIdentifier: NEW_READER, isWriter: false },
  ],
};
export const verifiedRename: ClusterCutoverResult = {
  type: 'rename',
  done: true,
  changeId: null,
  changeStatus: 'available',
  previousValue: SOURCE_ENDPOINT,
  newValue: SOURCE_ENDPOINT,
  verified: true,
  renamed: { sourceAside: true, newToOriginal: true },
};

/** The source cluster as RDS describes it (under the old key, not ours). */
export const sourceCluster = (overrides: Partial<DBCluster> = {}): DBCluster => ({
  DBClusterIdentifier: SOURCE,
  DbClusterResourceId: 'cluster-SOURCE',
  Status: 'available',
  KmsKeyId: OLD_KEY,
  DeletionProtection: false,
  TagList: [{ Key: 'team', Value: 'orders' }],
  ...overrides,
});
/** The new cluster as RDS describes it right after the restore, with the source's configuration. */
export const newCluster = (overrides: Partial<DBCluster> = {}): DBCluster => ({
  DBClusterIdentifier: NEW_CLUSTER,
  DBClusterArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster:${NEW_CLUSTER}`,
  DbClusterResourceId: 'cluster-NEW',
  Status: 'available',
  KmsKeyId: NEW_KEY,
  StorageEncrypted: true,
  Endpoint: NEW_ENDPOINT,
  Engine: 'aurora-postgresql',
  EngineVersion: '16.4',
  EngineMode: 'provisioned',
  Port: 5432,
  DBSubnetGroup: 'orders-private',
  VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-2' }, { VpcSecurityGroupId: 'sg-1' }],
  DBClusterParameterGroup: 'orders-aurora-pg16',
  IAMDatabaseAuthenticationEnabled: true,
  EnabledCloudwatchLogsExports: ['postgresql'],
  DeletionProtection: true,
  CopyTagsToSnapshot: true,
  BackupRetentionPeriod: 7,
  PreferredBackupWindow: '03:00-03:30',
  PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
  StorageType: 'aurora-iopt1',
  NetworkType: 'IPV4',
  TagList: [{ Key: 'team', Value: 'orders' }, ...OURS],
  ...overrides,
});
/** A member of the new cluster as RDS describes it, with its source member's configuration. */
export const newMember = (
  id: string,
  config: MemberConfig,
  overrides: Partial<DBInstance> = {},
): DBInstance => ({
  DBInstanceIdentifier: id,
  DBClusterIdentifier: NEW_CLUSTER,
  DBInstanceStatus: 'available',
  DBInstanceClass: config.dbInstanceClass,
  AvailabilityZone: config.availabilityZone ?? undefined,
  PromotionTier: config.promotionTier ?? undefined,
  DBParameterGroups: [
    { DBParameterGroupName: 'orders-aurora-instance-pg16', ParameterApplyStatus: 'in-sync' },
  ],
  MonitoringInterval: 0,
  PerformanceInsightsEnabled: false,
  PubliclyAccessible: false,
  AutoMinorVersionUpgrade: false,
  CACertificateIdentifier: 'rds-ca-rsa2048-g1',
  PreferredMaintenanceWindow: 'wed:06:38-wed:07:08',
  TagList: OURS,
  ...overrides,
});
export const oldMember = (id: string, overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: id,
  DBClusterIdentifier: SOURCE,
  DBInstanceStatus: 'available',
  TagList: [],
  ...overrides,
});
export const snapshot = (id: string, overrides: Partial<DBClusterSnapshot> = {}): DBClusterSnapshot => ({
  DBClusterSnapshotIdentifier: id,
  DBClusterSnapshotArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster-snapshot:${id}`,
  DBClusterIdentifier: SOURCE,
  Status: 'available',
  KmsKeyId: id === COPY_SNAPSHOT ? NEW_KEY : OLD_KEY,
  TagList: [{ Key: 'team', Value: 'orders' }, ...OURS],
  ...overrides,
});

/** What RDS holds: each Describe answers by identifier, and a missing one is a NotFound fault. */
export const world = ({
  clusters = [],
  instances = [],
  snapshots = [],
}: {
  clusters?: DBCluster[];
  instances?: DBInstance[];
  snapshots?: DBClusterSnapshot[];
}) => {
  rds.on(DescribeDBClustersCommand).callsFake(({ DBClusterIdentifier }) => {
    const found = clusters.find((c) => c.DBClusterIdentifier === DBClusterIdentifier);
    if (!found)
      throw new DBClusterNotFoundFault({ message: `${DBClusterIdentifier} not found`, $metadata: {} });
    return { DBClusters: [found] };
  });
  rds.on(DescribeDBInstancesCommand).callsFake(({ DBInstanceIdentifier }) => {
    const found = instances.find((db) => db.DBInstanceIdentifier === DBInstanceIdentifier);
    if (!found)
      throw new DBInstanceNotFoundFault({ message: `${DBInstanceIdentifier} not found`, $metadata: {} });
    return { DBInstances: [found] };
  });
  rds.on(DescribeDBClusterSnapshotsCommand).callsFake(({ DBClusterSnapshotIdentifier }) => {
    const found = snapshots.find((s) => s.DBClusterSnapshotIdentifier === DBClusterSnapshotIdentifier);
    if (!found)
      throw new DBClusterSnapshotNotFoundFault({
        message: `${DBClusterSnapshotIdentifier} not found`,
        $metadata: {},
      });
    return { DBClusterSnapshots: [found] };
  });
  // A cluster rotation makes no DB (instance) snapshot; the shared key cleanup still looks for them.
  rds.on(DescribeDBSnapshotsCommand).callsFake(({ DBSnapshotIdentifier }) => {
    throw new DBSnapshotNotFoundFault({ message: `${DBSnapshotIdentifier} not found`, $metadata: {} });
  });
};
