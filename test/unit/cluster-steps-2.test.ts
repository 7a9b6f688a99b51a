import {
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  CopyDBClusterSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  type DBCluster,
  DBClusterNotFoundFault,
  type DBClusterSnapshot,
  DBClusterSnapshotNotFoundFault,
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteDBClusterCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InsufficientDBClusterCapacityFault,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RebootDBInstanceCommand,
  RestoreDBClusterFromSnapshotCommand,
  StartDBClusterCommand,
  StopDBClusterCommand,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MemberConfig } from '#domain/cluster-config.js';
import { KEY_PENDING_WINDOW_DAYS, UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { clusterNamesFor } from '#domain/naming.js';
import type { ClusterCnameCutoverPlan, ClusterPlan } from '#domain/plan.js';
import type { ClusterCutoverResult, ValidationResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { configureCluster } from '#targets/cluster/configure.js';
import { copyClusterSnapshot } from '#targets/cluster/copy.js';
import { cutoverCluster } from '#targets/cluster/cutover.js';
import { restoreCluster } from '#targets/cluster/restore.js';
import { retireCluster } from '#targets/cluster/retire.js';
import { rollbackCluster } from '#targets/cluster/rollback.js';
import { snapshotCluster } from '#targets/cluster/snapshot.js';
import { startCluster } from '#targets/cluster/start.js';
import { stopCluster } from '#targets/cluster/stop.js';
import { summarizeCluster } from '#targets/cluster/summarize.js';
import { CLUSTER_CONFIG, READER_CONFIG, WRITER_CONFIG } from '../support/cluster-fixtures.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const route53 = mockClient(Route53Client);

const RID = 'rk0123456789';
const ACCOUNT = '123456789012';
const OLD_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-1111-1111-1111-111111111111`;
const NEW_KEY_ID = '22222222-2222-2222-2222-222222222222';
const NEW_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${NEW_KEY_ID}`;
const SOURCE = 'orders-aurora';
const WRITER = 'orders-aurora-1';
const READER = 'orders-aurora-2';
const NEW_CLUSTER = `orders-aurora-${RID}`;
const NEW_WRITER = `orders-aurora-1-${RID}`;
const NEW_READER = `orders-aurora-2-${RID}`;
const ASIDE = `orders-aurora-old-${RID}`;
const SOURCE_SNAPSHOT = `rekey-orders-aurora-${RID}-source`;
const COPY_SNAPSHOT = `rekey-orders-aurora-${RID}-reencrypted`;
const SOURCE_ENDPOINT = 'orders-aurora.cluster-abc.us-east-1.rds.amazonaws.com';
const SOURCE_READER_ENDPOINT = 'orders-aurora.cluster-ro-abc.us-east-1.rds.amazonaws.com';
const NEW_ENDPOINT = `${NEW_CLUSTER}.cluster-abc.us-east-1.rds.amazonaws.com`;
const NEW_READER_ENDPOINT = `${NEW_CLUSTER}.cluster-ro-abc.us-east-1.rds.amazonaws.com`;
const OURS = [{ Key: 'rekey:rotation-id', Value: RID }];
/** What the Cutover tags the old source (cluster and members) with once clients use the new cluster. */
const RETIRED = [
  { Key: 'rekey:role', Value: 'retired-source' },
  { Key: 'rekey:retired-by', Value: RID },
];

/** A cluster rotation of orders-aurora (reader listed before the writer, as RDS may list them). */
const state = (cutover: ClusterPlan['cutover'], extra: Partial<ClusterState> = {}): ClusterState => {
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
const RENAME = { type: 'rename', asideIdentifier: ASIDE, endpointAddress: SOURCE_ENDPOINT } as const;
const CNAME: ClusterCnameCutoverPlan = {
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
const validation: ValidationResult = {
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
const verifiedRename: ClusterCutoverResult = {
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
const sourceCluster = (overrides: Partial<DBCluster> = {}): DBCluster => ({
  DBClusterIdentifier: SOURCE,
  DbClusterResourceId: 'cluster-SOURCE',
  Status: 'available',
  KmsKeyId: OLD_KEY,
  DeletionProtection: false,
  TagList: [{ Key: 'team', Value: 'orders' }],
  ...overrides,
});
/** The new cluster as RDS describes it right after the restore, with the source's configuration. */
const newCluster = (overrides: Partial<DBCluster> = {}): DBCluster => ({
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
const newMember = (id: string, config: MemberConfig, overrides: Partial<DBInstance> = {}): DBInstance => ({
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
const oldMember = (id: string, overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: id,
  DBClusterIdentifier: SOURCE,
  DBInstanceStatus: 'available',
  TagList: [],
  ...overrides,
});
const snapshot = (id: string, overrides: Partial<DBClusterSnapshot> = {}): DBClusterSnapshot => ({
  DBClusterSnapshotIdentifier: id,
  DBClusterSnapshotArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster-snapshot:${id}`,
  DBClusterIdentifier: SOURCE,
  Status: 'available',
  KmsKeyId: id === COPY_SNAPSHOT ? NEW_KEY : OLD_KEY,
  TagList: [{ Key: 'team', Value: 'orders' }, ...OURS],
  ...overrides,
});

/** What RDS holds: each Describe answers by identifier, and a missing one is a NotFound fault. */
const world = ({
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

describe('cluster steps, part 2', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('snapshot', () => {
    it("snapshots the source cluster under the rotation's name, with its user tags and the rotation tags, then polls", async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });
      rds.on(CreateDBClusterSnapshotCommand).resolves({
        DBClusterSnapshot: snapshot(SOURCE_SNAPSHOT, { Status: 'creating' }),
      });

      // Act
      const result = await snapshotCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CreateDBClusterSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBClusterSnapshotCommand, {
        DBClusterIdentifier: SOURCE,
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'source-snapshot' },
        ],
      });
      expect(result).toMatchObject({ done: false, snapshotIdentifier: SOURCE_SNAPSHOT, status: 'creating' });
      expect(result.poll).toEqual({ attempt: 1, waitSeconds: 15, lastStatus: 'creating' });
    });

    it('snapshots the source under its aside name after a rename cutover moved it', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })] });
      rds.on(CreateDBClusterSnapshotCommand).resolves({});

      // Act
      await snapshotCluster(state(RENAME));

      // Assess
      expect(rds).toHaveReceivedCommandWith(CreateDBClusterSnapshotCommand, {
        DBClusterIdentifier: ASIDE,
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
    });

    it('finds its own snapshot on a re-run and reports it done without taking a second one', async () => {
      // Prepare
      world({ clusters: [sourceCluster()], snapshots: [snapshot(SOURCE_SNAPSHOT)] });

      // Act
      const result = await snapshotCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(CreateDBClusterSnapshotCommand);
      expect(result).toEqual({
        done: true,
        snapshotIdentifier: SOURCE_SNAPSHOT,
        snapshotArn: `arn:aws:rds:us-east-1:${ACCOUNT}:cluster-snapshot:${SOURCE_SNAPSHOT}`,
        kmsKeyId: OLD_KEY,
        status: 'available',
      });
    });

    it('ends the wait with ResourceFailedError when the snapshot failed', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT, { Status: 'failed' })] });

      // Act / Assess
      await expect(snapshotCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The source cluster snapshot ${SOURCE_SNAPSHOT} is in status "failed"`,
        ),
      });
    });

    it('refuses a snapshot of its name that another rotation took, creating nothing', async () => {
      // Prepare
      world({
        snapshots: [
          snapshot(SOURCE_SNAPSHOT, { TagList: [{ Key: 'rekey:rotation-id', Value: 'rkffffffffff' }] }),
        ],
      });

      // Act / Assess
      await expect(snapshotCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('its rekey:rotation-id tag is "rkffffffffff"'),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBClusterSnapshotCommand);
    });
  });

  describe('copy', () => {
    it('copies the source snapshot with KmsKeyId = the new key ARN, its user tags and no CopyTags', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT)] });
      rds.on(CopyDBClusterSnapshotCommand).resolves({
        DBClusterSnapshot: snapshot(COPY_SNAPSHOT, { Status: 'copying' }),
      });

      // Act
      const result = await copyClusterSnapshot(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CopyDBClusterSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CopyDBClusterSnapshotCommand, {
        SourceDBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
        TargetDBClusterSnapshotIdentifier: COPY_SNAPSHOT,
        KmsKeyId: NEW_KEY,
        CopyTags: false,
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'reencrypted-snapshot' },
        ],
      });
      expect(result).toMatchObject({ done: false, snapshotIdentifier: COPY_SNAPSHOT, status: 'copying' });
    });

    it('finds its available copy under the new key on a re-run and copies nothing again', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT, { KmsKeyId: NEW_KEY_ID })] });

      // Act
      const result = await copyClusterSnapshot(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(CopyDBClusterSnapshotCommand);
      expect(result).toMatchObject({ done: true, snapshotIdentifier: COPY_SNAPSHOT, status: 'available' });
    });

    it('fails with ValidationFailedError when the available copy is not under the new key', async () => {
      // Prepare
      world({ snapshots: [snapshot(COPY_SNAPSHOT, { KmsKeyId: OLD_KEY })] });

      // Act / Assess
      await expect(copyClusterSnapshot(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ValidationFailedError',
        message: expect.stringContaining(`is encrypted with ${OLD_KEY}, not with the new key ${NEW_KEY}`),
      });
    });

    it('ends the wait with ResourceFailedError when the copy failed', async () => {
      // Prepare
      world({ snapshots: [snapshot(COPY_SNAPSHOT, { Status: 'failed' })] });

      // Act / Assess
      await expect(copyClusterSnapshot(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The re-encrypted cluster snapshot ${COPY_SNAPSHOT} is in status "failed"`,
        ),
      });
    });
  });

  describe('restore', () => {
    it("restores the new cluster from the copy with KmsKeyId = the new key and the source's configuration, creating no member yet", async () => {
      // Prepare
      world({});
      rds
        .on(RestoreDBClusterFromSnapshotCommand)
        .resolves({ DBCluster: newCluster({ Status: 'creating', Endpoint: undefined }) });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(RestoreDBClusterFromSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(RestoreDBClusterFromSnapshotCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        SnapshotIdentifier: COPY_SNAPSHOT,
        KmsKeyId: NEW_KEY,
        Engine: 'aurora-postgresql',
        EngineVersion: '16.4',
        EngineMode: 'provisioned',
        Port: 5432,
        DBSubnetGroupName: 'orders-private',
        VpcSecurityGroupIds: ['sg-1', 'sg-2'],
        DBClusterParameterGroupName: 'orders-aurora-pg16',
        EnableIAMDatabaseAuthentication: true,
        EnableCloudwatchLogsExports: ['postgresql'],
        DeletionProtection: true,
        CopyTagsToSnapshot: true,
        BackupRetentionPeriod: 7,
        PreferredBackupWindow: '03:00-03:30',
        StorageType: 'aurora-iopt1',
        NetworkType: 'IPV4',
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'new-cluster' },
        ],
      });
      // Aurora PostgreSQL refuses any BacktrackWindow: it must not be sent when backtracking is off.
      expect(rds.commandCalls(RestoreDBClusterFromSnapshotCommand)[0]?.args[0].input).not.toHaveProperty(
        'BacktrackWindow',
      );
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      expect(result).toMatchObject({ done: false, dbClusterIdentifier: NEW_CLUSTER, status: 'creating' });
    });

    it('creates the writer first, in the new cluster with its class, AZ and promotion tier, and the reader only after it', async () => {
      // Prepare
      world({ clusters: [newCluster()] });
      rds.on(CreateDBInstanceCommand).callsFake(({ DBInstanceIdentifier }) => ({
        DBInstance: newMember(DBInstanceIdentifier, WRITER_CONFIG, { DBInstanceStatus: 'creating' }),
      }));

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
        DBInstanceIdentifier: NEW_WRITER,
        DBClusterIdentifier: NEW_CLUSTER,
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.r6g.large',
        AvailabilityZone: 'us-east-1a',
        PromotionTier: 0,
        DBParameterGroupName: 'orders-aurora-instance-pg16',
        Tags: [
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'new-instance' },
        ],
      });
      expect(result.done).toBe(false);
      expect(result.members).toEqual([
        {
          sourceDbInstanceIdentifier: WRITER,
          dbInstanceIdentifier: NEW_WRITER,
          isWriter: true,
          status: 'creating',
        },
        {
          sourceDbInstanceIdentifier: READER,
          dbInstanceIdentifier: NEW_READER,
          isWriter: false,
          status: 'waiting-for-writer',
        },
      ]);
    });

    it('creates the reader with its own class, AZ and promotion tier once the writer is available', async () => {
      // Prepare
      world({ clusters: [newCluster()], instances: [newMember(NEW_WRITER, WRITER_CONFIG)] });
      rds.on(CreateDBInstanceCommand).resolves({
        DBInstance: newMember(NEW_READER, READER_CONFIG, { DBInstanceStatus: 'creating' }),
      });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
      expect(rds).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
        DBInstanceIdentifier: NEW_READER,
        DBClusterIdentifier: NEW_CLUSTER,
        DBInstanceClass: 'db.r6g.xlarge',
        AvailabilityZone: 'us-east-1b',
        PromotionTier: 1,
      });
      expect(result).toMatchObject({ done: false, status: `${NEW_READER}:creating` });
    });

    it('finds the cluster and both members on a re-run, creates nothing and is done with no differences', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG), newMember(NEW_READER, READER_CONFIG)],
      });

      // Act
      const result = await restoreCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(RestoreDBClusterFromSnapshotCommand);
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      expect(result).toMatchObject({ done: true, status: 'available', differencesAfterRestore: [] });
    });

    it('ends the wait with ResourceFailedError when the new cluster cannot use its key', async () => {
      // Prepare
      world({ clusters: [newCluster({ Status: 'inaccessible-encryption-credentials' })] });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The new DB cluster ${NEW_CLUSTER} is in status "inaccessible-encryption-credentials"`,
        ),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
    });

    it('ends the wait with ResourceFailedError when a new member fails', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG, { DBInstanceStatus: 'incompatible-parameters' })],
      });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The new DB instance ${NEW_WRITER} is in status "incompatible-parameters"`,
        ),
      });
    });

    it('keeps the SDK error name when RDS refuses the cluster restore, and says what to do', async () => {
      // Prepare
      world({});
      rds
        .on(RestoreDBClusterFromSnapshotCommand)
        .rejects(
          new InsufficientDBClusterCapacityFault({ message: 'no capacity for the cluster', $metadata: {} }),
        );

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'InsufficientDBClusterCapacityFault',
        message: expect.stringMatching(
          new RegExp(
            `^RDS refused to restore the cluster ${NEW_CLUSTER} .*InsufficientDBClusterCapacityFault: no capacity for the cluster\\..*Fix what RDS names`,
          ),
        ),
      });
    });

    it('refuses a cluster of the new name that this rotation did not create, creating no member in it', async () => {
      // Prepare
      world({ clusters: [newCluster({ TagList: [] })] });

      // Act / Assess
      await expect(restoreCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(`A DB cluster named ${NEW_CLUSTER} already exists`),
      });
      expect(rds).not.toHaveReceivedCommand(CreateDBInstanceCommand);
    });
  });

  describe('configure', () => {
    it('applies the maintenance window the restore cannot take with one ModifyDBCluster, before any member', async () => {
      // Prepare
      world({
        clusters: [newCluster({ PreferredMaintenanceWindow: 'mon:00:00-mon:00:30' })],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceClass: 'db.r6g.large' }),
        ],
      });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await configureCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
        ApplyImmediately: true,
      });
      expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
      expect(result).toMatchObject({ done: false, applied: ['cluster.preferredMaintenanceWindow'] });
    });

    it('does not apply a cluster field twice, and then modifies the member that differs', async () => {
      // Prepare
      const current = state(
        { type: 'none' },
        {
          configure: {
            done: false,
            applied: ['cluster.preferredMaintenanceWindow'],
            rebooted: false,
            status: 'modifying',
          },
        },
      );
      world({
        clusters: [newCluster({ PreferredMaintenanceWindow: 'mon:00:00-mon:00:30' })],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceClass: 'db.r6g.large' }),
        ],
      });
      rds.on(ModifyDBInstanceCommand).resolves({});

      // Act
      const result = await configureCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
        DBInstanceIdentifier: NEW_READER,
        DBInstanceClass: 'db.r6g.xlarge',
        ApplyImmediately: true,
      });
      expect(result.applied).toEqual(['cluster.preferredMaintenanceWindow', `${NEW_READER}.dbInstanceClass`]);
    });

    it('reboots a member whose parameter group is pending-reboot once, then is done', async () => {
      // Prepare
      const pending = newMember(NEW_WRITER, WRITER_CONFIG, {
        DBParameterGroups: [
          { DBParameterGroupName: 'orders-aurora-instance-pg16', ParameterApplyStatus: 'pending-reboot' },
        ],
      });
      world({ clusters: [newCluster()], instances: [pending, newMember(NEW_READER, READER_CONFIG)] });
      rds.on(RebootDBInstanceCommand).resolves({});

      // Act
      const first = await configureCluster(state({ type: 'none' }));
      const second = await configureCluster(state({ type: 'none' }, { configure: first }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(RebootDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(RebootDBInstanceCommand, { DBInstanceIdentifier: NEW_WRITER });
      expect(first).toMatchObject({ done: false, rebootedMembers: [NEW_WRITER] });
      expect(second).toMatchObject({ done: true, rebooted: true, status: 'available' });
    });

    it('ends the wait with ResourceFailedError when a member runs out of storage', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceStatus: 'storage-full' }),
        ],
      });

      // Act / Assess
      await expect(configureCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(`${NEW_READER} is in status "storage-full"`),
      });
      expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    });
  });

  describe('stop', () => {
    it('stops the source cluster when there is nothing to change first', async () => {
      // Prepare
      world({ clusters: [sourceCluster()] });
      rds.on(StopDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(StopDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(result).toMatchObject({ done: false, stoppedByRekey: true, status: 'stopping' });
    });

    it('lifts deletion protection without renaming when the old cluster will be deleted (no rename cutover)', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DeletionProtection: true })] });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        DeletionProtection: false,
        ApplyImmediately: true,
      });
      expect(rds.commandCalls(ModifyDBClusterCommand)[0]?.args[0].input).not.toHaveProperty(
        'NewDBClusterIdentifier',
      );
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
      expect(result).toMatchObject({ done: false, deletionProtectionLifted: true, renamedAside: false });
    });

    it('stops the source under its aside name once the rename is done', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE })] });
      rds.on(StopDBClusterCommand).resolves({});

      // Act
      const result = await stopCluster(state(RENAME));

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).toHaveReceivedCommandWith(StopDBClusterCommand, { DBClusterIdentifier: ASIDE });
      expect(result).toMatchObject({ done: false, renamedAside: true });
    });

    it('is done once the cluster is stopped, calling nothing', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });

      // Act
      const result = await stopCluster(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
      expect(result).toMatchObject({ done: true, status: 'stopped' });
    });

    it('ends the wait with ResourceFailedError when the source cluster failed', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'failed' })] });

      // Act / Assess
      await expect(stopCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(`The source DB cluster ${SOURCE} is in status "failed"`),
      });
      expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
    });
  });

  describe('start (cutover "none")', () => {
    it('starts the source cluster Rekey stopped, then waits', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });
      rds.on(StartDBClusterCommand).resolves({});

      // Act
      const result = await startCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(result).toMatchObject({ done: false, started: true, status: 'starting' });
    });

    it('is done when the source is available again, without starting it twice', async () => {
      // Prepare
      world({ clusters: [sourceCluster()] });

      // Act
      const result = await startCluster(
        state({ type: 'none' }, { startSource: { done: false, started: true, status: 'starting' } }),
      );

      // Assess
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toEqual({ done: true, status: 'available', started: true });
    });

    it('does not start a source it did not stop', async () => {
      // Prepare
      const current = state({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({ clusters: [sourceCluster({ Status: 'stopped' })] });

      // Act
      const result = await startCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toMatchObject({ done: true, started: false });
    });

    it('ends the wait with ResourceFailedError when the source cannot use its key', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ Status: 'inaccessible-encryption-credentials-recoverable' })] });

      // Act / Assess
      await expect(startCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
      });
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
    });
  });

  describe('cutover', () => {
    /** The state after the Cutover's first call, which records the attempt and changes nothing. */
    const attempted = async (current: ClusterState): Promise<ClusterState> => {
      const first = await cutoverCluster(current);
      expect(first).toMatchObject({ done: false, attempted: true, poll: { waitSeconds: 1 } });
      expect(
        rds.calls().filter((call) => !/^Describe/.test((call.args[0] as object).constructor.name)),
      ).toEqual([]);
      expect(route53.calls()).toHaveLength(0);
      return { ...current, cutover: first };
    };

    const records = (writer: string, reader: string) => {
      route53.on(ListResourceRecordSetsCommand).callsFake(({ StartRecordName }) => ({
        ResourceRecordSets: [
          {
            Name: `${StartRecordName}.`,
            Type: 'CNAME',
            TTL: 60,
            ResourceRecords: [{ Value: StartRecordName === CNAME.recordName ? writer : reader }],
          },
        ],
      }));
    };

    it('points the writer record at the new writer endpoint and the reader record at the new reader endpoint', async () => {
      // Prepare
      records(SOURCE_ENDPOINT, SOURCE_READER_ENDPOINT);
      route53
        .on(ChangeResourceRecordSetsCommand)
        .resolvesOnce({ ChangeInfo: { Id: '/change/W', Status: 'PENDING', SubmittedAt: new Date() } })
        .resolvesOnce({ ChangeInfo: { Id: '/change/R', Status: 'PENDING', SubmittedAt: new Date() } });

      // Act
      const result = await cutoverCluster(await attempted(state(CNAME, { validation })));

      // Assess
      const changed = route53
        .commandCalls(ChangeResourceRecordSetsCommand)
        .map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet);
      expect(changed).toEqual([
        { Name: CNAME.recordName, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: NEW_ENDPOINT }] },
        {
          Name: 'orders-ro.db.example.internal',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: NEW_READER_ENDPOINT }],
        },
      ]);
      expect(result).toMatchObject({
        done: false,
        verified: false,
        changeId: '/change/W',
        reader: { changeId: '/change/R' },
      });
    });

    it('is verified once both changes are INSYNC and both records read back, without changing them again', async () => {
      // Prepare
      records(NEW_ENDPOINT, NEW_READER_ENDPOINT);
      route53
        .on(GetChangeCommand)
        .resolves({ ChangeInfo: { Id: 'x', Status: 'INSYNC', SubmittedAt: new Date() } });
      const previous: ClusterCutoverResult = {
        type: 'cname',
        done: false,
        changeId: '/change/W',
        changeStatus: 'PENDING',
        previousValue: SOURCE_ENDPOINT,
        newValue: NEW_ENDPOINT,
        verified: false,
        reader: {
          recordName: 'orders-ro.db.example.internal',
          changeId: '/change/R',
          changeStatus: 'PENDING',
          verified: false,
          previousValue: SOURCE_READER_ENDPOINT,
          newValue: NEW_READER_ENDPOINT,
        },
      };

      // Act
      const result = await cutoverCluster(state(CNAME, { validation, cutover: previous }));

      // Assess
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
      expect(result).toMatchObject({
        done: true,
        verified: true,
        reader: { changeStatus: 'INSYNC', verified: true },
      });
    });

    it('refuses to overwrite a writer record someone pointed elsewhere during the rotation', async () => {
      // Prepare
      records('elsewhere.example.com', SOURCE_READER_ENDPOINT);

      // Act / Assess
      await expect(cutoverCluster(await attempted(state(CNAME, { validation })))).rejects.toMatchObject({
        name: 'CutoverFailedError',
        message: expect.stringContaining('points at elsewhere.example.com, neither at the source endpoint'),
      });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });

    it('renames the new cluster to the original identifier once the source is aside', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }), newCluster()] });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await cutoverCluster(
        await attempted(
          state(RENAME, {
            validation,
            freeze: { done: true, stoppedByRekey: true, renamedAside: true, status: 'stopped' },
          }),
        ),
      );

      // Assess
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        NewDBClusterIdentifier: SOURCE,
        ApplyImmediately: true,
      });
      expect(result).toMatchObject({
        done: false,
        verified: false,
        renamed: { sourceAside: true, newToOriginal: true },
      });
    });

    it('is verified when the new cluster answers under the original identifier and endpoint, renaming nothing', async () => {
      // Prepare
      world({
        clusters: [
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
        ],
      });

      // Act
      const result = await cutoverCluster(await attempted(state(RENAME, { validation })));

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(result).toMatchObject({ done: true, verified: true, newValue: SOURCE_ENDPOINT });
      expect(result.note).toBeUndefined();
    });
  });

  describe('retire', () => {
    const verified = (cutover: ClusterPlan['cutover'] = RENAME) =>
      state(cutover, { validation, cutover: verifiedRename });

    it('deletes each old member first, and not the old cluster while they remain', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
        instances: [oldMember(WRITER, { TagList: RETIRED }), oldMember(READER, { TagList: RETIRED })],
      });
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 2);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: WRITER,
        SkipFinalSnapshot: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: READER,
        SkipFinalSnapshot: true,
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: false, outcome: 'deleted' });
      expect(result.status).toContain(`deleting members ${READER}, ${WRITER}`);
    });

    it('keeps an old member the cutover did not mark retired, and deletes nothing', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
        instances: [oldMember(WRITER)],
      });

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: true, outcome: 'retained' });
      expect(result.reason).toContain(`${WRITER} does not carry the tags rekey:role=retired-source`);
    });

    it('then deletes the old cluster under its aside name, without a final snapshot', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
      });
      rds.on(DeleteDBClusterCommand).resolves({});

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: ASIDE,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      });
      expect(result).toMatchObject({ done: false, status: 'deleting' });
    });

    it('never deletes a member name that holds an instance of this rotation, nor the new cluster under the original name', async () => {
      // Prepare: the original name now holds the NEW cluster (rename cutover), a member name holds a tagged instance.
      world({
        clusters: [newCluster({ DBClusterIdentifier: SOURCE })],
        instances: [oldMember(WRITER, { TagList: OURS })],
      });

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toEqual({ done: true, outcome: 'deleted', status: 'deleted' });
    });

    it('keeps the old cluster and deletes nothing when the plan keeps it', async () => {
      // Prepare
      const current = verified();
      current.plan.decisions.deleteOldInstance = false;
      current.plan.decisions.keepOldInstanceReason = 'the input says oldInstance "keep".';
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })] });

      // Act
      const result = await retireCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({
        done: true,
        outcome: 'retained',
        reason: 'the input says oldInstance "keep".',
      });
    });
  });

  describe('rollback', () => {
    const failed = (cutover: ClusterPlan['cutover'], extra: Partial<ClusterState> = {}) =>
      state(cutover, {
        failure: {
          Error: 'ValidationFailedError',
          Cause: JSON.stringify({ errorMessage: 'the new cluster is wrong' }),
        },
        sourceSnapshot: {
          done: true,
          snapshotIdentifier: SOURCE_SNAPSHOT,
          snapshotArn: null,
          kmsKeyId: OLD_KEY,
          status: 'available',
        },
        copySnapshot: {
          done: true,
          snapshotIdentifier: COPY_SNAPSHOT,
          snapshotArn: null,
          kmsKeyId: NEW_KEY,
          status: 'available',
        },
        restore: { done: true, dbInstanceIdentifier: NEW_CLUSTER, dbInstanceArn: null, status: 'available' },
        ...extra,
      });

    it('before any cutover: deletes only the new members that carry this rotation tag, before the new cluster', async () => {
      // Prepare: the reader name holds an instance this rotation did not create.
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({
        clusters: [sourceCluster(), newCluster()],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { TagList: [] }),
        ],
      });
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await rollbackCluster(current);

      // Assess
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: NEW_WRITER });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: false, undone: [`deleted the new DB instance ${NEW_WRITER}`] });
    });

    it('lifts the new cluster deletion protection, then deletes it, then its tagged snapshots and schedules the new key', async () => {
      // Prepare
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      const clusters = [sourceCluster(), newCluster()];
      const snapshots = [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT)];
      world({ clusters, snapshots });
      rds.on(ModifyDBClusterCommand).resolves({});
      rds.on(DeleteDBClusterCommand).resolves({});
      rds.on(DeleteDBClusterSnapshotCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'Enabled' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });
      kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-01-08T00:00:00Z') });

      // Act: the first call lifts protection; the second deletes the cluster; the third finds it gone.
      const first = await rollbackCluster(current);
      clusters[1] = newCluster({ DeletionProtection: false });
      const second = await rollbackCluster({ ...current, rollback: first });
      clusters.pop();
      const third = await rollbackCluster({ ...current, rollback: second });

      // Assess
      expect(rds).toHaveReceivedNthCommandWith(ModifyDBClusterCommand, 1, {
        DBClusterIdentifier: NEW_CLUSTER,
        DeletionProtection: false,
        ApplyImmediately: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        SkipFinalSnapshot: true,
      });
      expect(rds).not.toHaveReceivedCommandWith(DeleteDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: COPY_SNAPSHOT,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
        KeyId: NEW_KEY_ID,
        PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
      });
      expect(third.done).toBe(true);
      expect(third.cause).toContain('the new cluster is wrong.');
      expect(third.cause).toContain(`deleted the new DB cluster ${NEW_CLUSTER}`);
      expect(third.cause).toContain(`deleted the DB cluster snapshot ${COPY_SNAPSHOT}`);
      expect(third.cause).toContain(`The old key ${OLD_KEY} was not touched.`);
    });

    it('does not delete a cluster snapshot of its name that another rotation took', async () => {
      // Prepare
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({
        clusters: [sourceCluster()],
        snapshots: [
          snapshot(SOURCE_SNAPSHOT, { TagList: [{ Key: 'rekey:rotation-id', Value: 'rkffffffffff' }] }),
        ],
      });
      rds.on(DeleteDBClusterSnapshotCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: {
          KeyId: NEW_KEY_ID,
          Arn: NEW_KEY,
          KeyManager: 'CUSTOMER',
          KeyState: 'PendingDeletion',
        },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });

      // Act
      const result = await rollbackCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
      expect(result.done).toBe(true);
    });

    it('starts the source cluster again when Rekey stopped it, and turns its deletion protection back on', async () => {
      // Prepare
      const current = failed(
        { type: 'none' },
        { freeze: { done: true, stoppedByRekey: true, deletionProtectionLifted: true, status: 'stopped' } },
      );
      const clusters = [sourceCluster({ Status: 'stopped' })];
      world({ clusters });
      rds.on(StartDBClusterCommand).resolves({});
      rds.on(ModifyDBClusterCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'PendingDeletion' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });

      // Act
      const first = await rollbackCluster(current);
      clusters[0] = sourceCluster({ Status: 'available', DeletionProtection: false });
      const second = await rollbackCluster({ ...current, rollback: first });

      // Assess
      expect(rds).toHaveReceivedCommandTimes(StartDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(first.done).toBe(false);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        DeletionProtection: true,
        ApplyImmediately: true,
      });
      expect(second.undone).toEqual(
        expect.arrayContaining([
          `started ${SOURCE} again`,
          `turned deletion protection on again for ${SOURCE}`,
        ]),
      );
    });

    it('after a rename cutover: first renames the new cluster off the original identifier, and keeps it', async () => {
      // Prepare
      world({
        clusters: [
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
        ],
      });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await rollbackCluster(failed(RENAME));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        NewDBClusterIdentifier: NEW_CLUSTER,
        ApplyImmediately: true,
      });
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toMatchObject({
        done: false,
        undone: [`renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`],
      });
    });

    it('after a rename cutover: then starts the stopped source and gives it its identifier back, deleting nothing', async () => {
      // Prepare
      const clusters = [newCluster(), sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })];
      world({ clusters });
      rds.on(StartDBClusterCommand).resolves({});
      rds.on(ModifyDBClusterCommand).resolves({});
      const current = failed(RENAME, {
        cutover: { ...verifiedRename, done: false, verified: false },
        rollback: {
          done: false,
          undone: [`renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`],
          leftBehind: [],
          facts: [
            { kind: 'renamed-back', resource: 'db-cluster', which: 'new', from: SOURCE, to: NEW_CLUSTER },
          ],
          cause: '',
        },
      });

      // Act
      const first = await rollbackCluster(current);
      clusters[1] = sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'available' });
      const second = await rollbackCluster({ ...current, rollback: first });

      // Assess
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: ASIDE });
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: ASIDE,
        NewDBClusterIdentifier: SOURCE,
        ApplyImmediately: true,
      });
      expect(second.undone).toEqual([
        `renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`,
        `started ${ASIDE} again`,
        `renamed the source back from ${ASIDE} to ${SOURCE}`,
      ]);
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('after a verified cutover: deletes and renames nothing, and says the new cluster and key hold the data', async () => {
      // Prepare
      world({
        clusters: [
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
        ],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG), newMember(NEW_READER, READER_CONFIG)],
        snapshots: [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT)],
      });

      // Act
      const result = await rollbackCluster(failed(RENAME, { validation, cutover: verifiedRename }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterSnapshotCommand);
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
      expect(result.done).toBe(true);
      expect(result.cause).toContain('The cutover had completed: clients use the new cluster');
      expect(result.cause).toContain(`Keep the new cluster ${NEW_CLUSTER} and its key ${NEW_KEY}`);
    });

    it('changes nothing when the rotation never took its lock', async () => {
      // Act
      const result = await rollbackCluster(
        failed({ type: 'none' }, { lock: { acquired: false, lockKeys: [] } }),
      );

      // Assess
      expect(rds.calls()).toHaveLength(0);
      expect(result).toMatchObject({
        done: true,
        undone: [],
        cause: 'the new cluster is wrong. Nothing was changed in AWS.',
      });
    });
  });

  describe('summarize', () => {
    it('reports a rename cutover under the original identifier and endpoint, with both keys and the old cluster deleted', async () => {
      // Prepare
      const current = state(RENAME, {
        validation,
        cutover: verifiedRename,
        retireInstance: { done: true, outcome: 'deleted', status: 'deleted' },
        oldKey: {
          state: 'PendingDeletion',
          keyArn: OLD_KEY,
          deletionDate: '2026-01-08T00:00:00.000Z',
          pendingWindowDays: 7,
        },
        configure: {
          done: true,
          applied: ['cluster.preferredMaintenanceWindow'],
          rebooted: false,
          status: 'available',
        },
      });

      // Act
      const output = await summarizeCluster(current);

      // Assess
      expect(output).toMatchObject({
        kind: 'cluster',
        rotationId: RID,
        sourceDbClusterIdentifier: SOURCE,
        newDbClusterIdentifier: SOURCE,
        newEndpoint: { address: SOURCE_ENDPOINT, port: 5432 },
        newReaderEndpoint: null,
        members: [
          { source: WRITER, new: NEW_WRITER, writer: true },
          { source: READER, new: NEW_READER, writer: false },
        ],
        oldKeyArn: OLD_KEY,
        newKeyArn: NEW_KEY,
        snapshotIdentifiers: { source: SOURCE_SNAPSHOT, reencrypted: COPY_SNAPSHOT },
        oldCluster: 'deleted',
        oldKey: { state: 'PendingDeletion', deletionDate: '2026-01-08T00:00:00.000Z' },
        cutover: {
          type: 'rename',
          identifier: SOURCE,
          endpoint: SOURCE_ENDPOINT,
          oldClusterRenamedTo: ASIDE,
        },
        configurationChangesAfterRestore: ['cluster.preferredMaintenanceWindow'],
        reason: 'annual PCI key change',
        requestedBy: 'platform-team',
      });
    });

    it('reports a cname cutover with its reader record and a retained old cluster and key', async () => {
      // Prepare
      const current = state(CNAME, {
        validation,
        cutover: {
          type: 'cname',
          done: true,
          changeId: '/change/W',
          changeStatus: 'INSYNC',
          previousValue: SOURCE_ENDPOINT,
          newValue: NEW_ENDPOINT,
          verified: true,
          reader: {
            recordName: 'orders-ro.db.example.internal',
            changeId: '/change/R',
            changeStatus: 'INSYNC',
            verified: true,
            previousValue: SOURCE_READER_ENDPOINT,
            newValue: NEW_READER_ENDPOINT,
          },
        },
        retireInstance: { done: true, outcome: 'retained', status: 'stopped', reason: 'kept' },
        oldKey: {
          state: 'Retained',
          keyArn: OLD_KEY,
          reason: 'a manual snapshot is under it',
          encryptedResources: [],
        },
      });

      // Act
      const output = await summarizeCluster(current);

      // Assess
      expect(output).toMatchObject({
        newDbClusterIdentifier: NEW_CLUSTER,
        newEndpoint: { address: NEW_ENDPOINT },
        newReaderEndpoint: NEW_READER_ENDPOINT,
        oldCluster: 'retained',
        oldKey: { state: 'Retained', reason: 'a manual snapshot is under it' },
        cutover: {
          type: 'cname',
          recordName: CNAME.recordName,
          previousValue: SOURCE_ENDPOINT,
          newValue: NEW_ENDPOINT,
          reader: {
            recordName: 'orders-ro.db.example.internal',
            previousValue: SOURCE_READER_ENDPOINT,
            newValue: NEW_READER_ENDPOINT,
          },
        },
      });
    });
  });
});
