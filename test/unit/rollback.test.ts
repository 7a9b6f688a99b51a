import {
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  StartDBInstanceCommand,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RotationState } from '../../functions/commons/types.js';
import { messageOf, rollback } from '../../functions/rollback.js';
import { stepEvent } from '../support/events.js';

const rds = mockClient(RDSClient);
const route53 = mockClient(Route53Client);
const NEW_ENDPOINT = 'orders-db-new.abcdefghij.us-east-1.rds.amazonaws.com';
const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({ errorType, errorMessage, trace: [] });
const sourceStatus = (status: string) => ({
  DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: status }],
});
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

const failedAt = (
  extra: Partial<RotationState>,
  error = 'ValidationFailedError',
  message = 'kmsKeyId: wrong key',
): RotationState => ({
  ...stepEvent('rollback'),
  failure: { Error: error, Cause: lambdaCause(error, message) },
  ...extra,
});

describe('rollback', () => {
  beforeEach(() => {
    rds.reset();
    route53.reset();
  });

  it('says nothing was changed when preflight refused', async () => {
    // Prepare
    const state = {
      input: {},
      failure: { Error: 'InvalidInputError', Cause: lambdaCause('InvalidInputError', 'reason: is required') },
    } as unknown as RotationState;

    // Act
    const result = await rollback(state);

    // Assess
    expect(result).toEqual({
      done: true,
      undone: [],
      leftBehind: [],
      cause: 'reason: is required. Nothing was changed in AWS.',
    });
    expect(rds.calls()).toHaveLength(0);
  });

  it('starts a source it stopped and waits until it is available', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(sourceStatus('stopped'));
    rds.on(StartDBInstanceCommand).resolves({});
    rds.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const first = await rollback(failedAt({}));
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'available', DeletionProtection: false },
      ],
    });
    const second = await rollback(failedAt({ rollback: first }));

    // Assess
    expect(first).toMatchObject({ done: false, undone: ['started orders-db again'] });
    expect(rds).toHaveReceivedCommandTimes(StartDBInstanceCommand, 1);
    expect(second.done).toBe(true);
    expect(second.cause).toContain('kmsKeyId: wrong key.');
    expect(second.cause).toContain(
      'Undone: started orders-db again; turned deletion protection on again for orders-db.',
    );
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      DeletionProtection: true,
      ApplyImmediately: true,
    });
    expect(second.cause).toContain('was not touched');
  });

  it('lists what the rotation created so a person can clean it up', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(sourceStatus('available'));
    const state = failedAt({
      sourceSnapshot: {
        done: true,
        snapshotIdentifier: 'snap-src',
        snapshotArn: null,
        kmsKeyId: null,
        status: 'available',
      },
      copySnapshot: {
        done: true,
        snapshotIdentifier: 'snap-copy',
        snapshotArn: null,
        kmsKeyId: null,
        status: 'available',
      },
      restore: {
        done: true,
        dbInstanceIdentifier: 'orders-db-new',
        dbInstanceArn: null,
        status: 'available',
      },
    });

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.leftBehind).toEqual([
      'DB instance orders-db-new',
      'DB snapshot snap-copy',
      'DB snapshot snap-src',
      expect.stringContaining('KMS key arn:aws:kms'),
    ]);
    expect(result.cause).toContain('Left in place for inspection: DB instance orders-db-new');
  });

  it('points the CNAME back at the source when the cutover did not verify', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(sourceStatus('available'));
    route53.on(ListResourceRecordSetsCommand).resolves(recordPointingAt(`${NEW_ENDPOINT}.`));
    route53
      .on(ChangeResourceRecordSetsCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    const state = failedAt(
      {
        cutover: {
          done: false,
          type: 'cname',
          changeId: '/change/C1',
          changeStatus: 'INSYNC',
          previousValue: 'orders-db.abcdefghij.us-east-1.rds.amazonaws.com',
          newValue: NEW_ENDPOINT,
          verified: false,
        },
      },
      'CutoverFailedError',
      'the record did not read back',
    );

    // Act
    const result = await rollback(state);

    // Assess
    expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: expect.objectContaining({
        Changes: [
          expect.objectContaining({
            Action: 'UPSERT',
            ResourceRecordSet: expect.objectContaining({
              ResourceRecords: [{ Value: 'orders-db.abcdefghij.us-east-1.rds.amazonaws.com' }],
            }),
          }),
        ],
      }),
    });
    expect(result.undone).toContain(
      'pointed orders.db.example.internal back at orders-db.abcdefghij.us-east-1.rds.amazonaws.com',
    );
  });

  it('leaves a record someone else changed alone', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(sourceStatus('available'));
    route53.on(ListResourceRecordSetsCommand).resolves(recordPointingAt('somewhere-else.example.com'));
    const state = failedAt({
      cutover: {
        done: false,
        type: 'cname',
        changeId: '/change/C1',
        changeStatus: 'PENDING',
        previousValue: 'orders-db.abcdefghij.us-east-1.rds.amazonaws.com',
        newValue: NEW_ENDPOINT,
        verified: false,
      },
    });

    // Act
    await rollback(state);

    // Assess
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('rolls nothing back after a verified cutover: the new instance serves clients', async () => {
    // Prepare
    const state = failedAt(
      {
        cutover: {
          done: true,
          type: 'cname',
          changeId: '/change/C1',
          changeStatus: 'INSYNC',
          previousValue: 'old',
          newValue: NEW_ENDPOINT,
          verified: true,
        },
      },
      'TransientAwsError',
      'Throttling: Rate exceeded',
    );

    // Act
    const result = await rollback(state);

    // Assess
    expect(rds.calls()).toHaveLength(0);
    expect(route53.calls()).toHaveLength(0);
    expect(result.cause).toContain('The cutover had completed: clients use the new instance');
  });
});

describe('messageOf', () => {
  it('unwraps the Lambda error document', () => {
    expect(messageOf({ Error: 'X', Cause: lambdaCause('X', 'the message') })).toBe('the message');
  });

  it('keeps a plain cause as it is', () => {
    expect(messageOf({ Error: 'States.Timeout', Cause: 'Task timed out' })).toBe('Task timed out');
  });
});
