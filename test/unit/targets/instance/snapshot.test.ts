import {
  CreateDBSnapshotCommand,
  DBInstanceNotFoundFault,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DescribeDBSnapshotsCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  SnapshotQuotaExceededFault,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { snapshotSource } from '#strategies/snapshot/snapshot-source.js';
import { rotationSnapshot } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const SNAPSHOT_ID = 'rekey-orders-db-rk05e5c03bc0-source';
const notFound = () =>
  new DBSnapshotNotFoundFault({ message: `DBSnapshot ${SNAPSHOT_ID} not found.`, $metadata: {} });
const ours = (status: string) =>
  rotationSnapshot(stepEvent('snapshot-source'), SNAPSHOT_ID, 'source-snapshot', { Status: status });

describe('snapshot-source', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('creates the snapshot of the source, tagged for this rotation, and asks to be polled', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: ours('creating') });

    // Act
    const result = await snapshotSource(stepEvent('snapshot-source'));

    // Assess
    expect(result).toMatchObject({
      done: false,
      snapshotIdentifier: SNAPSHOT_ID,
      snapshotArn: `arn:aws:rds:us-east-1:123456789012:snapshot:${SNAPSHOT_ID}`,
      status: 'creating',
      // The expected snapshot of 50 GiB (6 s per GiB: 300 s), until RDS reports progress.
      poll: { attempt: 1, waitSeconds: 300, lastStatus: 'creating', expected: { seconds: 300 } },
    });
    expect(rds).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
    const input = rds.commandCalls(CreateDBSnapshotCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ DBInstanceIdentifier: 'orders-db', DBSnapshotIdentifier: SNAPSHOT_ID });
    // The source copies tags to its snapshots, and RDS does not when Tags is given: they are passed explicitly.
    expect(input?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'rekey:rotation-id', Value: 'rk05e5c03bc0' },
        { Key: 'rekey:source-db', Value: 'orders-db' },
        { Key: 'rekey:role', Value: 'source-snapshot' },
        { Key: 'team', Value: 'orders' },
        { Key: 'environment', Value: 'production' },
      ]),
    );
    expect(input?.Tags).toHaveLength(5);
  });

  it('leaves the user tags off when the source does not copy tags to snapshots', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: ours('creating') });
    const state = stepEvent('snapshot-source');
    state.plan.source.config.copyTagsToSnapshot = false;

    // Act
    await snapshotSource(state);

    // Assess
    expect(rds.commandCalls(CreateDBSnapshotCommand)[0]?.args[0].input.Tags?.map((t) => t.Key)).toEqual([
      'rekey:rotation-id',
      'rekey:source-db',
      'rekey:role',
    ]);
  });

  it('polls, without creating a second snapshot, while a re-run finds its snapshot creating', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [ours('creating')] });
    const state = stepEvent('snapshot-source');
    state.sourceSnapshot = {
      done: false,
      snapshotIdentifier: SNAPSHOT_ID,
      snapshotArn: null,
      kmsKeyId: null,
      status: 'creating',
      poll: { attempt: 3, waitSeconds: 60, lastStatus: 'creating' },
    };

    // Act
    const result = await snapshotSource(state);

    // Assess
    expect(result).toMatchObject({ done: false, poll: { attempt: 4, waitSeconds: 300 } });
    expect(rds).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
  });

  it('is done, without creating anything, when a re-run finds its snapshot available', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [ours('available')] });

    // Act
    const result = await snapshotSource(stepEvent('snapshot-source'));

    // Assess
    expect(result).toEqual({
      done: true,
      snapshotIdentifier: SNAPSHOT_ID,
      snapshotArn: `arn:aws:rds:us-east-1:123456789012:snapshot:${SNAPSHOT_ID}`,
      kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      status: 'available',
    });
    expect(rds).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
  });

  it('keeps polling when a racing attempt already created the snapshot (DBSnapshotAlreadyExists)', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds.on(CreateDBSnapshotCommand).rejects(
      new DBSnapshotAlreadyExistsFault({
        message: `Cannot create the snapshot because a snapshot with the identifier ${SNAPSHOT_ID} already exists.`,
        $metadata: {},
      }),
    );

    // Act
    const result = await snapshotSource(stepEvent('snapshot-source'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'creating', poll: { attempt: 1 } });
  });

  it('keeps polling while the source is busy and cannot be snapshotted yet', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds
      .on(CreateDBSnapshotCommand)
      .rejects(new InvalidDBInstanceStateFault({ message: 'Instance is backing-up', $metadata: {} }));

    // Act
    const result = await snapshotSource(stepEvent('snapshot-source'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'waiting-for-source' });
  });

  it('refuses a snapshot of the same name taken from another DB instance', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand)
      .resolves({ DBSnapshots: [{ ...ours('available'), DBInstanceIdentifier: 'billing-db' }] });

    // Act / Assess
    await expect(snapshotSource(stepEvent('snapshot-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('taken from DB instance billing-db, not orders-db'),
    });
    expect(rds).not.toHaveReceivedCommand(CreateDBSnapshotCommand);
  });

  it("refuses a snapshot of the same name that lacks this rotation's tag", async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ ...ours('available'), TagList: [] }] });

    // Act / Assess
    await expect(snapshotSource(stepEvent('snapshot-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('no rekey:rotation-id tag'),
    });
  });

  it('fails with ResourceFailedError when the snapshot failed', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [ours('failed')] });

    // Act / Assess
    await expect(snapshotSource(stepEvent('snapshot-source'))).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringContaining(SNAPSHOT_ID),
    });
  });

  it('fails with PreconditionFailedError when the source has disappeared', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds
      .on(CreateDBSnapshotCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found.', $metadata: {} }));

    // Act / Assess
    await expect(snapshotSource(stepEvent('snapshot-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('orders-db no longer exists'),
    });
  });

  it('fails with PreconditionFailedError, naming the quota, when no manual snapshot is left', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound());
    rds
      .on(CreateDBSnapshotCommand)
      .rejects(new SnapshotQuotaExceededFault({ message: 'quota exceeded', $metadata: {} }));

    // Act / Assess
    await expect(snapshotSource(stepEvent('snapshot-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('Manual DB instance snapshots'),
    });
  });

  it('gives up with WaitTimeoutError after its iteration cap', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [ours('creating')] });
    const state = stepEvent('snapshot-source');
    state.sourceSnapshot = {
      done: false,
      snapshotIdentifier: SNAPSHOT_ID,
      snapshotArn: null,
      kmsKeyId: null,
      status: 'creating',
      poll: { attempt: 300, waitSeconds: 300, lastStatus: 'creating' },
    };

    // Act / Assess
    await expect(snapshotSource(state)).rejects.toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringContaining(SNAPSHOT_ID),
    });
  });
});
