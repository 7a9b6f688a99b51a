import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  CopyDBSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { rotationTags } from '#aws/ownership.js';
import { findSnapshot } from '#aws/rds.js';
import { KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { namesFor } from '#domain/naming.js';
import type { RotationState } from '#domain/state.js';
import { retireKey } from '#features/keys/retire-key.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

const DAY_MS = 24 * 60 * 60 * 1000;

interface RotationSetup {
  /** The database rotated (default: the sample's orders-db) and the rotation's id. */
  dbInstanceIdentifier?: string;
  rotationId?: string;
  /** A user's own snapshot of the source, taken first. */
  extraSnapshot?: string;
  /** Deletes the source the way that leaves its automated backups behind. */
  keepAutomatedBackups?: boolean;
  /** Stops after the snapshots: the rotation is still running (or failed and kept its artifacts). */
  unfinished?: boolean;
}

/**
 * The emulator as retire-key finds it after a rotation: the source snapshot (old key, tagged as
 * SnapshotSource tags it), its re-encrypted copy (new key), the new instance restored from the
 * copy, and the source instance deleted. Returns the state RetireKey gets for that rotation.
 */
const afterRotation = async (
  options: RotationSetup = {},
): Promise<{ state: RotationState; oldKeyId: string }> => {
  const state = stepEvent('retire-key');
  const id = options.dbInstanceIdentifier ?? state.plan.source.dbInstanceIdentifier;
  const { oldKeyArn } = await seedSample({ dbInstanceIdentifier: id });
  const { rds, kms } = getClients();
  if (options.rotationId || id !== state.plan.source.dbInstanceIdentifier) {
    const rotationId = options.rotationId ?? state.plan.rotationId;
    state.plan.rotationId = rotationId;
    state.plan.names = namesFor(rotationId, id);
    state.plan.target.identifier = id;
    state.plan.source.dbInstanceIdentifier = id;
    if (state.sourceSnapshot)
      state.sourceSnapshot.snapshotIdentifier = state.plan.names.sourceSnapshotIdentifier;
  }
  const { names, source } = state.plan;

  const { KeyMetadata: newKey } = await kms.send(new CreateKeyCommand({ Description: 'new key' }));
  const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
  await rds.send(
    new CreateDBSnapshotCommand({
      DBInstanceIdentifier: id,
      DBSnapshotIdentifier: names.sourceSnapshotIdentifier,
      Tags: rotationTags(state.plan, 'source-snapshot'),
    }),
  );
  await rds.send(
    new CopyDBSnapshotCommand({
      SourceDBSnapshotIdentifier: names.sourceSnapshotIdentifier,
      TargetDBSnapshotIdentifier: names.copySnapshotIdentifier,
      KmsKeyId: newKey?.Arn,
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
  const result = { state, oldKeyId: oldKeyArn.split('/').pop() as string };
  if (options.unfinished) return result;

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
  return result;
};

/** A second database under the same old key as the sample's orders-db. */
const seedSharingKey = async (id: string): Promise<void> => {
  const { oldKeyArn } = await seedSample();
  await getClients().rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      EngineVersion: '16.3',
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: 20,
      MasterUsername: 'billing_admin',
      MasterUserPassword: 'sample-password-not-secret',
      StorageEncrypted: true,
      KmsKeyId: oldKeyArn,
      BackupRetentionPeriod: 1,
    }),
  );
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

  it("a user's own manual snapshot under the key keeps the key, while the rotation's own source snapshot is deleted", async () => {
    // Prepare
    const { state, oldKeyId } = await afterRotation({ extraSnapshot: 'orders-db-before-upgrade' });
    const { rds } = getClients();

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-snapshot:orders-db-before-upgrade'),
      encryptedResources: ['db-snapshot:orders-db-before-upgrade'],
      sourceSnapshotDeleted: true,
    });
    expect(await keyState(oldKeyId)).toBe('Enabled');
    expect(await findSnapshot(rds, 'orders-db-before-upgrade')).not.toBeNull();
    expect(await findSnapshot(rds, state.plan.names.sourceSnapshotIdentifier)).toBeNull();
    expect(
      await findSnapshot(rds, state.plan.names.copySnapshotIdentifier ?? 'no copy name in the plan'),
    ).not.toBeNull();
  });

  it('a shared key: the first rotation keeps it for the other database and deletes its own source snapshot, so the last rotation retires it', async () => {
    // Prepare: billing-db shares orders-db's old key; orders-db is rotated first.
    await seedSharingKey('billing-db');
    const first = await afterRotation();
    const { rds } = getClients();

    // Act
    const firstResult = await retireKey(first.state);
    const second = await afterRotation({ dbInstanceIdentifier: 'billing-db', rotationId: 'rk0b1111aaaa' });
    const secondResult = await retireKey(second.state);

    // Assess
    // billing-db itself, and (with its backups on) its automated snapshots, as on AWS.
    expect(firstResult).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('still encrypted under it: db-instance:billing-db'),
      encryptedResources: expect.arrayContaining(['db-instance:billing-db']),
      sourceSnapshotDeleted: true,
    });
    expect(firstResult.state === 'Retained' && firstResult.encryptedResources).not.toContain(
      `db-snapshot:${first.state.plan.names.sourceSnapshotIdentifier}`,
    );
    expect(await findSnapshot(rds, first.state.plan.names.sourceSnapshotIdentifier)).toBeNull();
    expect(second.oldKeyId).toBe(first.oldKeyId);
    expect(secondResult).toMatchObject({ state: 'PendingDeletion', pendingWindowDays: 7 });
    expect(await keyState(first.oldKeyId)).toBe('PendingDeletion');
    expect(await findSnapshot(rds, second.state.plan.names.sourceSnapshotIdentifier)).toBeNull();
  });

  it('the source snapshot of a rotation still running (or rolled back with its artifacts kept) keeps the key', async () => {
    // Prepare: billing-db's rotation has taken its source snapshot under the shared key and not finished.
    await seedSharingKey('billing-db');
    const other = await afterRotation({
      dbInstanceIdentifier: 'billing-db',
      rotationId: 'rk0b2222bbbb',
      unfinished: true,
    });
    await getClients().rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'billing-db', SkipFinalSnapshot: true }),
    );
    const { state, oldKeyId } = await afterRotation();
    const { rds } = getClients();
    const otherSnapshot = other.state.plan.names.sourceSnapshotIdentifier;

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      encryptedResources: [`db-snapshot:${otherSnapshot}`],
      reason: expect.stringContaining(
        `db-snapshot:${otherSnapshot} (the source snapshot of Rekey rotation rk0b2222bbbb, which deletes it once its old database is deleted`,
      ),
    });
    expect(await keyState(oldKeyId)).toBe('Enabled');
    expect(await findSnapshot(rds, otherSnapshot)).not.toBeNull();
    expect(await findSnapshot(rds, state.plan.names.sourceSnapshotIdentifier)).toBeNull();
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
