import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CopyDBSnapshotCommand,
  DBSnapshotAlreadyExistsFault,
  DBSnapshotNotFoundFault,
  DescribeDBSnapshotsCommand,
  KMSKeyNotAccessibleFault,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { copySnapshot } from '#strategies/snapshot/copy-snapshot.js';
import { rotationSnapshot } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const SOURCE_ID = 'rekey-orders-db-rk05e5c03bc0-source';
const COPY_ID = 'rekey-orders-db-rk05e5c03bc0-reencrypted';
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const NEW_KEY_ID = '7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const NEW_KEY = `arn:aws:kms:us-east-1:123456789012:key/${NEW_KEY_ID}`;

/** A DescribeKey answer: KMS resolves every identifier of a key to its key ARN. */
const keyOf = (arn: string) => ({ KeyMetadata: { KeyId: arn.slice(arn.lastIndexOf('/') + 1), Arn: arn } });

const state = () => stepEvent('copy-snapshot');
const sourceSnapshot = () =>
  rotationSnapshot(state(), SOURCE_ID, 'source-snapshot', {
    TagList: [
      { Key: 'rekey:rotation-id', Value: 'rk05e5c03bc0' },
      { Key: 'rekey:source-db', Value: 'orders-db' },
      { Key: 'rekey:role', Value: 'source-snapshot' },
      { Key: 'team', Value: 'orders' },
      { Key: 'environment', Value: 'production' },
      { Key: 'aws:backup:source-resource', Value: 'set by AWS Backup' },
    ],
  });
const copyOf = (status: string, kmsKeyId = NEW_KEY) =>
  rotationSnapshot(state(), COPY_ID, 'reencrypted-snapshot', { Status: status, KmsKeyId: kmsKeyId });
const notFound = (id: string) =>
  new DBSnapshotNotFoundFault({ message: `DBSnapshot ${id} not found.`, $metadata: {} });

describe('copy-snapshot', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
  });

  it('copies the source snapshot under the new key, carrying its user tags in Tags', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID }).rejects(notFound(COPY_ID));
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SOURCE_ID })
      .resolves({ DBSnapshots: [sourceSnapshot()] });
    rds.on(CopyDBSnapshotCommand).resolves({ DBSnapshot: copyOf('pending') });

    // Act
    const result = await copySnapshot(state());

    // Assess
    expect(result).toMatchObject({
      done: false,
      snapshotIdentifier: COPY_ID,
      status: 'pending',
      // The expected copy of 50 GiB (12 s per GiB: 600 s) in two steps, until RDS reports progress.
      poll: { attempt: 1, waitSeconds: 300, lastStatus: 'pending', expected: { seconds: 600 } },
    });
    const input = rds.commandCalls(CopyDBSnapshotCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      SourceDBSnapshotIdentifier: SOURCE_ID,
      TargetDBSnapshotIdentifier: COPY_ID,
      KmsKeyId: NEW_KEY,
      // Tags and CopyTags are never merged: the user tags go in Tags.
      CopyTags: false,
    });
    expect(input?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'orders' },
        { Key: 'environment', Value: 'production' },
        { Key: 'rekey:rotation-id', Value: 'rk05e5c03bc0' },
        { Key: 'rekey:source-db', Value: 'orders-db' },
        { Key: 'rekey:role', Value: 'reencrypted-snapshot' },
      ]),
    );
    // Neither the source snapshot's role nor the reserved aws: tag is carried over.
    expect(input?.Tags).toHaveLength(5);
  });

  it('is done, without copying again or asking KMS, when a re-run finds the copy available under the new key ARN', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('available')] });

    // Act
    const result = await copySnapshot(state());

    // Assess
    expect(result).toEqual({
      done: true,
      snapshotIdentifier: COPY_ID,
      snapshotArn: `arn:aws:rds:us-east-1:123456789012:snapshot:${COPY_ID}`,
      kmsKeyId: NEW_KEY,
      status: 'available',
    });
    expect(rds).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });

  it('accepts a copy whose key RDS reports as a key id, once KMS resolves both to the same ARN', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('available', NEW_KEY_ID)] });
    kms.on(DescribeKeyCommand).resolves(keyOf(NEW_KEY));

    // Act
    const result = await copySnapshot(state());

    // Assess
    expect(result.done).toBe(true);
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: NEW_KEY_ID });
  });

  it('fails with ValidationFailedError when the available copy is not under the new key', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('available', OLD_KEY)] });
    kms.on(DescribeKeyCommand, { KeyId: OLD_KEY }).resolves(keyOf(OLD_KEY));
    kms.on(DescribeKeyCommand, { KeyId: NEW_KEY }).resolves(keyOf(NEW_KEY));

    // Act / Assess
    await expect(copySnapshot(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringMatching(
        new RegExp(`${COPY_ID} is encrypted with ${OLD_KEY}.*not with the new key ${NEW_KEY}`),
      ),
    });
  });

  it('polls, without copying again, while a re-run finds the copy in progress', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('copying')] });
    const current = state();
    current.copySnapshot = {
      done: false,
      snapshotIdentifier: COPY_ID,
      snapshotArn: null,
      kmsKeyId: null,
      status: 'pending',
      poll: { attempt: 1, waitSeconds: 15, lastStatus: 'pending' },
    };

    // Act
    const result = await copySnapshot(current);

    // Assess
    expect(result).toMatchObject({ done: false, status: 'copying', poll: { attempt: 2, waitSeconds: 300 } });
    expect(rds).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it('keeps polling when a racing attempt already started the copy (DBSnapshotAlreadyExists)', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID }).rejects(notFound(COPY_ID));
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SOURCE_ID })
      .resolves({ DBSnapshots: [sourceSnapshot()] });
    rds
      .on(CopyDBSnapshotCommand)
      .rejects(new DBSnapshotAlreadyExistsFault({ message: `${COPY_ID} already exists`, $metadata: {} }));

    // Act
    const result = await copySnapshot(state());

    // Assess
    expect(result).toMatchObject({ done: false, status: 'creating', poll: { attempt: 1 } });
  });

  it("refuses a snapshot of the copy's name that another rotation created", async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID }).resolves({
      DBSnapshots: [
        { ...copyOf('available'), TagList: [{ Key: 'rekey:rotation-id', Value: 'rk0000000000' }] },
      ],
    });

    // Act / Assess
    await expect(copySnapshot(state())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('tag is "rk0000000000", not "rk05e5c03bc0"'),
    });
  });

  it('fails with PreconditionFailedError when the source snapshot is gone', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand).rejects(notFound('either'));

    // Act / Assess
    await expect(copySnapshot(state())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(`${SOURCE_ID} no longer exists`),
    });
    expect(rds).not.toHaveReceivedCommand(CopyDBSnapshotCommand);
  });

  it('fails with PreconditionFailedError, pointing at the key policy, when RDS cannot use the new key', async () => {
    // Prepare
    rds.on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID }).rejects(notFound(COPY_ID));
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: SOURCE_ID })
      .resolves({ DBSnapshots: [sourceSnapshot()] });
    rds
      .on(CopyDBSnapshotCommand)
      .rejects(
        new KMSKeyNotAccessibleFault({ message: 'The specified KMS key is not accessible', $metadata: {} }),
      );

    // Act / Assess
    await expect(copySnapshot(state())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('kms:CreateGrant'),
    });
  });

  it('fails with ResourceFailedError when the copy failed', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('failed')] });

    // Act / Assess
    await expect(copySnapshot(state())).rejects.toMatchObject({ name: 'ResourceFailedError' });
  });

  it('gives up with WaitTimeoutError after its iteration cap', async () => {
    // Prepare
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: COPY_ID })
      .resolves({ DBSnapshots: [copyOf('copying')] });
    const current = state();
    current.copySnapshot = {
      done: false,
      snapshotIdentifier: COPY_ID,
      snapshotArn: null,
      kmsKeyId: null,
      status: 'copying',
      poll: { attempt: 300, waitSeconds: 300, lastStatus: 'copying' },
    };

    // Act / Assess
    await expect(copySnapshot(current)).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });
});
