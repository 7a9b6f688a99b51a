import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { captureInstanceConfig, diffConfig } from '#domain/instance-config.js';
import type { RotationOutput } from '#domain/output.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import { injectFaults } from '../support/faults.js';
import {
  allInstances,
  captureBaseline,
  cnameValue,
  compensationProblems,
  runRotation,
} from '../support/rotation.js';

const rds = () => getClients().rds;
const identifiers = async () => (await allInstances()).map((db) => db.DBInstanceIdentifier).sort();
const tagOf = (db: { TagList?: { Key?: string; Value?: string }[] } | null, key: string) =>
  db?.TagList?.find((tag) => tag.Key === key)?.Value;

describe('the rename cutover on the emulator', () => {
  useEmulator();

  it('gives the new instance the original identifier and endpoint, and retires the old one', async () => {
    // Prepare
    const sample = await seedSample();
    const sourceBefore = await findInstance(rds(), 'orders-db');

    // Act
    const result = await runRotation({
      input: executionInput('rename-cutover'),
      executionName: 'rename-happy',
    });

    // Assess
    expect(result, result.status === 'FAILED' ? result.cause : '').toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output).toMatchObject({
      sourceDbInstanceIdentifier: 'orders-db',
      newDbInstanceIdentifier: 'orders-db',
      newEndpoint: { address: sample.endpointAddress },
      cutover: { type: 'rename', identifier: 'orders-db', endpoint: sample.endpointAddress },
      oldInstance: 'deleted',
    });
    const serving = await findInstance(rds(), 'orders-db');
    expect(serving?.KmsKeyId).toBe(output.newKeyArn);
    expect(serving?.Endpoint?.Address).toBe(sample.endpointAddress);
    expect(tagOf(serving, 'rekey:role')).toBe('serving');
    expect(
      diffConfig(captureInstanceConfig(sourceBefore ?? {}), captureInstanceConfig(serving ?? {})),
    ).toEqual([]);
    // The old instance (moved aside) is deleted; nothing else is left.
    expect(await identifiers()).toEqual(['orders-db']);
    // Clients using the CNAME follow too: it still names the original endpoint.
    expect(await cnameValue(sample)).toBe(sample.endpointAddress);
    // The emulator keeps the source's automated snapshot under the name it had when it was taken
    // (rds:orders-db-...) after the rename, and so does not delete it with the instance; on AWS
    // automated backups follow the instance and go with it. The key guard sees that snapshot, still
    // under the old key, and keeps the key, naming exactly what holds it.
    expect(output.oldKey).toMatchObject({ state: 'Retained' });
    const reason = output.oldKey.state === 'Retained' ? output.oldKey.reason : '';
    expect(reason).toMatch(
      /still encrypted under it: db-snapshot:rds:orders-db-[0-9-]+ \(automated\), db-instance-automated-backup:orders-db \(active\)\./,
    );
    const { KeyMetadata } = await getClients().kms.send(
      new DescribeKeyCommand({ KeyId: sample.oldKeyArn.split('/')[1] }),
    );
    expect(KeyMetadata?.KeyState).toBe('Enabled');
  });

  it('without a freeze, moves the source aside only at the cutover and keeps it for reconciling', async () => {
    // Prepare
    const sample = await seedSample();

    // Act
    const result = await runRotation({
      input: { ...executionInput('rename-cutover'), writeFreeze: 'none' },
      executionName: 'rename-no-freeze',
    });

    // Assess
    expect(result, result.status === 'FAILED' ? result.cause : '').toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output.oldInstance).toBe('retained');
    const aside = `orders-db-old-${output.rotationId}`;
    expect(output.cutover).toMatchObject({ type: 'rename', oldInstanceRenamedTo: aside });
    const old = await findInstance(rds(), aside);
    expect(old).toMatchObject({ DBInstanceStatus: 'available', KmsKeyId: sample.oldKeyArn });
    expect((await findInstance(rds(), 'orders-db'))?.KmsKeyId).toBe(output.newKeyArn);
  });

  it('undoes both renames in reverse order when the cutover fails after moving the source aside', async () => {
    // Prepare: RDS refuses to give the new instance the original identifier.
    const sample = await seedSample();
    const baseline = await captureBaseline(sample);
    const faults = injectFaults([
      {
        command: 'ModifyDBInstance',
        task: 'Cutover',
        fault: { error: 'InvalidParameterCombination', message: 'The rename is not allowed now' },
      },
    ]);

    // Act
    const result = await runRotation({
      input: executionInput('rename-cutover'),
      executionName: 'rename-fails',
    });
    faults.remove();

    // Assess
    expect(faults.fired.map((f) => `${f.task}:${f.command}`)).toEqual(['Cutover:ModifyDBInstance']);
    expect(result.status).toBe('FAILED');
    const cause = result.status === 'FAILED' ? result.cause : '';
    expect(cause).toMatch(/renamed the source orders-db-old-rk[0-9a-f]{10} back to orders-db/);
    // The source is back under its name, running, protected, with its endpoint; the rest is gone.
    expect(await compensationProblems(baseline, cause), cause).toEqual([]);
    expect((await findInstance(rds(), 'orders-db'))?.Endpoint?.Address).toBe(sample.endpointAddress);
    expect(await identifiers()).toEqual(['orders-db']);
  });

  it('refuses to rename onto an instance someone created under the original identifier', async () => {
    // Prepare: while the source is aside, someone creates a new "orders-db" (the emulator would let a
    // rename overwrite it; AWS refuses).
    await seedSample();
    let intruderCreated = false;
    const createIntruder = async () => {
      intruderCreated = true;
      // The emulator creates the instance, then fails to name its first automated snapshot
      // (rds:orders-db-<minute>, which the source already took this minute): that error is its own.
      await rds()
        .send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: 'orders-db',
            Engine: 'postgres',
            DBInstanceClass: 'db.t3.micro',
            AllocatedStorage: 20,
            MasterUsername: 'intruder',
            MasterUserPassword: 'intruder-password-1',
            Tags: [{ Key: 'owner', Value: 'someone-else' }],
          }),
        )
        .catch((error: Error) => {
          if (!error.message.includes('snapshot with the identifier rds:orders-db')) throw error;
        });
      expect(await findInstance(rds(), 'orders-db')).not.toBeNull();
    };

    // Act
    const result = await runRotation({
      input: executionInput('rename-cutover'),
      executionName: 'rename-collision',
      wrapTask: (stateName, invoke) => async (input) => {
        if (stateName === 'Cutover' && !intruderCreated) await createIntruder();
        return invoke(input);
      },
    });

    // Assess
    expect(result.status).toBe('FAILED');
    const cause = result.status === 'FAILED' ? result.cause : '';
    expect(cause).toContain('a DB instance named orders-db already exists and is not the one being renamed');
    expect(cause).toMatch(/the source keeps the name orders-db-old-rk[0-9a-f]{10}/);
    // The intruder was not overwritten; the source is running under the aside name, under its key.
    const intruder = await findInstance(rds(), 'orders-db');
    expect(tagOf(intruder, 'owner')).toBe('someone-else');
    const aside = (await allInstances()).find((db) => db.DBInstanceIdentifier?.startsWith('orders-db-old-'));
    expect(aside).toMatchObject({ DBInstanceStatus: 'available', DeletionProtection: true });
  });
});
