import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { afterEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import type { BlueGreenRotationOutput, RotationOutput } from '#domain/output.js';
import { seedSample } from '../../cli/seed.js';
import { type BlueGreenFake, installBlueGreenFake } from '../support/blue-green-fake.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import {
  captureBaseline,
  cnameValue,
  compensationProblems,
  heldLocks,
  runRotation,
} from '../support/rotation.js';

const keyState = async (keyIdOrArn: string) =>
  (await getClients().kms.send(new DescribeKeyCommand({ KeyId: keyIdOrArn.split('/').pop() ?? keyIdOrArn })))
    .KeyMetadata;

const instanceIds = async (): Promise<string[]> =>
  ((await getClients().rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [])
    .map((db) => db.DBInstanceIdentifier ?? '')
    .sort();

describe('the Blue/Green path of the state machine (Blue/Green calls served by a faithful fake on the emulator)', () => {
  useEmulator();
  let fake: BlueGreenFake | undefined;
  afterEach(() => {
    fake?.remove();
    fake = undefined;
  });

  it('rotates orders-db through a Blue/Green deployment: the new key serves the original endpoint, the old blue and the old key retire', async () => {
    // Prepare
    const sample = await seedSample();
    const before = await findInstance(getClients().rds, 'orders-db');
    fake = installBlueGreenFake();

    // Act
    const result = await runRotation({ input: executionInput('blue-green'), executionName: 'bg-happy' });

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: BlueGreenRotationOutput }).output;
    expect(output.oldKey, JSON.stringify(output.oldKey)).toMatchObject({ state: 'PendingDeletion' });
    expect(output).toMatchObject({
      strategy: {
        requested: 'blue-green',
        used: 'blue-green',
        reason: 'strategy "blue-green" was requested.',
      },
      kind: 'instance',
      sourceIdentifier: 'orders-db',
      endpoint: { address: sample.endpointAddress },
      blueGreenDeployment: { deleted: true },
      greenResources: [{ kind: 'db-instance', identifier: 'orders-db' }],
      oldResources: { deleted: ['orders-db-old1'], retained: [] },
      oldKeyArn: sample.oldKeyArn,
      oldInstance: 'deleted',
      oldKey: { state: 'PendingDeletion' },
      switchover: { timeoutSeconds: 300 },
    });
    expect(output.blueGreenDeployment.identifier).toMatch(/^bgd-/);
    expect(output.greenResources[0]?.kmsKeyArn).toBe(output.newKeyArn);
    // The call sequence: created once, validated (no RDS call), switched over once, deleted without DeleteTarget.
    const mutating = fake.calls.filter((c) => c.command !== 'DescribeBlueGreenDeployments');
    expect(mutating.map((c) => c.command)).toEqual([
      'CreateBlueGreenDeployment',
      'SwitchoverBlueGreenDeployment',
      'DeleteBlueGreenDeployment',
    ]);
    expect(mutating[0]?.input.TargetResourceConfigurations).toEqual([
      { SourceArn: before?.DBInstanceArn, TargetKmsKeyId: output.newKeyArn },
    ]);
    expect(mutating[1]?.input.SwitchoverTimeout).toBe(300);
    expect(mutating[2]?.input.DeleteTarget).toBeUndefined();
    expect(fake.deployments()).toEqual([]);

    // orders-db is now the green instance: same endpoint, new key. (The emulator gives a restored
    // instance the same DbiResourceId as its source, so the resource id cannot tell them apart here.)
    const now = await findInstance(getClients().rds, 'orders-db');
    expect(now?.DBInstanceStatus).toBe('available');
    expect(now?.KmsKeyId).toBe(output.newKeyArn);
    expect(now?.Endpoint?.Address).toBe(sample.endpointAddress);
    expect(await instanceIds()).toEqual(['orders-db']);
    expect(await cnameValue(sample)).toBe(sample.endpointAddress);
    expect((await keyState(sample.oldKeyArn))?.KeyState).toBe('PendingDeletion');
    expect((await keyState(output.newKeyArn))?.KeyState).toBe('Enabled');
    expect(await heldLocks()).toEqual([]);
  });

  it('refuses to switch over when the green instance is not under the new key, and deletes the deployment and the green', async () => {
    // Prepare: the fake behaves like moto here, leaving the green under the blue (old) key.
    const sample = await seedSample();
    const baseline = await captureBaseline(sample);
    fake = installBlueGreenFake({ ignoreTargetKmsKeyId: true });

    // Act
    const result = await runRotation({ input: executionInput('blue-green'), executionName: 'bg-wrong-key' });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationFailedError' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toMatch(
      /the green db-instance orders-db-green-\w+ is encrypted with .* \(the OLD key\), not with the new key/,
    );
    expect(cause).toContain('No switchover was asked: clients still use orders-db, which was not changed.');
    expect(cause).toMatch(
      /Undone: deleted the Blue\/Green deployment rekey-orders-db-rk\w+ and its green resources \(orders-db-green-\w+\); scheduled the unused new key .* for deletion on /,
    );
    expect(cause).toContain(`The old key ${sample.oldKeyArn} was not touched.`);
    expect(fake.calls.map((c) => c.command)).not.toContain('SwitchoverBlueGreenDeployment');
    const deletion = fake.calls.find((c) => c.command === 'DeleteBlueGreenDeployment');
    expect(deletion?.input.DeleteTarget).toBe(true);
    expect(fake.deployments()).toEqual([]);
    expect(await instanceIds()).toEqual(['orders-db']);
    // The source untouched and available, its CNAME unchanged, the new key pending deletion, no lock held.
    expect(await compensationProblems(baseline, cause)).toEqual([]);
  });

  it('falls back to the snapshot strategy with "auto" on a database Blue/Green cannot rotate, and says why in the output', async () => {
    // Prepare: RDS for Oracle is not eligible for Blue/Green (strategy.ts), but a snapshot rotation works.
    const { rds, kms } = getClients();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'ledger-db key' }));
    await rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'ledger-db',
        Engine: 'oracle-ee',
        DBInstanceClass: 'db.m5.large',
        AllocatedStorage: 100,
        MasterUsername: 'ledger_admin',
        MasterUserPassword: 'sample-password-not-secret',
        StorageEncrypted: true,
        KmsKeyId: KeyMetadata?.Arn,
      }),
    );
    fake = installBlueGreenFake();

    // Act
    const result = await runRotation({
      input: {
        dbInstanceIdentifier: 'ledger-db',
        strategy: 'auto',
        cutover: { type: 'none' },
        reason: 'Annual key rotation',
      },
      executionName: 'bg-auto-fallback',
    });

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output.strategy).toEqual({
      requested: 'auto',
      used: 'snapshot',
      reason:
        'strategy "auto" fell back to "snapshot": RDS for Oracle (oracle-ee) does not support Blue/Green deployments.',
    });
    expect(output.snapshotIdentifiers.reencrypted).toMatch(/^rekey-ledger-db-rk\w+-reencrypted$/);
    expect(fake.calls).toEqual([]);
  });

  it('uses Blue/Green with "auto" on an eligible database, and says why in the output', async () => {
    // Prepare
    await seedSample();
    fake = installBlueGreenFake();

    // Act
    const result = await runRotation({
      input: { ...executionInput('blue-green'), strategy: 'auto' },
      executionName: 'bg-auto-eligible',
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: BlueGreenRotationOutput }).output;
    expect(output.strategy).toEqual({
      requested: 'auto',
      used: 'blue-green',
      reason:
        'strategy "auto": orders-db is eligible for a Blue/Green deployment, which switches over in about a minute.',
    });
  });
});
