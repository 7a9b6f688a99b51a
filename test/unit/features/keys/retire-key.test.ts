import {
  DescribeKeyCommand,
  KMSClient,
  KMSInvalidStateException,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  DBSnapshotNotFoundFault,
  DeleteDBSnapshotCommand,
  DescribeDBClusterAutomatedBackupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '#domain/decisions.js';
import { parseRotationInput } from '#domain/input.js';
import { KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import { retireKey } from '#features/keys/retire-key.js';
import { stepEvent } from '../../../support/events.js';

const kms = mockClient(KMSClient);
const rds = mockClient(RDSClient);

const OLD_KEY_ID = '1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const OLD_KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${OLD_KEY_ID}`;
const NEW_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const SOURCE_SNAPSHOT = 'rekey-orders-db-rk05e5c03bc0-source';
const COPY_SNAPSHOT = 'rekey-orders-db-rk05e5c03bc0-reencrypted';
const DELETION_DATE = new Date('2026-11-29T17:30:00.000Z');

const oldKey = (overrides: Record<string, unknown> = {}) => ({
  KeyMetadata: {
    KeyId: OLD_KEY_ID,
    Arn: OLD_KEY_ARN,
    KeyState: 'Enabled' as const,
    KeyManager: 'CUSTOMER' as const,
    ...overrides,
  },
});

/**
 * What RDS holds after a successful rotation: the new instance and the re-encrypted copy under the
 * new key, and this rotation's source snapshot under the old key (moto and older resources give a
 * bare key id; it must still be recognised as the old key).
 */
const afterCutover = () => {
  kms.on(DescribeKeyCommand).resolves(oldKey());
  kms.on(ScheduleKeyDeletionCommand).resolves({
    KeyId: OLD_KEY_ARN,
    DeletionDate: DELETION_DATE,
    KeyState: 'PendingDeletion',
    PendingWindowInDays: 7,
  });
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      { DBInstanceIdentifier: 'orders-db-rk05e5c03bc0', KmsKeyId: NEW_KEY_ARN },
      { DBInstanceIdentifier: 'unencrypted-db' },
    ],
  });
  rds.on(DescribeDBClustersCommand).resolves({ DBClusters: [] });
  rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [] });
  rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
    DBSnapshots: [
      { DBSnapshotIdentifier: SOURCE_SNAPSHOT, SnapshotType: 'manual', KmsKeyId: OLD_KEY_ID },
      { DBSnapshotIdentifier: COPY_SNAPSHOT, SnapshotType: 'manual', KmsKeyId: NEW_KEY_ARN },
    ],
  });
  rds.on(DescribeDBClusterSnapshotsCommand).resolves({ DBClusterSnapshots: [] });
  rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
  rds.on(DescribeDBClusterAutomatedBackupsCommand).resolves({ DBClusterAutomatedBackups: [] });
  rds.on(DeleteDBSnapshotCommand).resolves({});
};

/** How the input schema states the KMS waiting period's range; RetireKey says it the same way. */
const WINDOW_RANGE = `from ${KEY_PENDING_WINDOW_DAYS.min} to ${KEY_PENDING_WINDOW_DAYS.max}`;

describe('retire-key', () => {
  beforeEach(() => {
    kms.reset();
    rds.reset();
  });

  it('deletes the source snapshot, then schedules the old key for deletion by key id', async () => {
    // Prepare
    afterCutover();

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toEqual({
      state: 'PendingDeletion',
      keyArn: OLD_KEY_ARN,
      deletionDate: '2026-11-29T17:30:00.000Z',
      pendingWindowDays: 7,
    });
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: SOURCE_SNAPSHOT });
    expect(rds).not.toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: COPY_SNAPSHOT,
    });
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
      KeyId: OLD_KEY_ID,
      PendingWindowInDays: 7,
    });
  });

  it('looks at manual, automated and AWS Backup snapshots, and at manual and automated cluster snapshots', async () => {
    // Prepare
    afterCutover();

    // Act
    await retireKey(stepEvent('retire-key'));

    // Assess
    for (const SnapshotType of ['manual', 'automated', 'awsbackup']) {
      expect(rds).toHaveReceivedCommandWith(DescribeDBSnapshotsCommand, { SnapshotType });
    }
    for (const SnapshotType of ['manual', 'automated']) {
      expect(rds).toHaveReceivedCommandWith(DescribeDBClusterSnapshotsCommand, { SnapshotType });
    }
  });

  it('schedules the deletion even when an earlier attempt already deleted the source snapshot', async () => {
    // Prepare
    afterCutover();
    rds
      .on(DeleteDBSnapshotCommand)
      .rejects(
        new DBSnapshotNotFoundFault({ message: `DBSnapshot ${SOURCE_SNAPSHOT} not found.`, $metadata: {} }),
      );

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result.state).toBe('PendingDeletion');
  });

  it('on a re-run, reports a key already pending deletion and changes nothing', async () => {
    // Prepare
    kms
      .on(DescribeKeyCommand)
      .resolves(oldKey({ KeyState: 'PendingDeletion', Enabled: false, DeletionDate: DELETION_DATE }));

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toEqual({
      state: 'PendingDeletion',
      keyArn: OLD_KEY_ARN,
      deletionDate: DELETION_DATE.toISOString(),
      pendingWindowDays: 7,
    });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(rds.calls()).toHaveLength(0);
  });

  it("keeps the key for a user's own manual snapshot under it, and deletes the rotation's source snapshot", async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
      DBSnapshots: [
        { DBSnapshotIdentifier: SOURCE_SNAPSHOT, SnapshotType: 'manual', KmsKeyId: OLD_KEY_ARN },
        { DBSnapshotIdentifier: 'orders-db-before-upgrade', SnapshotType: 'manual', KmsKeyId: OLD_KEY_ARN },
      ],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toEqual({
      state: 'Retained',
      keyArn: OLD_KEY_ARN,
      reason: expect.stringContaining(
        '1 other RDS resource is still encrypted under it: db-snapshot:orders-db-before-upgrade.',
      ),
      encryptedResources: ['db-snapshot:orders-db-before-upgrade'],
      sourceSnapshotDeleted: true,
    });
    expect(result.state === 'Retained' && result.reason).toContain(
      `aws kms schedule-key-deletion --key-id ${OLD_KEY_ID} --pending-window-in-days 7`,
    );
    expect(result.state === 'Retained' && result.reason).toContain(
      `source snapshot ${SOURCE_SNAPSHOT} was deleted`,
    );
    expect(rds).toHaveReceivedCommandTimes(DeleteDBSnapshotCommand, 1);
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: SOURCE_SNAPSHOT });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('a finished rotation leaves no source snapshot behind: the next rotation of the shared key schedules its deletion', async () => {
    // Prepare: the first rotation of the key's group, while the second database is still under it.
    afterCutover();
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [{ DBInstanceIdentifier: 'invoices-db', KmsKeyId: OLD_KEY_ARN }],
    });
    const first = await retireKey(stepEvent('retire-key'));
    // Then the second: the first's source snapshot is gone, the second's own is the last thing under the key.
    const secondSnapshot = 'rekey-invoices-db-rk0b1111aaaa-source';
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [] });
    rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
      DBSnapshots: [{ DBSnapshotIdentifier: secondSnapshot, SnapshotType: 'manual', KmsKeyId: OLD_KEY_ARN }],
    });
    const state = stepEvent('retire-key');
    state.plan.names.sourceSnapshotIdentifier = secondSnapshot;

    // Act
    const second = await retireKey(state);

    // Assess
    expect(first).toMatchObject({
      state: 'Retained',
      encryptedResources: ['db-instance:invoices-db'],
      sourceSnapshotDeleted: true,
    });
    expect(second).toMatchObject({ state: 'PendingDeletion', keyArn: OLD_KEY_ARN });
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: SOURCE_SNAPSHOT });
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: secondSnapshot });
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 1);
  });

  it('keeps the key for the source snapshot of another rotation still running or rolled back, and does not delete it', async () => {
    // Prepare
    afterCutover();
    const others = 'rekey-invoices-db-rk0b2222bbbb-source';
    rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
      DBSnapshots: [
        { DBSnapshotIdentifier: SOURCE_SNAPSHOT, SnapshotType: 'manual', KmsKeyId: OLD_KEY_ARN },
        {
          DBSnapshotIdentifier: others,
          SnapshotType: 'manual',
          KmsKeyId: OLD_KEY_ARN,
          TagList: [
            { Key: 'rekey:rotation-id', Value: 'rk0b2222bbbb' },
            { Key: 'rekey:source-db', Value: 'invoices-db' },
            { Key: 'rekey:role', Value: 'source-snapshot' },
          ],
        },
      ],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      encryptedResources: [`db-snapshot:${others}`],
      reason: expect.stringContaining(
        `db-snapshot:${others} (the source snapshot of Rekey rotation rk0b2222bbbb`,
      ),
    });
    expect(rds).not.toHaveReceivedCommandWith(DeleteDBSnapshotCommand, { DBSnapshotIdentifier: others });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('keeps the key when a DB cluster is encrypted under it', async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ DBClusterIdentifier: 'reporting-aurora', KmsKeyId: OLD_KEY_ARN }],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-cluster:reporting-aurora'),
      encryptedResources: expect.arrayContaining(['db-cluster:reporting-aurora']),
    });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('keeps the key when an instance keeps its Performance Insights data under it', async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'billing-db',
          KmsKeyId: NEW_KEY_ARN,
          PerformanceInsightsKMSKeyId: OLD_KEY_ARN,
        },
      ],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-instance:billing-db (Performance Insights)'),
      encryptedResources: ['db-instance:billing-db'],
    });
  });

  it('keeps the key when a retained automated backup of the old instance is under it', async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({
      DBInstanceAutomatedBackups: [
        {
          DBInstanceIdentifier: 'orders-db',
          DbiResourceId: 'db-ABCDEFGHIJKLMNOPQRSTUVWXYZ',
          Status: 'retained',
        },
      ],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-instance-automated-backup:orders-db (retained)'),
    });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('finds a blocking snapshot on a later page of DescribeDBSnapshots', async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'automated' }).resolves({
      DBSnapshots: [{ DBSnapshotIdentifier: 'rds:other-db-2026-11-01', KmsKeyId: NEW_KEY_ARN }],
      Marker: 'page-2',
    });
    rds.on(DescribeDBSnapshotsCommand, { SnapshotType: 'automated', Marker: 'page-2' }).resolves({
      DBSnapshots: [
        {
          DBSnapshotIdentifier: 'rds:orders-db-2026-11-21',
          SnapshotType: 'automated',
          KmsKeyId: OLD_KEY_ARN,
        },
      ],
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-snapshot:rds:orders-db-2026-11-21 (automated)'),
    });
  });

  it('names the first five blockers and counts the rest', async () => {
    // Prepare
    afterCutover();
    rds.on(DescribeDBClusterSnapshotsCommand, { SnapshotType: 'manual' }).resolves({
      DBClusterSnapshots: Array.from({ length: 8 }, (_, i) => ({
        DBClusterSnapshotIdentifier: `archive-${i}`,
        SnapshotType: 'manual',
        KmsKeyId: OLD_KEY_ARN,
      })),
    });

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('8 other RDS resources are still encrypted under it'),
    });
    expect(result.state === 'Retained' && result.reason).toContain(
      'db-cluster-snapshot:archive-4 and 3 more',
    );
    expect(result.state === 'Retained' && result.encryptedResources).toHaveLength(8);
  });

  it('keeps an AWS-managed old key without calling AWS: aws/rds can never be deleted', async () => {
    // Prepare: the plan preflight makes for a database under aws/rds
    const state = stepEvent('retire-key');
    state.plan.source.keyManager = 'AWS';
    state.plan.decisions = decide(parseRotationInput(state.plan.request), { KeyManager: 'AWS' });

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toMatchObject({ state: 'Retained', reason: expect.stringMatching(/aws\/rds.*never/) });
    expect(kms.calls()).toHaveLength(0);
  });

  it('keeps the key when KMS says it is AWS-managed, even if the plan did not', async () => {
    // Prepare
    afterCutover();
    kms.on(DescribeKeyCommand).resolves(oldKey({ KeyManager: 'AWS' }));

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({ state: 'Retained', reason: expect.stringContaining('aws/rds') });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
  });

  it('keeps the key while the old instance is retained, without calling AWS', async () => {
    // Prepare
    const state = stepEvent('retire-key');
    state.retireInstance = {
      done: true,
      outcome: 'retained',
      status: 'available',
      reason: 'oldInstance is "retain" in the input',
    };

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toEqual({
      state: 'Retained',
      keyArn: OLD_KEY_ARN,
      reason: expect.stringContaining('orders-db was not deleted (oldInstance is "retain" in the input)'),
      encryptedResources: [],
    });
    expect(kms.calls()).toHaveLength(0);
    expect(rds.calls()).toHaveLength(0);
  });

  it('keeps the key with the plan reason when the plan says so, without calling AWS', async () => {
    // Prepare
    const state = stepEvent('retire-key');
    state.plan.decisions.oldKey = { action: 'retain', reason: 'oldKey is "retain" in the input.' };

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toEqual({
      state: 'Retained',
      keyArn: OLD_KEY_ARN,
      reason: 'oldKey is "retain" in the input.',
      encryptedResources: [],
    });
    expect(kms.calls()).toHaveLength(0);
    expect(rds.calls()).toHaveLength(0);
  });

  it.each([
    KEY_PENDING_WINDOW_DAYS.min - 1,
    KEY_PENDING_WINDOW_DAYS.max + 1,
    KEY_PENDING_WINDOW_DAYS.min + 0.5,
  ])('refuses a planned waiting period of %s days before touching anything', async (days) => {
    // Prepare
    afterCutover();
    const state = stepEvent('retire-key');
    state.plan.decisions.oldKey = { action: 'schedule-deletion', pendingWindowDays: days };

    // Act / Assess
    await expect(retireKey(state)).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringContaining(WINDOW_RANGE),
    });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
  });

  it('reports the deletion a concurrent attempt scheduled first (KMSInvalidStateException)', async () => {
    // Prepare
    afterCutover();
    kms
      .on(DescribeKeyCommand)
      .resolvesOnce(oldKey())
      .resolves(oldKey({ KeyState: 'PendingDeletion', DeletionDate: DELETION_DATE }));
    kms.on(ScheduleKeyDeletionCommand).rejects(
      new KMSInvalidStateException({
        message: `${OLD_KEY_ARN} is pending deletion.`,
        $metadata: {},
      }),
    );

    // Act
    const result = await retireKey(stepEvent('retire-key'));

    // Assess
    expect(result).toMatchObject({ state: 'PendingDeletion', deletionDate: DELETION_DATE.toISOString() });
  });

  it('fails with PreconditionFailedError when the old key no longer exists', async () => {
    // Prepare
    kms
      .on(DescribeKeyCommand)
      .rejects(new NotFoundException({ message: `Key '${OLD_KEY_ARN}' does not exist`, $metadata: {} }));

    // Act / Assess
    await expect(retireKey(stepEvent('retire-key'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(OLD_KEY_ARN),
    });
  });

  it("follows the plan's decision to keep the key, though the request asks for its deletion", async () => {
    // Prepare
    afterCutover();
    const state = stepEvent('retire-key');
    state.plan.request.oldKey = 'schedule-deletion';
    state.plan.decisions.oldKey = { action: 'retain', reason: 'the plan keeps it.' };

    // Act
    const result = await retireKey(state);

    // Assess
    expect(result).toEqual({
      state: 'Retained',
      keyArn: OLD_KEY_ARN,
      reason: 'the plan keeps it.',
      encryptedResources: [],
    });
    expect(kms.calls()).toHaveLength(0);
    expect(rds.calls()).toHaveLength(0);
  });

  it('schedules the deletion with the planned waiting period, whatever the request says', async () => {
    // Prepare
    afterCutover();
    const state = stepEvent('retire-key');
    state.plan.request.oldKey = 'retain';
    state.plan.request.oldKeyPendingWindowDays = 3;
    state.plan.decisions.oldKey = { action: 'schedule-deletion', pendingWindowDays: 12 };

    // Act
    await retireKey(state);

    // Assess
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
      KeyId: OLD_KEY_ID,
      PendingWindowInDays: 12,
    });
  });

  it.each([KEY_PENDING_WINDOW_DAYS.min, KEY_PENDING_WINDOW_DAYS.max])(
    'accepts a planned waiting period of %s days, the edge of KEY_PENDING_WINDOW_DAYS',
    async (days) => {
      // Prepare
      afterCutover();
      const state = stepEvent('retire-key');
      state.plan.decisions.oldKey = { action: 'schedule-deletion', pendingWindowDays: days };

      // Act
      await retireKey(state);

      // Assess
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { PendingWindowInDays: days });
    },
  );

  it('states the range of the waiting period as the input schema does, both from KEY_PENDING_WINDOW_DAYS', async () => {
    // Prepare
    afterCutover();
    const state = stepEvent('retire-key');
    state.plan.decisions.oldKey = {
      action: 'schedule-deletion',
      pendingWindowDays: KEY_PENDING_WINDOW_DAYS.max + 1,
    };
    const schemaError = (() => {
      try {
        parseRotationInput({
          ...state.plan.request,
          oldKeyPendingWindowDays: KEY_PENDING_WINDOW_DAYS.max + 1,
        });
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();

    // Act
    const stepError = await retireKey(state).catch((error: Error) => error.message);

    // Assess
    expect(schemaError).toContain(
      `oldKeyPendingWindowDays: must be ${KEY_PENDING_WINDOW_DAYS.min} to ${KEY_PENDING_WINDOW_DAYS.max} days`,
    );
    expect(stepError).toContain(WINDOW_RANGE);
    expect(stepError).toContain(`--pending-window-in-days ${KEY_PENDING_WINDOW_DAYS.default}`);
  });
});
