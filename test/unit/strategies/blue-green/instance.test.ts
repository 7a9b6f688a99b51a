import { KMSClient } from '@aws-sdk/client-kms';
import {
  AddTagsToResourceCommand,
  type BlueGreenDeployment,
  BlueGreenDeploymentAlreadyExistsFault,
  BlueGreenDeploymentNotFoundFault,
  CreateBlueGreenDeploymentCommand,
  type DBInstance,
  DBInstanceNotFoundFault,
  DeleteBlueGreenDeploymentCommand,
  DeleteDBInstanceCommand,
  DescribeBlueGreenDeploymentsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterPlan, InstancePlan } from '#domain/plan.js';
import type { GreenDeploymentResult, SwitchoverResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { createGreen } from '#strategies/blue-green/create-green.js';
import { retireBlue } from '#strategies/blue-green/retire-blue.js';
import { rollbackBlueGreen } from '#strategies/blue-green/rollback.js';
import { switchover } from '#strategies/blue-green/switchover.js';
import { validateGreen } from '#strategies/blue-green/validate-green.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);

const DB = 'arn:aws:rds:us-east-1:123456789012:db';
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const NEW_KEY_ID = '7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const NEW_KEY = `arn:aws:kms:us-east-1:123456789012:key/${NEW_KEY_ID}`;
const DEPLOYMENT_ID = 'bgd-0123456789abcdef';

/** A Blue/Green rotation of orders-db (with the read replicas given) that took its lock and made its key. */
const blueGreenState = (replicas: string[] = []): RotationState<InstancePlan> => {
  const event = stepEvent('retire-database');
  const plan = event.plan;
  plan.strategy = {
    requested: 'blue-green',
    used: 'blue-green',
    reason: 'strategy "blue-green" was requested.',
    blueGreenIneligible: [],
  };
  plan.cutover = { type: 'none' };
  plan.source.readReplicas = replicas.map((id) => ({
    dbInstanceIdentifier: id,
    dbInstanceArn: `${DB}:${id}`,
  }));
  return { input: event.input, plan, lock: event.lock, newKey: event.newKey };
};
const rotationId = () => blueGreenState().plan.rotationId;
const NAME = `rekey-orders-db-${rotationId()}`;
const TAGS = () => [{ Key: 'rekey:rotation-id', Value: rotationId() }];
/** What the Switchover tags the old blue resources with once clients use the green ones. */
const RETIRED = () => [
  { Key: 'rekey:role', Value: 'retired-source' },
  { Key: 'rekey:retired-by', Value: rotationId() },
];

const deployment = (
  status: string,
  members: [string, string][],
  extra: Partial<BlueGreenDeployment> = {},
) => ({
  BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
  BlueGreenDeploymentName: NAME,
  Status: status,
  SwitchoverDetails: members.map(([source, target]) => ({
    SourceMember: `${DB}:${source}`,
    TargetMember: `${DB}:${target}`,
    Status: status,
  })),
  TagList: TAGS(),
  ...extra,
});
const instance = (id: string, overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceIdentifier: id,
  DBInstanceArn: `${DB}:${id}`,
  DBInstanceStatus: 'available',
  StorageEncrypted: true,
  KmsKeyId: NEW_KEY,
  DeletionProtection: false,
  ...overrides,
});
const instances = (...dbs: DBInstance[]) => {
  rds.on(DescribeDBInstancesCommand).callsFake(({ DBInstanceIdentifier }) => {
    const found = dbs.find((db) => db.DBInstanceIdentifier === DBInstanceIdentifier);
    if (!found)
      throw new DBInstanceNotFoundFault({
        message: `DBInstance ${DBInstanceIdentifier} not found.`,
        $metadata: {},
      });
    return { DBInstances: [found] };
  });
};
const green = (members: [string, string][]): GreenDeploymentResult => ({
  done: true,
  deploymentId: DEPLOYMENT_ID,
  deploymentName: NAME,
  status: 'AVAILABLE',
  created: true,
  members: members.map(([s, t]) => ({
    sourceArn: `${DB}:${s}`,
    targetArn: `${DB}:${t}`,
    status: 'AVAILABLE',
  })),
});

describe('blue-green steps', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
  });

  describe('create-green', () => {
    it('creates the deployment with TargetKmsKeyId = the new key for the instance and each read replica, tagged, then polls', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({ BlueGreenDeployments: [] });
      rds
        .on(CreateBlueGreenDeploymentCommand)
        .resolves({ BlueGreenDeployment: deployment('PROVISIONING', []) });

      // Act
      const result = await createGreen(blueGreenState(['orders-r1', 'orders-r2']));

      // Assess
      expect(rds).toHaveReceivedCommandWith(DescribeBlueGreenDeploymentsCommand, {
        Filters: [{ Name: 'blue-green-deployment-name', Values: [NAME] }],
      });
      expect(rds).toHaveReceivedCommandTimes(CreateBlueGreenDeploymentCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CreateBlueGreenDeploymentCommand, {
        BlueGreenDeploymentName: NAME,
        Source: `${DB}:orders-db`,
        TargetResourceConfigurations: [
          { SourceArn: `${DB}:orders-db`, TargetKmsKeyId: NEW_KEY },
          { SourceArn: `${DB}:orders-r1`, TargetKmsKeyId: NEW_KEY },
          { SourceArn: `${DB}:orders-r2`, TargetKmsKeyId: NEW_KEY },
        ],
        Tags: [
          { Key: 'rekey:rotation-id', Value: rotationId() },
          { Key: 'rekey:source-db', Value: 'orders-db' },
          { Key: 'rekey:role', Value: 'blue-green-deployment' },
        ],
      });
      expect(result).toMatchObject({
        done: false,
        deploymentId: DEPLOYMENT_ID,
        status: 'PROVISIONING',
        created: true,
      });
      expect(result.poll).toEqual({
        attempt: 1,
        waitSeconds: 15,
        lastStatus: 'PROVISIONING',
        since: expect.any(String),
      });
    });

    it('gives an Aurora cluster one TargetResourceConfiguration: the cluster ARN', async () => {
      // Prepare
      const state = blueGreenState() as unknown as RotationState<ClusterPlan>;
      const clusterArn = 'arn:aws:rds:us-east-1:123456789012:cluster:orders-cluster';
      state.plan = {
        ...state.plan,
        kind: 'cluster',
        target: { kind: 'cluster', identifier: 'orders-cluster' },
        source: { dbClusterIdentifier: 'orders-cluster', dbClusterArn: clusterArn, kmsKeyArn: OLD_KEY },
      } as unknown as ClusterPlan;
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({ BlueGreenDeployments: [] });
      rds
        .on(CreateBlueGreenDeploymentCommand)
        .resolves({ BlueGreenDeployment: deployment('PROVISIONING', []) });

      // Act
      await createGreen(state);

      // Assess
      expect(rds).toHaveReceivedCommandWith(CreateBlueGreenDeploymentCommand, {
        BlueGreenDeploymentName: `rekey-orders-cluster-${rotationId()}`,
        Source: clusterArn,
        TargetResourceConfigurations: [{ SourceArn: clusterArn, TargetKmsKeyId: NEW_KEY }],
      });
    });

    it('finds its deployment on a re-run instead of creating a second one, tags the green and is done once all is available', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('AVAILABLE', [['orders-db', 'orders-db-green-abc123']])],
      });
      instances(instance('orders-db-green-abc123'));
      rds.on(AddTagsToResourceCommand).resolves({});

      // Act
      const result = await createGreen(blueGreenState());

      // Assess
      expect(rds).not.toHaveReceivedCommand(CreateBlueGreenDeploymentCommand);
      expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
        ResourceName: `${DB}:orders-db-green-abc123`,
        Tags: [
          { Key: 'rekey:rotation-id', Value: rotationId() },
          { Key: 'rekey:source-db', Value: 'orders-db' },
          { Key: 'rekey:role', Value: 'green' },
        ],
      });
      expect(result).toMatchObject({ done: true, status: 'AVAILABLE', members: [{ status: 'AVAILABLE' }] });
    });

    it('adopts the deployment an earlier attempt created when the create answers AlreadyExists (lost answer)', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolvesOnce({ BlueGreenDeployments: [] })
        .resolves({ BlueGreenDeployments: [deployment('PROVISIONING', [])] });
      rds
        .on(CreateBlueGreenDeploymentCommand)
        .rejects(new BlueGreenDeploymentAlreadyExistsFault({ message: 'exists', $metadata: {} }));

      // Act
      const result = await createGreen(blueGreenState());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CreateBlueGreenDeploymentCommand, 1);
      expect(result).toMatchObject({ done: false, deploymentId: DEPLOYMENT_ID });
    });

    it("refuses a deployment of its name that does not carry this rotation's tag, creating nothing", async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('AVAILABLE', [], { TagList: [] })] });

      // Act / Assess
      await expect(createGreen(blueGreenState())).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('is not this rotation'),
      });
      expect(rds).not.toHaveReceivedCommand(CreateBlueGreenDeploymentCommand);
    });

    it('fails on INVALID_CONFIGURATION with the details RDS gives', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [
          deployment('INVALID_CONFIGURATION', [], {
            StatusDetails: 'binlog_format must be ROW',
            Tasks: [{ Name: 'CREATING_READ_REPLICA_OF_SOURCE', Status: 'FAILED' }],
          }),
        ],
      });

      // Act / Assess
      await expect(createGreen(blueGreenState())).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          '"INVALID_CONFIGURATION" (binlog_format must be ROW); failed tasks: CREATING_READ_REPLICA_OF_SOURCE',
        ),
      });
    });
  });

  describe('validate-green', () => {
    it('passes when every green instance is available under the new key (a bare key id counts)', async () => {
      // Prepare
      const state = {
        ...blueGreenState(),
        greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
      };
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('AVAILABLE', [['orders-db', 'orders-db-green-abc123']])],
      });
      instances(instance('orders-db-green-abc123', { KmsKeyId: NEW_KEY_ID }));

      // Act
      const result = await validateGreen(state);

      // Assess
      expect(result.resources).toEqual([
        {
          kind: 'db-instance',
          identifier: 'orders-db-green-abc123',
          arn: `${DB}:orders-db-green-abc123`,
          status: 'available',
          kmsKeyArn: NEW_KEY,
          sourceArn: `${DB}:orders-db`,
        },
      ]);
    });

    it('refuses a green under the old key and a read replica without a green, naming each', async () => {
      // Prepare
      const state = {
        ...blueGreenState(['orders-r1']),
        greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
      };
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('AVAILABLE', [['orders-db', 'orders-db-green-abc123']])],
      });
      instances(instance('orders-db-green-abc123', { KmsKeyId: OLD_KEY }));

      // Act / Assess
      const error = await validateGreen(state).catch((e: Error) => e);
      expect(error).toMatchObject({ name: 'ValidationFailedError' });
      expect((error as Error).message).toContain('(1) orders-r1 has no green counterpart in the deployment');
      expect((error as Error).message).toContain(
        `(2) the green db-instance orders-db-green-abc123 is encrypted with ${OLD_KEY} (the OLD key), not with the new key ${NEW_KEY}`,
      );
      expect((error as Error).message).toContain('No switchover was asked: clients still use orders-db');
    });
  });

  describe('switchover', () => {
    const validated = () => ({
      ...blueGreenState(),
      greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
      greenValidation: {
        deploymentId: DEPLOYMENT_ID,
        resources: [
          {
            kind: 'db-instance' as const,
            identifier: 'orders-db-green-abc123',
            arn: `${DB}:orders-db-green-abc123`,
            status: 'available',
            kmsKeyArn: NEW_KEY,
            sourceArn: `${DB}:orders-db`,
          },
        ],
        checkedAt: '2026-11-22T16:00:00.000Z',
      },
    });

    it('refuses to switch over a deployment that was not validated, calling nothing', async () => {
      // Act / Assess
      await expect(
        switchover({
          ...blueGreenState(),
          greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
        }),
      ).rejects.toMatchObject({ name: 'PreconditionFailedError' });
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
    });

    it('asks once with a 300 s SwitchoverTimeout when the deployment is AVAILABLE, then polls', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('AVAILABLE', [['orders-db', 'orders-db-green-abc123']])],
      });
      rds
        .on(SwitchoverBlueGreenDeploymentCommand)
        .resolves({ BlueGreenDeployment: deployment('SWITCHOVER_IN_PROGRESS', []) });

      // Act
      const result = await switchover(validated());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(SwitchoverBlueGreenDeploymentCommand, 1);
      expect(rds).toHaveReceivedCommandWith(SwitchoverBlueGreenDeploymentCommand, {
        BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
        SwitchoverTimeout: 300,
      });
      expect(result).toMatchObject({ done: false, requested: true, status: 'SWITCHOVER_IN_PROGRESS' });
    });

    it('does not ask again while the switchover is in progress', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [
          deployment('SWITCHOVER_IN_PROGRESS', [['orders-db', 'orders-db-green-abc123']]),
        ],
      });

      // Act
      const result = await switchover(validated());

      // Assess
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
      expect(result).toMatchObject({ done: false, requested: true });
    });

    it('is done at SWITCHOVER_COMPLETED and records the renamed members', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('SWITCHOVER_COMPLETED', [['orders-db-old1', 'orders-db']])],
      });

      // Act
      const result = await switchover(validated());

      // Assess
      expect(rds).not.toHaveReceivedCommand(SwitchoverBlueGreenDeploymentCommand);
      expect(result).toMatchObject({
        done: true,
        members: [
          { sourceArn: `${DB}:orders-db-old1`, targetArn: `${DB}:orders-db`, status: 'SWITCHOVER_COMPLETED' },
        ],
      });
      // The green database now serves (no role may delete it); the old blue one is what RetireBlue may delete.
      expect(rds.commandCalls(AddTagsToResourceCommand).map((call) => call.args[0].input)).toEqual([
        { ResourceName: `${DB}:orders-db`, Tags: [{ Key: 'rekey:role', Value: 'serving' }] },
        { ResourceName: `${DB}:orders-db-old1`, Tags: RETIRED() },
      ]);
    });

    it('fails with CutoverFailedError at SWITCHOVER_FAILED, saying RDS rolled back and the blue database serves', async () => {
      // Prepare
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('SWITCHOVER_FAILED', [['orders-db', 'orders-db-green-abc123']])],
      });

      // Act / Assess
      await expect(switchover(validated())).rejects.toMatchObject({
        name: 'CutoverFailedError',
        message: expect.stringContaining(
          'RDS rolled it back by itself: the blue database orders-db still serves clients',
        ),
      });
    });
  });

  describe('retire-blue', () => {
    const switched = (): RotationState<InstancePlan> => ({
      ...blueGreenState(['orders-r1']),
      greenDeployment: green([
        ['orders-db', 'orders-db-green-abc123'],
        ['orders-r1', 'orders-r1-green-def456'],
      ]),
      switchover: {
        done: true,
        deploymentId: DEPLOYMENT_ID,
        status: 'SWITCHOVER_COMPLETED',
        requested: true,
        switchoverTimeoutSeconds: 300,
        members: [
          { sourceArn: `${DB}:orders-db-old1`, targetArn: `${DB}:orders-db`, status: 'SWITCHOVER_COMPLETED' },
          { sourceArn: `${DB}:orders-r1-old1`, targetArn: `${DB}:orders-r1`, status: 'SWITCHOVER_COMPLETED' },
        ],
      } satisfies SwitchoverResult,
    });

    it('deletes the deployment without DeleteTarget first, and waits for it to go', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .resolves({ BlueGreenDeployments: [deployment('SWITCHOVER_COMPLETED', [])] });
      rds.on(DeleteBlueGreenDeploymentCommand).resolves({});

      // Act
      const result = await retireBlue(switched());

      // Assess
      expect(rds).toHaveReceivedCommandWith(DeleteBlueGreenDeploymentCommand, {
        BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
      });
      expect(
        rds.commandCalls(DeleteBlueGreenDeploymentCommand)[0]?.args[0].input.DeleteTarget,
      ).toBeUndefined();
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(result).toMatchObject({ done: false, deploymentDeleted: false });
    });

    it('then deletes the old read replica first (lifting its protection), not yet the old primary', async () => {
      // Prepare
      const state = switched();
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .rejects(new BlueGreenDeploymentNotFoundFault({ message: 'gone', $metadata: {} }));
      instances(
        instance('orders-db-old1', {
          TagList: RETIRED(),
          KmsKeyId: OLD_KEY,
          DbiResourceId: state.plan.source.dbiResourceId ?? undefined,
        }),
        instance('orders-r1-old1', {
          TagList: RETIRED(),
          KmsKeyId: OLD_KEY,
          ReadReplicaSourceDBInstanceIdentifier: 'orders-db-old1',
          DeletionProtection: true,
        }),
      );
      rds.on(ModifyDBInstanceCommand).resolves({});
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await retireBlue(state);

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
        DBInstanceIdentifier: 'orders-r1-old1',
        DeletionProtection: false,
      });
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: 'orders-r1-old1',
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      });
      expect(result).toMatchObject({ done: false, deploymentDeleted: true });
    });

    it('refuses to delete an -old1 instance that is not under the old key, deleting nothing', async () => {
      // Prepare
      rds
        .on(DescribeBlueGreenDeploymentsCommand)
        .rejects(new BlueGreenDeploymentNotFoundFault({ message: 'gone', $metadata: {} }));
      instances(
        instance('orders-db-old1', {
          TagList: RETIRED(),
          KmsKeyId: NEW_KEY,
        }),
        instance('orders-r1-old1', {
          TagList: RETIRED(),
          KmsKeyId: OLD_KEY,
        }),
      );

      // Act / Assess
      await expect(retireBlue(switched())).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining('Refusing to delete orders-db-old1'),
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    });
  });

  describe('blue-green rollback', () => {
    it('before the switchover: deletes the deployment with DeleteTarget (its green goes too)', async () => {
      // Prepare
      const state = {
        ...blueGreenState(),
        greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
        failure: { Error: 'ValidationFailedError', Cause: 'wrong key' },
      };
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('AVAILABLE', [['orders-db', 'orders-db-green-abc123']])],
      });
      instances(instance('orders-db-green-abc123'));
      rds.on(DeleteBlueGreenDeploymentCommand).resolves({});

      // Act
      const result = await rollbackBlueGreen(state);

      // Assess
      expect(rds).toHaveReceivedCommandWith(DeleteBlueGreenDeploymentCommand, {
        BlueGreenDeploymentIdentifier: DEPLOYMENT_ID,
        DeleteTarget: true,
      });
      expect(result.done).toBe(false);
    });

    it('after SWITCHOVER_COMPLETED: deletes nothing and says the green serves and what is left', async () => {
      // Prepare
      const state: RotationState = {
        ...blueGreenState(),
        greenDeployment: green([['orders-db', 'orders-db-green-abc123']]),
        switchover: {
          done: true,
          deploymentId: DEPLOYMENT_ID,
          status: 'SWITCHOVER_COMPLETED',
          requested: true,
          switchoverTimeoutSeconds: 300,
          members: [
            {
              sourceArn: `${DB}:orders-db-old1`,
              targetArn: `${DB}:orders-db`,
              status: 'SWITCHOVER_COMPLETED',
            },
          ],
        },
        failure: { Error: 'TransientAwsError', Cause: 'RetireBlue gave up' },
      };
      rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
        BlueGreenDeployments: [deployment('SWITCHOVER_COMPLETED', [['orders-db-old1', 'orders-db']])],
      });
      instances(
        instance('orders-db-old1', {
          TagList: RETIRED(),
          KmsKeyId: OLD_KEY,
        }),
      );
      rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [] });

      // Act
      const result = await rollbackBlueGreen(state);

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteBlueGreenDeploymentCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(result.done).toBe(true);
      expect(result.cause).toContain(
        'The switchover had completed: clients use the green resources (orders-db) under the new key',
      );
      expect(result.cause).toContain('old blue db-instance orders-db-old1 (available, under the old key)');
      expect(result.cause).toContain(`The old key ${OLD_KEY} was not touched`);
    });
  });
});
