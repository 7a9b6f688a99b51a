import {
  DescribeKeyCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { renderFact } from '#domain/facts.js';
import { UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import type { RotationState } from '#domain/state.js';
import { type CleanupStep, removeArtifacts } from '#reconcilers/cleanup.js';
import { stepEvent } from '../../support/events.js';

const rds = mockClient(RDSClient);

/** The step's facts in the words the rollback's cause uses. */
const words = (step: CleanupStep) => ({ done: step.done, removed: step.removed.map(renderFact) });
const kms = mockClient(KMSClient);

const ORPHAN = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ORPHAN_ARN = `arn:aws:kms:us-east-1:123456789012:key/${ORPHAN}`;
const OTHER = '5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f';

/** A failure in CreateKey: the state has no `newKey`, whatever KMS did before the step failed. */
const failedInCreateKey = (): RotationState => {
  const state = stepEvent('rollback');
  delete state.newKey;
  delete state.freeze;
  delete state.sourceSnapshot;
  delete state.copySnapshot;
  return state;
};

describe('removeArtifacts: the unused new key', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'none', $metadata: {} }));
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(new DBSnapshotNotFoundFault({ message: 'none', $metadata: {} }));
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'no alias', $metadata: {} }));
  });

  it('finds by its rotation tag, and schedules, a key whose CreateKey step failed after KMS created it', async () => {
    // Prepare: KMS created the key; CreateAlias (or the answer) failed, so no alias and no state.newKey.
    const state = failedInCreateKey();
    kms.on(ListKeysCommand).resolves({ Keys: [{ KeyId: OTHER }, { KeyId: ORPHAN }], Truncated: false });
    kms.on(ListResourceTagsCommand, { KeyId: OTHER }).resolves({ Tags: [{ TagKey: 'team', TagValue: 'x' }] });
    kms
      .on(ListResourceTagsCommand, { KeyId: ORPHAN })
      .resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: state.plan.rotationId }] });
    kms.on(DescribeKeyCommand, { KeyId: ORPHAN }).resolves({
      KeyMetadata: { KeyId: ORPHAN, Arn: ORPHAN_ARN, KeyState: 'Enabled', KeyManager: 'CUSTOMER' },
    });
    kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-12-01T00:00:00Z') });

    // Act
    const result = await removeArtifacts(state);

    // Assess
    expect(result).toEqual({
      done: true,
      removed: [
        {
          kind: 'key-scheduled-for-deletion',
          keyArn: ORPHAN_ARN,
          deletionDate: '2026-12-01T00:00:00.000Z',
          windowDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
        },
      ],
    });
    expect(result.removed.map(renderFact)).toEqual([
      `scheduled the unused new key ${ORPHAN_ARN} for deletion on 2026-12-01T00:00:00.000Z`,
    ]);
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
      KeyId: ORPHAN,
      PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
    });
    expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 1);
  });

  it('schedules nothing when no key carries the rotation tag', async () => {
    // Prepare
    kms.on(ListKeysCommand).resolves({ Keys: [{ KeyId: OTHER }], Truncated: false });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [] });

    // Act
    const result = await removeArtifacts(failedInCreateKey());

    // Assess
    expect(result).toEqual({ done: true, removed: [] });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('reports a key an earlier attempt already scheduled (its answer lost) as scheduled, without listing keys', async () => {
    // Prepare
    const state = stepEvent('rollback');
    const keyId = state.newKey?.keyId ?? '';
    kms.on(DescribeKeyCommand, { KeyId: keyId }).resolves({
      KeyMetadata: {
        KeyId: keyId,
        Arn: state.newKey?.keyArn,
        KeyState: 'PendingDeletion',
        KeyManager: 'CUSTOMER',
        DeletionDate: new Date('2026-12-01T00:00:00Z'),
      },
    });
    kms
      .on(ListResourceTagsCommand, { KeyId: keyId })
      .resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: state.plan.rotationId }] });

    // Act
    const result = await removeArtifacts({ ...state, sourceSnapshot: undefined, copySnapshot: undefined });

    // Assess
    expect(words(result)).toEqual({
      done: true,
      removed: [
        `scheduled the unused new key ${state.newKey?.keyArn} for deletion on 2026-12-01T00:00:00.000Z`,
      ],
    });
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
  });

  it('reports the snapshots and the instance the rotation created as deleted when they are gone (an earlier attempt deleted them, its answer lost)', async () => {
    // Prepare: the defaults have neither the instance nor the snapshots any more.
    const state = { ...stepEvent('rollback'), newKey: undefined };
    state.restore = {
      done: true,
      dbInstanceIdentifier: state.plan.names.newDbInstanceIdentifier,
      dbInstanceArn: null,
      status: 'available',
    };
    kms.on(ListKeysCommand).resolves({ Keys: [], Truncated: false });

    // Act
    const result = await removeArtifacts(state);

    // Assess
    expect(words(result)).toEqual({
      done: true,
      removed: [
        `deleted the new DB instance ${state.plan.names.newDbInstanceIdentifier}`,
        `deleted the DB snapshot ${state.plan.names.copySnapshotIdentifier}`,
        `deleted the DB snapshot ${state.plan.names.sourceSnapshotIdentifier}`,
      ],
    });
  });
});

describe('removeArtifacts: the keys it reads off what it removes', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
  });

  it('reports the key RDS gives for the restored instance before deleting it (a failed validation’s evidence)', async () => {
    // Prepare: the restored instance is under some other key, as a failed validation found it.
    const state = stepEvent('rollback');
    const id = state.plan.names.newDbInstanceIdentifier;
    const wrongKey = 'arn:aws:kms:us-east-1:123456789012:key/99999999-9999-4999-8999-999999999999';
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: id,
          DBInstanceStatus: 'available',
          KmsKeyId: wrongKey,
          DeletionProtection: false,
          TagList: [{ Key: 'rekey:rotation-id', Value: state.plan.rotationId }],
        },
      ],
    });
    rds.on(DeleteDBInstanceCommand).resolves({});

    // Act
    const result = await removeArtifacts(state);

    // Assess
    expect(result).toMatchObject({
      done: false,
      observed: [{ resource: 'db-instance', identifier: id, kmsKeyArn: wrongKey }],
    });
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: id });
  });
});
