import {
  DescribeKeyCommand,
  KMSClient,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RotationState } from '../../functions/commons/types.js';
import { rollback } from '../../functions/rollback.js';
import { stepEvent } from '../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const route53 = mockClient(Route53Client);

const sample = stepEvent('rollback');
const NEW_ID = sample.plan.names.newDbInstanceIdentifier;
const SOURCE_ENDPOINT = sample.plan.source.endpointAddress;
const NEW_ENDPOINT = `${NEW_ID}.abcdefghij.us-east-1.rds.amazonaws.com`;

const recordPointingAt = (value: string) => ({
  ResourceRecordSets: [
    {
      Name: 'orders.db.example.internal.',
      Type: 'CNAME' as const,
      TTL: 60,
      ResourceRecords: [{ Value: value }],
    },
  ],
  IsTruncated: false,
  MaxItems: 1,
});

/**
 * A failure in the Cutover step whose UPSERT succeeded but whose answer was lost (a Lambda timeout,
 * a dropped connection), after which the retry failed terminally: the state has the validated new
 * instance but no `cutover` result, so no change id.
 */
const failedInCutoverWithoutAnswer = (): RotationState => ({
  ...stepEvent('rollback'),
  restore: { done: true, dbInstanceIdentifier: NEW_ID, dbInstanceArn: null, status: 'available' },
  validation: {
    dbInstanceIdentifier: NEW_ID,
    dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${NEW_ID}`,
    endpointAddress: NEW_ENDPOINT,
    port: 5432,
    kmsKeyArn: sample.newKey?.keyArn ?? '',
    status: 'available',
    differences: [],
    checkedAt: '2026-11-22T15:40:00.000Z',
  },
  failure: {
    Error: 'AccessDeniedException',
    Cause: JSON.stringify({ errorType: 'AccessDeniedException', errorMessage: 'not authorized', trace: [] }),
  },
});

describe('rollback after a Cutover step that lost its answer', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: 'orders-db',
          DBInstanceStatus: 'available',
          DeletionProtection: true,
          TagList: [{ Key: 'rekey:rotation-id', Value: sample.plan.rotationId }],
        },
      ],
    });
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(new DBSnapshotNotFoundFault({ message: 'none', $metadata: {} }));
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'none', $metadata: {} }));
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() } });
  });

  it('points the record back when it already points at the new instance, and deletes nothing', async () => {
    // Prepare: the lost UPSERT went through.
    route53.on(ListResourceRecordSetsCommand).resolves(recordPointingAt(`${NEW_ENDPOINT}.`));

    // Act
    const result = await rollback(failedInCutoverWithoutAnswer());

    // Assess
    expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({
        Changes: [
          expect.objectContaining({
            ResourceRecordSet: expect.objectContaining({ ResourceRecords: [{ Value: SOURCE_ENDPOINT }] }),
          }),
        ],
      }),
    });
    expect(result.undone).toContain(`pointed orders.db.example.internal back at ${SOURCE_ENDPOINT}`);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(result.leftBehind).toContain(`DB instance ${NEW_ID}`);
    expect(result.cause).toContain('kept because clients may have written to the new instance');
  });

  it('keeps the new instance even when the record points at the source again (its own revert may have lost its answer)', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(recordPointingAt(`${SOURCE_ENDPOINT}.`));

    // Act
    const result = await rollback(failedInCutoverWithoutAnswer());

    // Assess
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(result.leftBehind).toContain(`DB instance ${NEW_ID}`);
  });
});

describe('rollback after a verified cutover (RetireInstance failed)', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
    // Both snapshots still exist (read-only answers).
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ Status: 'available' }] });
  });

  it('tells to keep the new instance and its key, and says the old instance is stopped and unprotected', async () => {
    // Prepare
    const state: RotationState = {
      ...failedInCutoverWithoutAnswer(),
      cutover: {
        done: true,
        type: 'cname',
        changeId: '/change/C1',
        changeStatus: 'INSYNC',
        previousValue: SOURCE_ENDPOINT,
        newValue: NEW_ENDPOINT,
        verified: true,
      },
    };

    // Act
    const result = await rollback(state);

    // Assess: nothing is touched; the live instance and key are not called leftovers to delete.
    const commands = rds.calls().map((call) => (call.args[0] as object).constructor.name);
    expect(commands.filter((name) => !name.startsWith('Describe'))).toEqual([]);
    expect(route53.calls()).toHaveLength(0);
    expect(result.leftBehind).toEqual([
      `DB snapshot ${sample.plan.names.copySnapshotIdentifier}`,
      `DB snapshot ${sample.plan.names.sourceSnapshotIdentifier}`,
    ]);
    expect(result.cause).toContain(
      `Keep the new instance ${NEW_ID} and its key ${sample.newKey?.keyArn}: they hold the data clients use now.`,
    );
    expect(result.cause).toContain(
      'The old instance orders-db was not deleted: Rekey stopped it to freeze writes and lifted its deletion protection.',
    );
    expect(result.cause).not.toMatch(/Left in place[^.]*DB instance/);
  });
});
