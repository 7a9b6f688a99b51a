import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  CopyDBSnapshotCommand,
  CreateDBSnapshotCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findSnapshot } from '#aws/rds.js';
import { KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import type { RotationState } from '#domain/state.js';
import { retireKey } from '#features/keys/retire-key.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The emulator as retire-key finds it after a rotation: the source snapshot (old key), its
 * re-encrypted copy (new key), the new instance restored from the copy, and the source instance
 * deleted. `extraSnapshot` takes a user's own snapshot of the source first; `keepAutomatedBackups`
 * deletes the source the way that leaves its automated backups behind.
 */
const afterRotation = async (
  options: { extraSnapshot?: string; keepAutomatedBackups?: boolean } = {},
): Promise<{ state: RotationState; oldKeyId: string }> => {
  const { oldKeyArn } = await seedSample();
  const { rds, kms } = getClients();
  const state = stepEvent('retire-key');
  const { names, source } = state.plan;

  const { KeyMetadata: newKey } = await kms.send(new CreateKeyCommand({ Description: 'new key' }));
  const { DBInstances } = await rds.send(
    new DescribeDBInstancesCommand({ DBInstanceIdentifier: source.dbInstanceIdentifier }),
  );
  await rds.send(
    new CreateDBSnapshotCommand({
      DBInstanceIdentifier: source.dbInstanceIdentifier,
      DBSnapshotIdentifier: names.sourceSnapshotIdentifier,
    }),
  );
  await rds.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: names.sourceSnapshotIdentifier,
      TargetDBSnapshotIdentifier: names.copySnapshotIdentifier,
      KmsKeyId: newKey?.Arn,
    }),
  );
  await rds.send(
    new RestoreDBInstanceFromDBSnapshotCommand({
      DBInstanceIdentifier: names.newDbInstanceIdentifier,
      DBSnapshotIdentifier: names.copySnapshotIdentifier,
    }),
  );
  if (options.extraSnapshot) {
    await rds.send(
      new CreateDBSnapshotCommand({
        DBInstanceIdentifier: source.dbInstanceIdentifier,
        DBSnapshotIdentifier: options.extraSnapshot,
      }),
    );
  }
  await rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: source.dbInstanceIdentifier,
      DeletionProtection: false,
      ApplyImmediately: true,
    }),
  );
  await rds.send(
    new DeleteDBInstanceCommand({
      DBInstanceIdentifier: source.dbInstanceIdentifier,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: !options.keepAutomatedBackups,
    }),
  );

  state.plan.source.kmsKeyArn = oldKeyArn;
  state.plan.source.dbiResourceId = DBInstances?.[0]?.DbiResourceId ?? null;
  state.newKey = {
    keyId: newKey?.KeyId as string,
    keyArn: newKey?.Arn as string,
    alias: names.keyAlias,
    created: true,
  };
  return { state, oldKeyId: oldKeyArn.split('/').pop() as string };
};

const keyState = async (keyId: string) =>
  (await getClients().kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;

describe('retire-key on the emulator', () => {
  useEmulator();

  it('deletes the source snapshot and leaves the old key pending deletion for the requested window', async () => {
    // Prepare
    const { state, oldKeyId } = await afterRotation();
    const { rds } = getClients();

    // Act
    const before = Date.now();
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({
      state: 'PendingDeletion',
      keyArn: state.plan.source.kmsKeyArn,
      pendingWindowDays: 7,
    });
    const deletionDate = result.state === 'PendingDeletion' ? Date.parse(result.deletionDate) : Number.NaN;
    expect(deletionDate - before).toBeGreaterThan(7 * DAY_MS - 60_000);
    expect(deletionDate - before).toBeLessThan(7 * DAY_MS + 60_000);
    expect(await keyState(oldKeyId)).toBe('PendingDeletion');
    expect(await findSnapshot(rds, state.plan.names.sourceSnapshotIdentifier)).toBeNull();
    // The instance sample: its plan names the re-encrypted copy.
    const copyId = state.plan.kind === 'instance' ? state.plan.names.copySnapshotIdentifier : '(no copy)';
    expect(await findSnapshot(rds, copyId)).not.toBeNull();
  });

  it('on a re-run, reports the same deletion date without scheduling again', async () => {
    // Prepare
    const { state } = await afterRotation();
    const first = await retireKey(state);

    // Act
    const second = await retireKey({ ...state, oldKey: first });

    // Assess
    expect(second).toEqual(first);
  });

  it("keeps the old key Enabled, naming the user's snapshot that is still encrypted under it", async () => {
    // Prepare
    const { state, oldKeyId } = await afterRotation({ extraSnapshot: 'orders-db-before-upgrade' });
    const { rds } = getClients();

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-snapshot:orders-db-before-upgrade'),
      encryptedResources: expect.arrayContaining(['db-snapshot:orders-db-before-upgrade']),
    });
    expect(await keyState(oldKeyId)).toBe('Enabled');
    expect(await findSnapshot(rds, 'orders-db-before-upgrade')).not.toBeNull();
    expect(await findSnapshot(rds, state.plan.names.sourceSnapshotIdentifier)).not.toBeNull();
  });

  it('keeps the old key while automated backups of the deleted source are retained', async () => {
    // Prepare
    const { state, oldKeyId } = await afterRotation({ keepAutomatedBackups: true });

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-instance-automated-backup:orders-db'),
    });
    expect(await keyState(oldKeyId)).toBe('Enabled');
  });

  it('refuses a window a day shorter than KMS allows, which the emulator would silently ignore, and leaves the key Enabled', async () => {
    // Prepare
    const { state, oldKeyId } = await afterRotation();
    state.plan.decisions.oldKey = {
      action: 'schedule-deletion',
      pendingWindowDays: KEY_PENDING_WINDOW_DAYS.min - 1,
    };

    // Act / Assess
    await expect(retireKey(state)).rejects.toMatchObject({ name: 'InvalidInputError' });
    expect(await keyState(oldKeyId)).toBe('Enabled');
  });
});
