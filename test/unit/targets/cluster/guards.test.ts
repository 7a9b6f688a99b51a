import {
  DBClusterNotFoundFault,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  RDSClient,
  StopDBClusterCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterConfig, MemberConfig } from '#domain/cluster-config.js';
import { KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { clusterNamesFor } from '#domain/naming.js';
import type { ClusterPlan } from '#domain/plan.js';
import type { ClusterState } from '#domain/state.js';
import { cutoverCluster } from '#targets/cluster/cutover.js';
import { retireCluster } from '#targets/cluster/retire.js';
import { stopCluster } from '#targets/cluster/stop.js';
import { validateCluster } from '#targets/cluster/validate.js';
import { preflight } from '#targets/preflight.js';
import { CLUSTER_CONFIG, WRITER_CONFIG } from '../../../support/cluster-fixtures.js';

const rds = mockClient(RDSClient);
const RID = 'rk0123456789';
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111';
const NEW_KEY = 'arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222';

// The preflight test below reads this configuration back from a described cluster.
const clusterConfig: ClusterConfig = {
  ...CLUSTER_CONFIG,
  dbSubnetGroupName: 'default',
  vpcSecurityGroupIds: ['sg-1'],
  storageType: 'aurora',
};
const memberConfig: MemberConfig = WRITER_CONFIG;

const state = (cutover: ClusterPlan['cutover'], extra: Partial<ClusterState> = {}): ClusterState => {
  const names = clusterNamesFor(RID, 'orders-aurora', ['orders-aurora-1']);
  const request = {
    cutover: { type: 'none' },
    writeFreeze: 'stop',
    reason: 'test',
  } as ClusterPlan['request'];
  const plan: ClusterPlan = {
    kind: 'cluster',
    rotationId: RID,
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:rekey:x',
    startedAt: '2026-01-01T00:00:00Z',
    partition: 'aws',
    region: 'us-east-1',
    accountId: '123456789012',
    request,
    target: { kind: 'cluster', identifier: 'orders-aurora' } as ClusterPlan['target'],
    strategy: { requested: 'snapshot', used: 'snapshot', reason: 'r', blueGreenIneligible: [] },
    names,
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
      switchClients: true,
      deleteOldInstance: true,
      keepOldInstanceReason: null,
      retireOldKey: true,
      keepOldKeyReason: null,
      notes: [],
    },
    source: {
      dbClusterIdentifier: 'orders-aurora',
      dbClusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:orders-aurora',
      dbClusterResourceId: 'cluster-SOURCE',
      endpointAddress: 'orders-aurora.cluster-abc.us-east-1.rds.amazonaws.com',
      readerEndpointAddress: 'orders-aurora.cluster-ro-abc.us-east-1.rds.amazonaws.com',
      port: 5432,
      kmsKeyArn: OLD_KEY,
      keyManager: 'CUSTOMER',
      config: clusterConfig,
      members: [
        { dbInstanceIdentifier: 'orders-aurora-1', dbInstanceArn: 'a', isWriter: true, config: memberConfig },
      ],
    },
  };
  return {
    input: {},
    plan,
    newKey: { keyId: NEW_KEY.split('/')[1] ?? '', keyArn: NEW_KEY, alias: 'alias/x', created: true },
    ...extra,
  };
};
const RENAME = {
  type: 'rename',
  asideIdentifier: `orders-aurora-old-${RID}`,
  endpointAddress: 'orders-aurora.cluster-abc.us-east-1.rds.amazonaws.com',
} as const;
const notFound = () => new DBClusterNotFoundFault({ message: 'not found', $metadata: {} });

describe('cluster steps', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('refuses an Aurora Serverless v1 cluster in preflight without changing anything', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [
        {
          DBClusterIdentifier: 'orders-aurora',
          DBClusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:orders-aurora',
          Engine: 'aurora-postgresql',
          EngineMode: 'serverless',
          Status: 'available',
          StorageEncrypted: true,
          KmsKeyId: OLD_KEY,
        },
      ],
    });

    // Act
    const result = preflight({
      input: { dbClusterIdentifier: 'orders-aurora', cutover: { type: 'none' }, reason: 'test' },
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:rekey:x',
      startedAt: '2026-01-01T00:00:00Z',
    });

    // Assess
    await expect(result).rejects.toThrow(/Aurora Serverless v1 cluster/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('renames the source aside and lifts its deletion protection in one call, before stopping it', async () => {
    // Prepare
    rds
      .on(DescribeDBClustersCommand, { DBClusterIdentifier: RENAME.asideIdentifier })
      .rejects(notFound())
      .on(DescribeDBClustersCommand, { DBClusterIdentifier: 'orders-aurora' })
      .resolves({
        DBClusters: [
          {
            DBClusterIdentifier: 'orders-aurora',
            DbClusterResourceId: 'cluster-SOURCE',
            Status: 'available',
            DeletionProtection: true,
          },
        ],
      });
    rds.on(ModifyDBClusterCommand).resolves({});

    // Act
    const result = await stopCluster(state(RENAME));

    // Assess
    expect(result).toMatchObject({ done: false, renamedAside: true, deletionProtectionLifted: true });
    expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
      DBClusterIdentifier: 'orders-aurora',
      NewDBClusterIdentifier: RENAME.asideIdentifier,
      DeletionProtection: false,
      ApplyImmediately: true,
    });
    expect(rds).not.toHaveReceivedCommand(StopDBClusterCommand);
  });

  it('refuses a rename cutover onto an identifier another cluster took, without renaming anything', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: 'orders-aurora' }).resolves({
      DBClusters: [
        {
          DBClusterIdentifier: 'orders-aurora',
          DbClusterResourceId: 'cluster-SOMEONE-ELSE',
          Status: 'available',
        },
      ],
    });
    const current = state(RENAME, {
      validation: {
        dbInstanceIdentifier: `orders-aurora-${RID}`,
        dbInstanceArn: 'a',
        endpointAddress: 'new.cluster-abc',
        port: 5432,
        kmsKeyArn: NEW_KEY,
        status: 'available',
        differences: [],
        checkedAt: 'now',
      },
    });

    // Act: the first call only records the attempt.
    const result = cutoverCluster({ ...current, cutover: await cutoverCluster(current) });

    // Assess
    await expect(result).rejects.toThrow(/was taken by another DB cluster/);
    expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
  });

  it('refuses to delete the old cluster when the cutover was not verified', async () => {
    // Act
    const result = retireCluster(state(RENAME));

    // Assess
    await expect(result).rejects.toThrow(/the cutover was not verified/);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
  });

  it('fails validation naming a member difference and a cluster under the old key', async () => {
    // Prepare
    const newId = `orders-aurora-${RID}`;
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [
        {
          DBClusterIdentifier: newId,
          Status: 'available',
          StorageEncrypted: true,
          Endpoint: 'new.cluster-abc',
          KmsKeyId: OLD_KEY,
          Engine: 'aurora-postgresql',
          EngineVersion: '16.4',
          EngineMode: 'provisioned',
          Port: 5432,
          DBSubnetGroup: 'default',
          VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-1' }],
          DBClusterParameterGroup: 'orders-aurora-pg16',
          IAMDatabaseAuthenticationEnabled: true,
          EnabledCloudwatchLogsExports: ['postgresql'],
          DeletionProtection: true,
          CopyTagsToSnapshot: true,
          BackupRetentionPeriod: 7,
          PreferredBackupWindow: '03:00-03:30',
          PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
          StorageType: 'aurora',
          NetworkType: 'IPV4',
          TagList: [
            { Key: 'team', Value: 'orders' },
            { Key: 'rekey:rotation-id', Value: RID },
          ],
          DBClusterMembers: [{ DBInstanceIdentifier: `orders-aurora-1-${RID}`, IsClusterWriter: true }],
        },
      ],
    });
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: `orders-aurora-1-${RID}`,
          DBClusterIdentifier: newId,
          DBInstanceStatus: 'available',
          DBInstanceClass: 'db.r6g.xlarge',
          AvailabilityZone: 'us-east-1a',
          PromotionTier: 0,
          DBParameterGroups: [{ DBParameterGroupName: 'orders-aurora-instance-pg16' }],
          AutoMinorVersionUpgrade: false,
          CACertificateIdentifier: 'rds-ca-rsa2048-g1',
          PreferredMaintenanceWindow: 'wed:06:38-wed:07:08',
          TagList: [{ Key: 'rekey:rotation-id', Value: RID }],
        },
      ],
    });

    // Act
    const result = validateCluster(state({ type: 'none' }));

    // Assess
    await expect(result).rejects.toThrow(/the cluster is encrypted with .*11111111.* \(the OLD key\)/);
    await expect(validateCluster(state({ type: 'none' }))).rejects.toThrow(
      /differs from orders-aurora-1: dbInstanceClass: expected "db.r6g.large", found "db.r6g.xlarge"/,
    );
  });
});
