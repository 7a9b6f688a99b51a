import {
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  AddTagsToResourceCommand,
  type BlueGreenDeployment,
  BlueGreenDeploymentNotFoundFault,
  type DBCluster,
  DBClusterNotFoundFault,
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteBlueGreenDeploymentCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeBlueGreenDeploymentsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBClusterCommand,
  RDSClient,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterConfig, MemberConfig } from '#domain/cluster-config.js';
import { KEY_PENDING_WINDOW_DAYS, UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { clusterNamesFor } from '#domain/naming.js';
import type { ClusterPlan } from '#domain/plan.js';
import type {
  BlueGreenMember,
  GreenDeploymentResult,
  GreenValidationResult,
  RetireBlueResult,
  SwitchoverResult,
} from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { createGreen } from '#strategies/blue-green/create-green.js';
import { retireBlue } from '#strategies/blue-green/retire-blue.js';
import { rollbackBlueGreen } from '#strategies/blue-green/rollback.js';
import { summarizeBlueGreen } from '#strategies/blue-green/summarize.js';
import { switchover } from '#strategies/blue-green/switchover.js';
import { validateGreen } from '#strategies/blue-green/validate-green.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);

const RID = 'rk0123456789';
const PREFIX = 'arn:aws:rds:us-east-1:123456789012';
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111';
const NEW_KEY_ID = '22222222-2222-2222-2222-222222222222';
const NEW_KEY = `arn:aws:kms:us-east-1:123456789012:key/${NEW_KEY_ID}`;
const DEPLOYMENT_ID = 'bgd-0123456789abcdef';
const NAME = `rekey-orders-aurora-${RID}`;
const OURS = [{ Key: 'rekey:rotation-id', Value: RID }];
/** What the Switchover tags the old blue resources with once clients use the green ones. */
const RETIRED = [
  { Key: 'rekey:role', Value: 'retired-source' },
  { Key: 'rekey:retired-by', Value: RID },
];
const cluster = (id: string) => `${PREFIX}:cluster:${id}`;
const db = (id: string) => `${PREFIX}:db:${id}`;

const clusterConfig = { engine: 'aurora-postgresql', deletionProtection: true, tags: {} } as ClusterConfig;
const memberConfig = { dbInstanceClass: 'db.r6g.large' } as MemberConfig;

/** A Blue/Green rotation of the Aurora cluster orders-aurora (writer orders-aurora-1, reader orders-aurora-2). */
const blueGreenCluster = (extra: Partial<ClusterState> = {}): ClusterState => {
  const plan: ClusterPlan = {
    kind: 'cluster',
    rotationId: RID,
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:rekey:x',
    startedAt: '2026-01-01T00:00:00Z',
    partition: 'aws',
    region: 'us-east-1',
    accountId: '123456789012',
    request: {
      cutover: { type: 'none' },
      writeFreeze: 'none',
      reason: 'annual PCI key change',
    } as ClusterPlan['request'],
    target: { kind: 'cluster', identifier: 'orders-aurora' } as ClusterPlan['target'],
    strategy: {
      requested: 'blue-green',
      used: 'blue-green',
      reason: 'strategy "blue-green" was requested.',
      blueGreenIneligible: [],
    },
    names: clusterNamesFor(RID, 'orders-aurora', ['orders-aurora-1', 'orders-aurora-2']),
    cutover: { type: 'none' },
    decisions: {
      writeFreeze: { action: 'none', reason: 'Blue/Green: the switchover blocks writes.' },
      clientSwitch: { action: 'switch', by: 'switchover' },
      oldDatabase: { action: 'delete' },
      oldKey: { action: 'schedule-deletion', pendingWindowDays: KEY_PENDING_WINDOW_DAYS.default },
      artifactsOnFailure: { action: 'remove' },
      stopSource: false,
      switchClients: true,
      deleteOldInstance: true,
      keepOldInstanceReason: null,
      retireOldKey: true,
      keepOldKeyReason: null,
      notes: [],
    },
    source: {
      dbClusterIdentifier: 'orders-aurora',
      dbClusterArn: cluster('orders-aurora'),
      dbClusterResourceId: 'cluster-SOURCE',
      endpointAddress: 'orders-aurora.cluster-abc.us-east-1.rds.amazonaws.com',
      readerEndpointAddress: 'orders-aurora.cluster-ro-abc.us-east-1.rds.amazonaws.com',
      port: 5432,
      kmsKeyArn: OLD_KEY,
      keyManager: 'CUSTOMER',
      config: clusterConfig,
      members: [
        {
          dbInstanceIdentifier: 'orders-aurora-1',
          dbInstanceArn: db('orders-aurora-1'),
          isWriter: true,
          config: memberConfig,
        },
        {
          dbInstanceIdentifier: 'orders-aurora-2',
          dbInstanceArn: db('orders-aurora-2'),
          isWriter: false,
          config: memberConfig,
        },
      ],
    },
  };
  return {
    input: {},
    plan,
    lock: { acquired: true, lockKeys: [] },
    newKey: { keyId: NEW_KEY_ID, keyArn: NEW_KEY, alias: `alias/rekey/orders-aurora/${RID}`, created: true },
    ...extra,
  };
};

/** Blue -> green pairs of a cluster deployment before the switchover: the cluster and each member. */
const BEFORE: [string, string][] = [
  [cluster('orders-aurora'), cluster('orders-aurora-green-abc123')],
  [db('orders-aurora-1'), db('orders-aurora-1-green-def456')],
  [db('orders-aurora-2'), db('orders-aurora-2-green-ghi789')],
];
/** After the switchover: the blue resources renamed -old1, the green ones under the original names. */
const AFTER: [string, string][] = [
  [cluster('orders-aurora-old1'), cluster('orders-aurora')],
  [db('orders-aurora-1-old1'), db('orders-aurora-1')],
  [db('orders-aurora-2-old1'), db('orders-aurora-2')],
];

const deployment = (
  status: string,
  pairs: [string, string][],
  extra: Partial<BlueGreenDeployment> = {},
): BlueGreenDeployment => ({
  BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
  BlueGreenDeploymentName: NAME,
  Source: cluster('orders-aurora'),
  Status: status,
  SwitchoverDetails: pairs.map(([SourceMember, TargetMember]) => ({
    SourceMember,
    TargetMember,
    Status: status,
  })),
  TagList: OURS,
  ...extra,
});
const members = (pairs: [string, string][], status: string): BlueGreenMember[] =>
  pairs.map(([sourceArn, targetArn]) => ({ sourceArn, targetArn, status }));
const green = (): GreenDeploymentResult => ({
  done: true,
  deploymentId: DEPLOYMENT_ID,
  deploymentName: NAME,
  status: 'AVAILABLE',
  created: true,
  members: members(BEFORE, 'AVAILABLE'),
});
const validated = (): GreenValidationResult => ({
  deploymentId: DEPLOYMENT_ID,
  checkedAt: '2026-01-01T01:00:00.000Z',
  resources: BEFORE.map(([sourceArn, arn]) => ({
    kind: arn.includes(':cluster:') ? ('db-cluster' as const) : ('db-instance' as const),
    identifier: arn.split(':').pop() ?? arn,
    arn,
    status: 'available',
    kmsKeyArn: NEW_KEY,
    sourceArn,
  })),
});
const completed = (): SwitchoverResult => ({
  done: true,
  deploymentId: DEPLOYMENT_ID,
  status: 'SWITCHOVER_COMPLETED',
  requested: true,
  switchoverTimeoutSeconds: 300,
  members: members(AFTER, 'SWITCHOVER_COMPLETED'),
  completedAt: '2026-01-01T01:05:00.000Z',
});

const auroraCluster = (id: string, overrides: Partial<DBCluster> = {}): DBCluster => ({
  DBClusterIdentifier: id,
  DBClusterArn: cluster(id),
  Status: 'available',
  StorageEncrypted: true,
  KmsKeyId: NEW_KEY,
  DeletionProtection: false,
  TagList: OURS,
  ...overrides,
});
const auroraMember = (id: string, overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: id,
  DBInstanceArn: db(id),
  DBInstanceStatus: 'available',
  StorageEncrypted: true,
  KmsKeyId: NEW_KEY,
  DeletionProtection: false,
  TagList: OURS,
  ...overrides,
});

/** What RDS holds: each Describe answers by identifier, a missing one is a NotFound fault. */
const world = ({ clusters = [], instances = [] }: { clusters?: DBCluster[]; instances?: DBInstance[] }) => {
  rds.on(DescribeDBClustersCommand).callsFake(({ DBClusterIdentifier }) => {
    const found = clusters.find((c) => c.DBClusterIdentifier === DBClusterIdentifier);
    if (!found)
      throw new DBClusterNotFoundFault({ message: `${DBClusterIdentifier} not found`, $metadata: {} });
    return { DBClusters: [found] };
  });
  rds.on(DescribeDBInstancesCommand).callsFake(({ DBInstanceIdentifier }) => {
    const found = instances.find((i) => i.DBInstanceIdentifier === DBInstanceIdentifier);
    if (!found)
      throw new DBInstanceNotFoundFault({ message: `${DBInstanceIdentifier} not found`, $metadata: {} });
    return { DBInstances: [found] };
  });
  rds.on(DescribeDBSnapshotsCommand).callsFake(({ DBSnapshotIdentifier }) => {
    throw new DBSnapshotNotFoundFault({ message: `${DBSnapshotIdentifier} not found`, $metadata: {} });
  });
};
const greenWorld = (clusterOverrides: Partial<DBCluster> = {}, memberOverrides: Partial<DBInstance> = {}) =>
  world({
    clusters: [auroraCluster('orders-aurora-green-abc123', clusterOverrides)],
    instances: [
      auroraMember('orders-aurora-1-green-def456', memberOverrides),
      auroraMember('orders-aurora-2-green-ghi789'),
    ],
  });
const deploymentGone = () =>
  rds
    .on(DescribeBlueGreenDeploymentsCommand)
    .rejects(new BlueGreenDeploymentNotFoundFault({ message: 'gone', $metadata: {} }));

describe('blue-green steps for an Aurora cluster', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
  });

  describe('create-green', () => {
    it('tags the green cluster and members it finds untagged and is done once all are available', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({ TagList: [] }, { TagList: [] });
      rds.on(AddTagsToResourceCommand).resolves({});

      // Act
      const result = await createGreen(blueGreenCluster());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(AddTagsToResourceCommand, 2);
      expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
        ResourceName: cluster('orders-aurora-green-abc123'),
        Tags: [
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: 'orders-aurora' },
          { Key: 'rekey:role', Value: 'green' },
        ],
      });
      expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
        ResourceName: db('orders-aurora-1-green-def456'),
      });
      expect(result).toMatchObject({ done: true, deploymentName: NAME, status: 'AVAILABLE' });
      expect(result.members).toHaveLength(3);
    });

    it('keeps waiting while a green member instance is still being created', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({}, { DBInstanceStatus: 'creating' });

      // Act
      const result = await createGreen(blueGreenCluster());

      // Assess
      expect(result).toMatchObject({ done: false });
      expect(result.poll?.lastStatus).toBe('orders-aurora-1-green-def456 creating');
    });
  });

  describe('validate-green', () => {
    it('passes when the green cluster and each green member are available under the new key', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({ KmsKeyId: NEW_KEY_ID });

      // Act
      const result = await validateGreen(blueGreenCluster({ greenDeployment: green() }));

      // Assess
      expect(result.deploymentId).toBe(DEPLOYMENT_ID);
      expect(result.resources.map((r) => [r.kind, r.identifier, r.kmsKeyArn, r.status])).toEqual([
        ['db-cluster', 'orders-aurora-green-abc123', NEW_KEY, 'available'],
        ['db-instance', 'orders-aurora-1-green-def456', NEW_KEY, 'available'],
        ['db-instance', 'orders-aurora-2-green-ghi789', NEW_KEY, 'available'],
      ]);
    });

    it('refuses a green cluster under the old key, naming it and saying no switchover was asked', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({ KmsKeyId: OLD_KEY });

      // Act
      const error = await validateGreen(blueGreenCluster({ greenDeployment: green() })).catch(
        (e: Error) => e,
      );

      // Assess
      expect(error).toMatchObject({ name: 'ValidationFailedError' });
      expect((error as Error).message).toContain(
        `the green db-cluster orders-aurora-green-abc123 is encrypted with ${OLD_KEY} (the OLD key), not with the new key ${NEW_KEY}`,
      );
      expect((error as Error).message).toContain('No switchover was asked: clients still use orders-aurora');
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
    });

    it('refuses a green member instance that is not available or not under the new key', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({}, { DBInstanceStatus: 'modifying', KmsKeyId: OLD_KEY });

      // Act / Assess
      const error = await validateGreen(blueGreenCluster({ greenDeployment: green() })).catch(
        (e: Error) => e,
      );
      expect(error).toMatchObject({ name: 'ValidationFailedError' });
      expect((error as Error).message).toContain(
        '(1) the green db-instance orders-aurora-1-green-def456 is "modifying", not "available"',
      );
      expect((error as Error).message).toContain(
        `(2) the green db-instance orders-aurora-1-green-def456 is encrypted with ${OLD_KEY} (the OLD key)`,
      );
    });

    it('refuses a deployment that has no green counterpart for the cluster itself', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE.slice(1))] });
      greenWorld();

      // Act / Assess
      await expect(validateGreen(blueGreenCluster({ greenDeployment: green() }))).rejects.toMatchObject({
        name: 'ValidationFailedError',
        message: expect.stringContaining('(1) orders-aurora has no green counterpart in the deployment'),
      });
    });
  });

  describe('switchover', () => {
    it('asks RDS once, with a 300 s timeout, when the cluster deployment is AVAILABLE and its three greens were validated', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      rds
        .on(SwitchoverBlueGreenDeploymentCommand)
        .resolves({ BlueGreenDeployment: deployment('SWITCHOVER_IN_PROGRESS', BEFORE) });

      // Act
      const result = await switchover(
        blueGreenCluster({ greenDeployment: green(), greenValidation: validated() }),
      );

      // Assess
      expect(rds).toHaveReceivedCommandTimes(SwitchoverBlueGreenDeploymentCommand, 1);
      expect(rds).toHaveReceivedCommandWith(SwitchoverBlueGreenDeploymentCommand, {
        BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
        SwitchoverTimeout: 300,
      });
      expect(result).toMatchObject({ done: false, requested: true, status: 'SWITCHOVER_IN_PROGRESS' });
    });

    it('refuses to switch over when a green member appeared after validation', async () => {
      // Prepare
      const validation = validated();
      validation.resources = validation.resources.slice(0, 2);
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });

      // Act / Assess
      await expect(
        switchover(blueGreenCluster({ greenDeployment: green(), greenValidation: validation })),
      ).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(db('orders-aurora-2-green-ghi789')),
      });
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
    });

    it('is done at SWITCHOVER_COMPLETED with the cluster and members renamed -old1', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('SWITCHOVER_COMPLETED', AFTER)] });

      // Act
      const result = await switchover(
        blueGreenCluster({
          greenDeployment: green(),
          greenValidation: validated(),
          switchover: {
            ...completed(),
            done: false,
            status: 'SWITCHOVER_IN_PROGRESS',
            completedAt: undefined,
          },
        }),
      );

      // Assess
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
      expect(result).toMatchObject({ done: true, status: 'SWITCHOVER_COMPLETED' });
      expect(result.members).toEqual(members(AFTER, 'SWITCHOVER_COMPLETED'));
    });
  });

  describe('retire-blue', () => {
    const switched = () =>
      blueGreenCluster({ greenDeployment: green(), greenValidation: validated(), switchover: completed() });
    const oldCluster = (overrides: Partial<DBCluster> = {}) =>
      auroraCluster('orders-aurora-old1', {
        KmsKeyId: OLD_KEY,
        TagList: RETIRED,
        DbClusterResourceId: 'cluster-SOURCE',
        ...overrides,
      });
    const oldMember = (id: string, overrides: Partial<DBInstance> = {}) =>
      auroraMember(id, {
        KmsKeyId: OLD_KEY,
        TagList: RETIRED,
        DBClusterIdentifier: 'orders-aurora-old1',
        ...overrides,
      });

    it('keeps the old blue resources the switchover did not mark retired, and deletes nothing', async () => {
      // Prepare
      deploymentGone();
      world({ clusters: [oldCluster({ TagList: [] })], instances: [] });

      // Act
      const result = await retireBlue(switched());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: true, outcome: 'retained', deploymentDeleted: true });
      expect(result.reason).toContain('orders-aurora-old1 does not carry the tags rekey:role=retired-source');
    });

    it('deletes the old -old1 member instances first, not yet the old cluster', async () => {
      // Prepare
      deploymentGone();
      world({
        clusters: [oldCluster({ DeletionProtection: true })],
        instances: [oldMember('orders-aurora-1-old1'), oldMember('orders-aurora-2-old1')],
      });
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await retireBlue(switched());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 2);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: 'orders-aurora-1-old1',
        SkipFinalSnapshot: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: 'orders-aurora-2-old1',
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(result).toMatchObject({ done: false, outcome: 'deleted', deploymentDeleted: true });
    });

    it('then lifts the old cluster deletion protection and deletes it without a final snapshot', async () => {
      // Prepare
      deploymentGone();
      world({ clusters: [oldCluster({ DeletionProtection: true })] });
      rds.on(ModifyDBClusterCommand).resolves({});
      rds.on(DeleteDBClusterCommand).resolves({});

      // Act
      const result = await retireBlue(switched());

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: 'orders-aurora-old1',
        DeletionProtection: false,
        ApplyImmediately: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: 'orders-aurora-old1',
        SkipFinalSnapshot: true,
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(result).toMatchObject({
        done: false,
        deleted: ['orders-aurora-1-old1', 'orders-aurora-2-old1'],
      });
    });

    it('is done once the old cluster and its members are gone, listing them as deleted', async () => {
      // Prepare
      deploymentGone();
      world({});

      // Act
      const result = await retireBlue(switched());

      // Assess
      expect(result).toEqual({
        done: true,
        outcome: 'deleted',
        status: 'deleted',
        deploymentDeleted: true,
        deleted: ['orders-aurora-old1', 'orders-aurora-1-old1', 'orders-aurora-2-old1'],
        retained: [],
      });
    });

    it('refuses to delete an -old1 member that is not under the old key, deleting nothing', async () => {
      // Prepare
      deploymentGone();
      world({
        clusters: [oldCluster()],
        instances: [
          oldMember('orders-aurora-1-old1'),
          oldMember('orders-aurora-2-old1', { KmsKeyId: NEW_KEY }),
        ],
      });

      // Act / Assess
      await expect(retireBlue(switched())).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(
          `Refusing to delete orders-aurora-2-old1: it is encrypted with ${NEW_KEY}, not with the old key ${OLD_KEY}`,
        ),
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('refuses to delete an -old1 cluster that is not the cluster preflight described, deleting nothing', async () => {
      // Prepare: the members are gone; the cluster under the -old1 name has another resource id.
      deploymentGone();
      world({ clusters: [oldCluster({ DbClusterResourceId: 'cluster-SOMEONE-ELSE' })], instances: [] });

      // Act / Assess
      await expect(retireBlue(switched())).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(
          'Refusing to delete orders-aurora-old1: its resource id is cluster-SOMEONE-ELSE, not cluster-SOURCE',
        ),
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('keeps the old cluster and members when the plan keeps the old database, after deleting the deployment', async () => {
      // Prepare
      const current = switched();
      current.plan.decisions.deleteOldInstance = false;
      current.plan.decisions.keepOldInstanceReason = 'the input says oldInstance "keep".';
      deploymentGone();
      world({ clusters: [oldCluster()] });

      // Act
      const result = (await retireBlue(current)) as RetireBlueResult;

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({
        done: true,
        outcome: 'retained',
        retained: ['orders-aurora-old1', 'orders-aurora-1-old1', 'orders-aurora-2-old1'],
      });
    });
  });

  describe('rollback', () => {
    const failed = (extra: Partial<ClusterState> = {}) =>
      blueGreenCluster({
        greenDeployment: green(),
        failure: {
          Error: 'ValidationFailedError',
          Cause: JSON.stringify({ errorMessage: 'the green cluster is under the old key' }),
        },
        ...extra,
      });

    it('before the switchover: lifts the green cluster deletion protection, then deletes the deployment with DeleteTarget', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', BEFORE)] });
      greenWorld({ DeletionProtection: true });
      rds.on(ModifyDBClusterCommand).resolves({});
      rds.on(DeleteBlueGreenDeploymentCommand).resolves({});

      // Act
      const result = await rollbackBlueGreen(failed());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: 'orders-aurora-green-abc123',
        DeletionProtection: false,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteBlueGreenDeploymentCommand, {
        BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
        DeleteTarget: true,
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result.done).toBe(false);
    });

    it('once the deployment and its greens are gone: schedules the unused new key and says the blue cluster still serves', async () => {
      // Prepare
      deploymentGone();
      world({ clusters: [auroraCluster('orders-aurora', { KmsKeyId: OLD_KEY, TagList: [] })] });
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'Enabled' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });
      kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-01-08T00:00:00.000Z') });

      // Act
      const result = await rollbackBlueGreen(failed());

      // Assess
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
        KeyId: NEW_KEY_ID,
        PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(result.done).toBe(true);
      expect(result.cause).toContain(
        `deleted the Blue/Green deployment ${NAME} and its green resources (orders-aurora-green-abc123, orders-aurora-1-green-def456, orders-aurora-2-green-ghi789)`,
      );
      expect(result.cause).toContain(
        'No switchover happened: orders-aurora was not changed and still serves clients under the old key',
      );
      expect(result.cause).toContain(`The old key ${OLD_KEY} was not touched.`);
    });

    it('after SWITCHOVER_COMPLETED: deletes nothing and names the old -old1 cluster and members left', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('SWITCHOVER_COMPLETED', AFTER)] });
      world({
        clusters: [auroraCluster('orders-aurora-old1', { KmsKeyId: OLD_KEY })],
        instances: [auroraMember('orders-aurora-1-old1', { KmsKeyId: OLD_KEY })],
      });

      // Act
      const result = await rollbackBlueGreen(failed({ switchover: completed() }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteBlueGreenDeploymentCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(result.done).toBe(true);
      expect(result.leftBehind).toEqual([
        `Blue/Green deployment ${DEPLOYMENT_ID} (delete it without --delete-target)`,
        'old blue db-cluster orders-aurora-old1 (available, under the old key)',
        'old blue db-instance orders-aurora-1-old1 (available, under the old key)',
      ]);
    });
  });

  describe('summarize', () => {
    it('reports the green cluster and members under the original names with the new key', async () => {
      // Prepare
      const current = blueGreenCluster({
        greenDeployment: green(),
        greenValidation: validated(),
        switchover: completed(),
        retireInstance: {
          done: true,
          outcome: 'deleted',
          status: 'deleted',
          deploymentDeleted: true,
          deleted: ['orders-aurora-old1', 'orders-aurora-1-old1', 'orders-aurora-2-old1'],
          retained: [],
        } satisfies RetireBlueResult,
        oldKey: {
          state: 'PendingDeletion',
          keyArn: OLD_KEY,
          deletionDate: '2026-01-31T00:00:00.000Z',
          pendingWindowDays: 30,
        },
      });

      // Act
      const output = await summarizeBlueGreen(current);

      // Assess
      expect(output).toMatchObject({
        kind: 'cluster',
        sourceIdentifier: 'orders-aurora',
        strategy: { used: 'blue-green' },
        blueGreenDeployment: { identifier: DEPLOYMENT_ID, name: NAME, deleted: true },
        greenResources: [
          { kind: 'db-cluster', identifier: 'orders-aurora', kmsKeyArn: NEW_KEY },
          { kind: 'db-instance', identifier: 'orders-aurora-1', kmsKeyArn: NEW_KEY },
          { kind: 'db-instance', identifier: 'orders-aurora-2', kmsKeyArn: NEW_KEY },
        ],
        oldResources: {
          deleted: ['orders-aurora-old1', 'orders-aurora-1-old1', 'orders-aurora-2-old1'],
          retained: [],
        },
        oldInstance: 'deleted',
        oldKey: { state: 'PendingDeletion', deletionDate: '2026-01-31T00:00:00.000Z' },
        switchover: { timeoutSeconds: 300, completedAt: '2026-01-01T01:05:00.000Z' },
      });
    });
  });
});
