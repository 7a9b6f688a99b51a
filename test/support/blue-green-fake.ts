import { randomBytes } from 'node:crypto';
import {
  type BlueGreenDeployment,
  BlueGreenDeploymentAlreadyExistsFault,
  BlueGreenDeploymentNotFoundFault,
  CopyDBSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBInstance,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  InvalidBlueGreenDeploymentStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
  type TargetResourceConfiguration,
} from '@aws-sdk/client-rds';
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MetadataBearer,
} from '@smithy/types';
import { getClients } from '#aws/clients.js';

/**
 * A faithful stand-in for RDS Blue/Green deployments on the emulator. moto 5.2.1 implements the
 * four calls but ignores `TargetKmsKeyId` (its green instance is under the blue key) and makes no
 * green read replicas, so a rotation cannot succeed on it. This fake intercepts
 * CreateBlueGreenDeployment, DescribeBlueGreenDeployments, SwitchoverBlueGreenDeployment and
 * DeleteBlueGreenDeployment on the steps' RDS client and serves them with real emulator resources:
 *
 * - create: each blue instance (the source and each of its read replicas) gets a real green instance
 *   `<id>-green-<random>` under its `TargetKmsKeyId` (snapshot, copy under the target key, restore with
 *   the blue configuration and tags, intermediate snapshots deleted); the deployment answers
 *   PROVISIONING, then PROVISIONING once more, then AVAILABLE (so the wait loop runs);
 * - switchover: only from AVAILABLE (else InvalidBlueGreenDeploymentStateFault); answers
 *   SWITCHOVER_IN_PROGRESS, and on the next describe renames each blue `<id>` to `<id>-old1` and each
 *   green to `<id>` and reports SWITCHOVER_COMPLETED with the new ARNs (as moto and RDS do);
 * - delete: forgets the deployment; `DeleteTarget` deletes the green instances, and is refused once
 *   the switchover completed (as RDS does).
 *
 * `ignoreTargetKmsKeyId: true` behaves like moto: the green instances stay under the blue key.
 */
export interface BlueGreenFakeOptions {
  ignoreTargetKmsKeyId?: boolean;
}

export interface BlueGreenFake {
  /** The Blue/Green commands served, in order, with their input. */
  readonly calls: { command: string; input: Record<string, unknown> }[];
  /** Deployments that still exist. */
  readonly deployments: () => BlueGreenDeployment[];
  remove(): void;
}

interface Member {
  sourceId: string;
  greenId: string;
  status: string;
}

interface FakeDeployment {
  id: string;
  name: string;
  sourceId: string;
  tags: Tag[];
  status: string;
  /** Describes left before PROVISIONING turns AVAILABLE. */
  provisioningDescribes: number;
  members: Member[];
  createTime: Date;
}

const COMMANDS = new Set([
  'CreateBlueGreenDeploymentCommand',
  'DescribeBlueGreenDeploymentsCommand',
  'SwitchoverBlueGreenDeploymentCommand',
  'DeleteBlueGreenDeploymentCommand',
]);
const MIDDLEWARE_NAME = 'rekeyBlueGreenFake';

const idOfArn = (arn: string): string => arn.split(':').pop() ?? arn;

export const installBlueGreenFake = (options: BlueGreenFakeOptions = {}): BlueGreenFake => {
  const { rds: stepsRds } = getClients();
  // A client of its own, so the fake's emulator calls do not pass through the fake.
  const rds = new RDSClient({
    region: process.env.AWS_REGION ?? 'us-east-1',
    endpoint: process.env.AWS_ENDPOINT_URL,
  });
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const deployments = new Map<string, FakeDeployment>();
  /**
   * The emulator keys automated backups by identifier, so a renamed blue instance leaves its automated
   * snapshots behind under its old name (RDS keeps them with the instance, by resource id). The fake
   * remembers them at the switchover and deletes them when the `-old1` instance is deleted with
   * `DeleteAutomatedBackups`, as RDS would.
   */
  const automatedOfRenamed = new Map<string, string[]>();
  const calls: BlueGreenFake['calls'] = [];

  const describeInstance = async (id: string): Promise<DBInstance | undefined> => {
    try {
      return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
    } catch {
      return undefined;
    }
  };
  const arnOf = async (id: string): Promise<string> =>
    (await describeInstance(id))?.DBInstanceArn ?? `arn:aws:rds:${region}:123456789012:db:${id}`;

  const metadata = { $metadata: {} };
  const stateFault = (message: string) => new InvalidBlueGreenDeploymentStateFault({ message, ...metadata });

  /** A green copy of `blue` under `kmsKeyId`, with the blue configuration and tags. */
  const makeGreen = async (blue: DBInstance, kmsKeyId: string, greenId: string): Promise<void> => {
    const seed = `${greenId}-seed`;
    const copy = `${greenId}-copy`;
    await rds.send(
      new CreateDBSnapshotCommand({
        DBSnapshotIdentifier: seed,
        DBInstanceIdentifier: blue.DBInstanceIdentifier,
      }),
    );
    await rds.send(
      new CopyDBSnapshotCommand({
        SourceDBSnapshotIdentifier: seed,
        TargetDBSnapshotIdentifier: copy,
        KmsKeyId: kmsKeyId,
      }),
    );
    await rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: greenId,
        DBSnapshotIdentifier: copy,
        DBInstanceClass: blue.DBInstanceClass,
        DBParameterGroupName: blue.DBParameterGroups?.[0]?.DBParameterGroupName,
        VpcSecurityGroupIds: (blue.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? ''),
        DBSubnetGroupName: blue.DBSubnetGroup?.DBSubnetGroupName,
        MultiAZ: blue.MultiAZ,
        Port: blue.Endpoint?.Port,
        StorageType: blue.StorageType,
        PubliclyAccessible: blue.PubliclyAccessible,
        CopyTagsToSnapshot: blue.CopyTagsToSnapshot,
        DeletionProtection: blue.DeletionProtection,
        EnableIAMDatabaseAuthentication: blue.IAMDatabaseAuthenticationEnabled,
        EnableCloudwatchLogsExports: blue.EnabledCloudwatchLogsExports,
        Tags: blue.TagList,
      }),
    );
    for (const snapshot of [seed, copy]) {
      await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot }));
    }
  };

  const deleteInstance = async (id: string): Promise<void> => {
    const db = await describeInstance(id);
    if (!db) return;
    if (db.DeletionProtection) {
      await rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: id,
          DeletionProtection: false,
          ApplyImmediately: true,
        }),
      );
    }
    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true }));
  };

  const render = async (d: FakeDeployment): Promise<BlueGreenDeployment> => ({
    BlueGreenDeploymentIdentifier: d.id,
    BlueGreenDeploymentName: d.name,
    Source: await arnOf(d.members[0]?.sourceId ?? d.sourceId),
    Target: await arnOf(d.members[0]?.greenId ?? ''),
    SwitchoverDetails: await Promise.all(
      d.members.map(async (m) => ({
        SourceMember: await arnOf(m.sourceId),
        TargetMember: await arnOf(m.greenId),
        Status: m.status,
      })),
    ),
    Tasks: [
      {
        Name: 'CREATING_READ_REPLICA_OF_SOURCE',
        Status: d.status === 'PROVISIONING' ? 'IN_PROGRESS' : 'COMPLETED',
      },
    ],
    Status: d.status,
    CreateTime: d.createTime,
    TagList: d.tags,
  });

  const setStatus = (d: FakeDeployment, status: string) => {
    d.status = status;
    for (const m of d.members) m.status = status;
  };

  /** Advance a deployment by one step, as time would on RDS. */
  const advance = async (d: FakeDeployment): Promise<void> => {
    if (d.status === 'PROVISIONING') {
      if (d.provisioningDescribes > 0) d.provisioningDescribes -= 1;
      else setStatus(d, 'AVAILABLE');
    } else if (d.status === 'SWITCHOVER_IN_PROGRESS') {
      // Blue out of the way first (the emulator would overwrite an existing identifier), then green in.
      for (const m of d.members) {
        const old = `${m.sourceId}-old1`;
        const { DBSnapshots } = await rds.send(
          new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: m.sourceId, SnapshotType: 'automated' }),
        );
        automatedOfRenamed.set(
          old,
          (DBSnapshots ?? []).map((snapshot) => snapshot.DBSnapshotIdentifier ?? ''),
        );
        await rds.send(
          new ModifyDBInstanceCommand({
            DBInstanceIdentifier: m.sourceId,
            NewDBInstanceIdentifier: old,
            ApplyImmediately: true,
          }),
        );
        await rds.send(
          new ModifyDBInstanceCommand({
            DBInstanceIdentifier: m.greenId,
            NewDBInstanceIdentifier: m.sourceId,
            ApplyImmediately: true,
          }),
        );
        const original = m.sourceId;
        m.sourceId = old;
        m.greenId = original;
      }
      setStatus(d, 'SWITCHOVER_COMPLETED');
    }
  };

  const serve = async (command: string, input: Record<string, unknown>): Promise<object> => {
    calls.push({ command: command.replace(/Command$/, ''), input });
    if (command === 'CreateBlueGreenDeploymentCommand') {
      const name = String(input.BlueGreenDeploymentName);
      if ([...deployments.values()].some((d) => d.name === name)) {
        throw new BlueGreenDeploymentAlreadyExistsFault({
          message: `A blue/green deployment with the specified name ${name} already exists.`,
          ...metadata,
        });
      }
      const sourceId = idOfArn(String(input.Source));
      const source = await describeInstance(sourceId);
      if (!source) throw new Error(`fake: no source instance ${sourceId}`);
      const configs = (input.TargetResourceConfigurations ?? []) as TargetResourceConfiguration[];
      const keyFor = (blue: DBInstance): string => {
        const asked = configs.find((c) => c.SourceArn === blue.DBInstanceArn)?.TargetKmsKeyId;
        return options.ignoreTargetKmsKeyId || !asked ? (blue.KmsKeyId ?? '') : asked;
      };
      const blues = [source];
      for (const replicaId of source.ReadReplicaDBInstanceIdentifiers ?? []) {
        const replica = await describeInstance(replicaId);
        if (replica) blues.push(replica);
      }
      const members: Member[] = [];
      for (const blue of blues) {
        const blueId = blue.DBInstanceIdentifier ?? '';
        const greenId = `${blueId}-green-${randomBytes(3).toString('hex')}`;
        await makeGreen(blue, keyFor(blue), greenId);
        members.push({ sourceId: blueId, greenId, status: 'PROVISIONING' });
      }
      const d: FakeDeployment = {
        id: `bgd-${randomBytes(8).toString('hex')}`,
        name,
        sourceId,
        tags: (input.Tags ?? []) as Tag[],
        status: 'PROVISIONING',
        provisioningDescribes: 1,
        members,
        createTime: new Date(),
      };
      deployments.set(d.id, d);
      return { BlueGreenDeployment: await render(d) };
    }
    if (command === 'DescribeBlueGreenDeploymentsCommand') {
      const id = input.BlueGreenDeploymentIdentifier as string | undefined;
      const filters = (input.Filters ?? []) as { Name: string; Values: string[] }[];
      const names = filters.find((f) => f.Name === 'blue-green-deployment-name')?.Values;
      if (id && !deployments.has(id)) {
        throw new BlueGreenDeploymentNotFoundFault({
          message: `BlueGreenDeploymentIdentifier ${id} doesn't refer to an existing blue/green deployment.`,
          ...metadata,
        });
      }
      const found = [...deployments.values()].filter(
        (d) => (!id || d.id === id) && (!names || names.includes(d.name)),
      );
      for (const d of found) await advance(d);
      return { BlueGreenDeployments: await Promise.all(found.map(render)) };
    }
    const id = String(input.BlueGreenDeploymentIdentifier);
    const d = deployments.get(id);
    if (!d) {
      throw new BlueGreenDeploymentNotFoundFault({
        message: `BlueGreenDeploymentIdentifier ${id} doesn't refer to an existing blue/green deployment.`,
        ...metadata,
      });
    }
    if (command === 'SwitchoverBlueGreenDeploymentCommand') {
      if (d.status !== 'AVAILABLE')
        throw stateFault(`The blue/green deployment ${id} is ${d.status}; it can't be switched over.`);
      setStatus(d, 'SWITCHOVER_IN_PROGRESS');
      return { BlueGreenDeployment: await render(d) };
    }
    // DeleteBlueGreenDeployment
    if (input.DeleteTarget === true) {
      if (d.status === 'SWITCHOVER_COMPLETED') {
        throw stateFault(`The blue/green deployment ${id} has switched over: DeleteTarget is not allowed.`);
      }
      // Like RDS and the emulator: a protected green is not deleted.
      for (const m of d.members) {
        if ((await describeInstance(m.greenId))?.DeletionProtection) {
          throw new RDSServiceException({
            name: 'InvalidParameterCombination',
            $fault: 'client',
            message: 'Cannot delete protected DB Instance, please disable deletion protection and try again.',
            ...metadata,
          });
        }
      }
      for (const m of d.members) await deleteInstance(m.greenId);
    }
    const answer = await render(d);
    deployments.delete(id);
    return { BlueGreenDeployment: { ...answer, Status: 'DELETING' } };
  };

  const middleware =
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<MetadataBearer>> => {
      const command = context.commandName ?? '';
      if (command === 'DeleteDBInstanceCommand') {
        const input = args.input as { DBInstanceIdentifier?: string; DeleteAutomatedBackups?: boolean };
        const answer = await next(args);
        const automated = automatedOfRenamed.get(input.DBInstanceIdentifier ?? '');
        if (automated && input.DeleteAutomatedBackups !== false) {
          for (const snapshot of automated) {
            await rds
              .send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshot }))
              .catch(() => undefined);
          }
        }
        return answer;
      }
      if (!COMMANDS.has(command)) return next(args);
      const output = await serve(command, args.input as Record<string, unknown>);
      return { output: { ...output, $metadata: {} }, response: {} };
    };
  const stack = stepsRds.middlewareStack as unknown as {
    add: (m: unknown, o: object) => void;
    remove: (name: string) => boolean;
  };
  stack.add(middleware, { step: 'initialize', priority: 'high', name: MIDDLEWARE_NAME });
  return {
    calls,
    deployments: () =>
      [...deployments.values()].map((d) => ({ BlueGreenDeploymentIdentifier: d.id, Status: d.status })),
    remove: () => {
      stack.remove(MIDDLEWARE_NAME);
      rds.destroy();
    },
  };
};
