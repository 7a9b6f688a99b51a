import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { DescribeDBSnapshotsCommand, InsufficientDBInstanceCapacityFault } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { captureInstanceConfig, diffConfig } from '#domain/instance-config.js';
import { KEY_PENDING_WINDOW_DAYS as WINDOW } from '#domain/limits.js';
import type { RotationOutput } from '#domain/output.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { type RunOptions, runStateMachine } from '../../cli/runner.js';
import { type SeededSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';

const DAY = 24 * 60 * 60 * 1000;

/** The real ASL and handlers on the emulator: no waits, the local lock table. */
const run = (options: Omit<RunOptions, 'fastWaits' | 'lockTable'>) =>
  runStateMachine({ fastWaits: true, lockTable: { name: LOCAL_LOCK_TABLE, create: true }, ...options });

const recordValue = async (sample: SeededSample): Promise<string | undefined> => {
  const { ResourceRecordSets } = await getClients().route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: sample.hostedZoneId,
      StartRecordName: sample.recordName,
      StartRecordType: 'CNAME',
      MaxItems: 1,
    }),
  );
  return ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value;
};

const keyState = async (keyId: string) => {
  const { KeyMetadata } = await getClients().kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  return KeyMetadata;
};

describe('the rotate-instance state machine on the emulator', () => {
  useEmulator();

  it('rotates the break-glass sample end to end', async () => {
    // Prepare
    const sample = await seedSample();
    const sourceBefore = await findInstance(getClients().rds, sample.dbInstanceIdentifier);
    const started = Date.now();

    // Act
    const result = await run({
      input: executionInput('break-glass'),
      executionName: 'sm-happy',
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output).toMatchObject({
      sourceDbInstanceIdentifier: 'orders-db',
      oldKeyArn: sample.oldKeyArn,
      oldInstance: 'deleted',
      oldKey: { state: 'PendingDeletion' },
    });
    expect(output.newKeyArn).not.toBe(sample.oldKeyArn);

    const newDb = await findInstance(getClients().rds, output.newDbInstanceIdentifier);
    expect(newDb?.DBInstanceStatus).toBe('available');
    expect(newDb?.KmsKeyId).toBe(output.newKeyArn);
    expect(newDb?.Endpoint?.Address).toBe(output.newEndpoint.address);
    // Configuration parity with the source as it was before the rotation.
    expect(diffConfig(captureInstanceConfig(sourceBefore ?? {}), captureInstanceConfig(newDb ?? {}))).toEqual(
      [],
    );

    expect(await recordValue(sample)).toBe(output.newEndpoint.address);
    expect(await findInstance(getClients().rds, 'orders-db')).toBeNull();

    const oldKey = await keyState(sample.oldKeyArn.split('/')[1] ?? '');
    expect(oldKey?.KeyState).toBe('PendingDeletion');
    // events/break-glass.json asks for the minimum 7-day window.
    const deletion = oldKey?.DeletionDate?.getTime() ?? 0;
    expect(deletion - started).toBeGreaterThan(7 * DAY - 60_000);
    expect(deletion - started).toBeLessThan(7 * DAY + 60_000);

    const { DBSnapshots } = await getClients().rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: output.snapshotIdentifiers.reencrypted }),
    );
    expect(DBSnapshots?.[0]?.KmsKeyId).toBe(output.newKeyArn);
  });

  it('starts the source again and leaves the CNAME alone when the restore fails after the freeze', async () => {
    // Prepare
    const sample = await seedSample();
    let stopped: string | undefined;

    // Act
    const result = await run({
      input: executionInput('break-glass'),
      executionName: 'sm-restore-fails',
      wrapTask: (stateName, invoke) =>
        stateName === 'RestoreInstance'
          ? async () => {
              stopped = (await findInstance(getClients().rds, 'orders-db'))?.DBInstanceStatus;
              throw new InsufficientDBInstanceCapacityFault({
                message:
                  'Cannot create a database instance because there is no capacity for db.t3.medium in us-east-1a.',
                $metadata: {},
              });
            }
          : invoke,
    });

    // Assess
    expect(stopped).toBe('stopped');
    expect(result).toMatchObject({ status: 'FAILED', error: 'InsufficientDBInstanceCapacityFault' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('no capacity for db.t3.medium');
    expect(cause).toContain(
      'Undone: started orders-db again; turned deletion protection on again for orders-db;',
    );
    expect(cause).toMatch(
      /deleted the DB snapshot rekey-orders-db-rk\w+-reencrypted; deleted the DB snapshot rekey-orders-db-rk\w+-source; scheduled the unused new key .* for deletion on /,
    );
    expect(cause).toContain('was not touched');
    expect(await findInstance(getClients().rds, 'orders-db')).toMatchObject({
      DBInstanceStatus: 'available',
      DeletionProtection: true,
    });
    // Nothing the rotation created is left but the new key, which waits out its 7-day deletion.
    const { DBSnapshots } = await getClients().rds.send(
      new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }),
    );
    expect(DBSnapshots?.filter((s) => s.DBSnapshotIdentifier?.startsWith('rekey-'))).toEqual([]);
    const newKeyId =
      /scheduled the unused new key arn:aws:kms:[^ ]+:key\/([0-9a-f-]+)/.exec(cause)?.[1] ?? '';
    expect((await keyState(newKeyId))?.KeyState).toBe('PendingDeletion');
    expect(await recordValue(sample)).toBe(sample.endpointAddress);
    expect((await keyState(sample.oldKeyArn))?.KeyState).toBe('Enabled');
  });

  it('retries a transient failure of a step and completes, saying so in the progress', async () => {
    // Prepare
    await seedSample();
    const progress: string[] = [];
    let calls = 0;

    // Act
    const result = await run({
      input: executionInput('break-glass'),
      executionName: 'sm-transient',
      onProgress: (line) => progress.push(line),
      wrapTask: (stateName, invoke) =>
        stateName === 'CopySnapshot'
          ? async (input) => {
              calls += 1;
              if (calls === 1)
                throw Object.assign(new Error('Throttling: Rate exceeded'), { name: 'TransientAwsError' });
              return invoke(input);
            }
          : invoke,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(
      progress.some((line) => /retry CopySnapshot after TransientAwsError \(attempt 1\)/.test(line)),
    ).toBe(true);
    expect(progress.some((line) => /FAILED/.test(line))).toBe(false);
  });

  it('refuses bad input with the field named, and changes nothing', async () => {
    // Prepare
    await seedSample();

    // Act
    const result = await run({
      input: { ...executionInput('break-glass'), oldKeyPendingWindowDays: WINDOW.min - 1 },
      executionName: 'sm-bad-input',
    });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'InvalidInputError' });
    expect((result as { cause: string }).cause).toMatch(
      new RegExp(
        `oldKeyPendingWindowDays: must be ${WINDOW.min} to ${WINDOW.max} days .*\\(given: ${WINDOW.min - 1}\\).*Nothing was changed in AWS\\.`,
      ),
    );
    expect((await findInstance(getClients().rds, 'orders-db'))?.DBInstanceStatus).toBe('available');
  });

  it('with cutover "none", leaves the source running beside the new instance and keeps the old key', async () => {
    // Prepare
    const sample = await seedSample();

    // Act
    const result = await run({
      input: { ...executionInput('break-glass'), cutover: { type: 'none' } },
      executionName: 'sm-no-cutover',
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output.oldInstance).toBe('retained');
    expect(output.oldKey).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('clients still use'),
    });
    expect((await findInstance(getClients().rds, 'orders-db'))?.DBInstanceStatus).toBe('available');
    expect((await findInstance(getClients().rds, output.newDbInstanceIdentifier))?.KmsKeyId).toBe(
      output.newKeyArn,
    );
    expect(await recordValue(sample)).toBe(sample.endpointAddress);
    expect((await keyState(sample.oldKeyArn))?.KeyState).toBe('Enabled');
  });
});
