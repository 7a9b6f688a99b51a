import { CreateAliasCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  type DBInstance,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ModifyDBInstanceCommand,
  StopDBInstanceCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { captureInstanceConfig, capturePlacement } from '#domain/instance-config.js';
import type { RotationState } from '#domain/state.js';
import { configureDatabase } from '#strategies/snapshot/configure-database.js';
import { copySnapshot } from '#strategies/snapshot/copy-snapshot.js';
import { restoreDatabase } from '#strategies/snapshot/restore-database.js';
import { snapshotSource } from '#strategies/snapshot/snapshot-source.js';
import { validateDatabase } from '#strategies/snapshot/validate-database.js';
import { SAMPLE, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

const MONITORING_ROLE = 'arn:aws:iam::123456789012:role/rds-monitoring-role';

const describeInstance = async (id: string): Promise<DBInstance> => {
  const { DBInstances } = await getClients().rds.send(
    new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }),
  );
  const db = DBInstances?.[0];
  if (!db) throw new Error(`${id} not found`);
  return db;
};

const tagMap = (tags: Tag[] | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]));

const counts = async () => {
  const { rds } = getClients();
  const { DBSnapshots } = await rds.send(new DescribeDBSnapshotsCommand({}));
  const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({}));
  return { snapshots: DBSnapshots?.length ?? 0, instances: DBInstances?.length ?? 0 };
};

/**
 * The seeded sample as preflight and create-key leave it: the plan describes the real source on
 * the emulator (its captured configuration), the new key exists, and writes are frozen.
 */
const prepare = async (): Promise<RotationState> => {
  const { rds, kms } = getClients();
  const seeded = await seedSample();
  // moto reports Enhanced Monitoring only after a ModifyDBInstance: give the source some to carry over.
  await rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: seeded.dbInstanceIdentifier,
      MonitoringInterval: 60,
      MonitoringRoleArn: MONITORING_ROLE,
      ApplyImmediately: true,
    }),
  );
  const source = await describeInstance(seeded.dbInstanceIdentifier);
  await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: seeded.dbInstanceIdentifier }));

  const state = stepEvent('snapshot-source');
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({ Description: `Rekey ${state.plan.rotationId}: new key for orders-db` }),
  );
  await kms.send(
    new CreateAliasCommand({ AliasName: state.plan.names.keyAlias, TargetKeyId: KeyMetadata?.KeyId }),
  );
  state.plan.source = {
    ...state.plan.source,
    dbInstanceArn: source.DBInstanceArn as string,
    endpointAddress: source.Endpoint?.Address as string,
    port: source.Endpoint?.Port ?? null,
    kmsKeyArn: seeded.oldKeyArn,
    config: captureInstanceConfig(source),
    placement: capturePlacement(source),
  };
  state.newKey = {
    keyId: KeyMetadata?.KeyId as string,
    keyArn: KeyMetadata?.Arn as string,
    alias: state.plan.names.keyAlias,
    created: true,
  };
  return state;
};

/** One pass of the data path, each step fed its own previous output, as the state machine does. */
const runDataPath = async (initial: RotationState): Promise<RotationState> => {
  let state: RotationState = { ...initial };
  state = { ...state, sourceSnapshot: await snapshotSource(state) };
  state = { ...state, copySnapshot: await copySnapshot(state) };
  state = { ...state, restore: await restoreDatabase(state) };
  for (let pass = 0; pass < 10; pass += 1) {
    state = { ...state, configure: await configureDatabase(state) };
    if (state.configure?.done) break;
  }
  return { ...state, validation: await validateDatabase(state) };
};

describe('data path on the emulator: snapshot, copy, restore, configure, validate', () => {
  useEmulator();

  it('moves the data to the new key with the source configuration, and a second run creates nothing', async () => {
    // Prepare
    const initial = await prepare();
    const { plan } = initial;
    const newKeyArn = initial.newKey?.keyArn as string;
    const { rds } = getClients();

    // Act
    const first = await runDataPath(initial);
    const before = await counts();
    const second = await runDataPath(first);
    const after = await counts();

    // Assess: every loop finished (moto makes everything available at once).
    expect(first.sourceSnapshot?.done).toBe(true);
    expect(first.copySnapshot?.done).toBe(true);
    expect(first.restore?.done).toBe(true);
    expect(first.configure).toMatchObject({ done: true, rebooted: false });
    expect(first.configure?.applied).toEqual(
      expect.arrayContaining(['maxAllocatedStorage', 'monitoringInterval', 'monitoringRoleArn']),
    );

    // Assess: the source snapshot stays under the old key and carries the source's tags.
    const { DBSnapshots: sources } = await rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: plan.names.sourceSnapshotIdentifier }),
    );
    expect(sources?.[0]?.KmsKeyId).toBe(plan.source.kmsKeyArn);
    expect(tagMap(sources?.[0]?.TagList)).toMatchObject({ ...SAMPLE.tags, 'rekey:role': 'source-snapshot' });

    // Assess: the copy is under the new key, with the user tags and its own role.
    const { DBSnapshots: copies } = await rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: plan.names.copySnapshotIdentifier }),
    );
    expect(copies?.[0]?.KmsKeyId).toBe(newKeyArn);
    expect(tagMap(copies?.[0]?.TagList)).toEqual({
      ...SAMPLE.tags,
      'rekey:rotation-id': plan.rotationId,
      'rekey:source-db': 'orders-db',
      'rekey:role': 'reencrypted-snapshot',
    });

    // Assess: the new instance is under the new key with the source's configuration.
    const created = await describeInstance(plan.names.newDbInstanceIdentifier);
    expect(created).toMatchObject({
      DBInstanceStatus: 'available',
      StorageEncrypted: true,
      KmsKeyId: newKeyArn,
      DBParameterGroups: [expect.objectContaining({ DBParameterGroupName: SAMPLE.parameterGroupName })],
      DeletionProtection: true,
      MultiAZ: false,
      MonitoringInterval: 60,
      MonitoringRoleArn: MONITORING_ROLE,
      MaxAllocatedStorage: 200,
    });
    expect(created.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId).sort()).toEqual([
      ...SAMPLE.securityGroupIds,
    ]);
    expect(tagMap(created.TagList)).toEqual({
      ...SAMPLE.tags,
      'rekey:rotation-id': plan.rotationId,
      'rekey:source-db': 'orders-db',
      'rekey:role': 'new-instance',
    });

    // Assess: validation passed and reports the new endpoint and key.
    expect(first.validation).toMatchObject({
      dbInstanceIdentifier: plan.names.newDbInstanceIdentifier,
      endpointAddress: created.Endpoint?.Address,
      kmsKeyArn: newKeyArn,
      status: 'available',
      differences: [],
    });

    // Assess: the second run found everything and created nothing.
    expect(after).toEqual(before);
    expect(second.sourceSnapshot).toEqual(first.sourceSnapshot);
    expect(second.copySnapshot).toEqual(first.copySnapshot);
    expect(second.restore).toEqual(first.restore);
    expect(second.configure).toEqual(first.configure);
    expect(second.validation?.kmsKeyArn).toBe(newKeyArn);
  });
});
