import {
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
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
import { messageOf } from '#domain/failure.js';
import { UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import type { RotationState } from '#domain/state.js';
import { rollback } from '#strategies/rollback.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const route53 = mockClient(Route53Client);

const sample = stepEvent('rollback');
const ROTATION = sample.plan.rotationId;
const NEW_ID = sample.plan.names.newDbInstanceIdentifier;
const NEW_KEY = sample.newKey?.keyArn ?? '';
const SOURCE_ENDPOINT = sample.plan.source.endpointAddress;
const NEW_ENDPOINT = `${NEW_ID}.abcdefghij.us-east-1.rds.amazonaws.com`;
const ours = [{ Key: 'rekey:rotation-id', Value: ROTATION }];

const lambdaCause = (errorType: string, errorMessage: string) =>
  JSON.stringify({ errorType, errorMessage, trace: [] });
const instanceNotFound = () => new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} });
const snapshotNotFound = () => new DBSnapshotNotFoundFault({ message: 'not found', $metadata: {} });
const instances = (db: DBInstance) => ({ DBInstances: [db] });
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
  extra: Partial<RotationState> = {},
  error = 'ValidationFailedError',
  message = 'kmsKeyId: wrong key',
) => ({
  ...stepEvent('rollback'),
  failure: { Error: error, Cause: lambdaCause(error, message) },
  ...extra,
});

/** What the rotation created still exists (read-only answers). */
const artifactsStillExist = () => {
  rds
    .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: NEW_ID })
    .resolves(instances({ DBInstanceIdentifier: NEW_ID, DBInstanceStatus: 'available', TagList: ours }));
  rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ Status: 'available', TagList: ours }] });
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: { KeyId: 'new-key-id', Arn: NEW_KEY, KeyState: 'Enabled', KeyManager: 'CUSTOMER' },
  });
};

/** Only read calls (Describe*, List*, Get*) were made: nothing changed. */
const writesTo = (client: typeof rds | typeof kms | typeof route53) =>
  client
    .calls()
    .map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name)
    .filter((name) => !/^(Describe|List|Get)/.test(name));

/** Runs the reconciling step the way the state machine does, until done. */
const runUntilDone = async (state: RotationState) => {
  let result = await rollback(state);
  for (let i = 0; i < 10 && !result.done; i += 1) result = await rollback({ ...state, rollback: result });
  return result;
};

describe('rollback', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
    // Defaults: the source is running with protection on, nothing of the rotation is left.
    rds.on(DescribeDBInstancesCommand).rejects(instanceNotFound());
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' }).resolves(
      instances({
        DBInstanceIdentifier: 'orders-db',
        DBInstanceStatus: 'available',
        DeletionProtection: true,
      }),
    );
    rds.on(DescribeDBSnapshotsCommand).rejects(snapshotNotFound());
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'no such key', $metadata: {} }));
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
      facts: [],
      left: [],
      cause: 'reason: is required. Nothing was changed in AWS.',
    });
    expect(rds.calls()).toHaveLength(0);
  });

  it('touches nothing, not even a stopped source, when another rotation held the lock', async () => {
    // Prepare: the other rotation has stopped the source.
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolves(instances({ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'stopped' }));
    const state = failedAt(
      { lock: undefined },
      'RotationInProgressError',
      'rotation rk0000000001 is already in progress for orders-db',
    );

    // Act
    const result = await rollback(state);

    // Assess
    expect(result.cause).toBe(
      'rotation rk0000000001 is already in progress for orders-db. Nothing was changed in AWS.',
    );
    expect(rds.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  it('starts a source it stopped, waits until available, and turns its deletion protection on again', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolvesOnce(instances({ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'stopped' }))
      .resolves(
        instances({
          DBInstanceIdentifier: 'orders-db',
          DBInstanceStatus: 'available',
          DeletionProtection: false,
        }),
      );
    rds.on(StartDBInstanceCommand).resolves({});
    rds.on(ModifyDBInstanceCommand).resolves({});

    // Act: the rotation failed before its snapshots (the default mocks have none).
    const before = { sourceSnapshot: undefined, copySnapshot: undefined };
    const first = await rollback(failedAt(before));
    const second = await rollback(failedAt({ ...before, rollback: first }));

    // Assess
    expect(first).toMatchObject({ done: false, undone: ['started orders-db again'] });
    expect(rds).toHaveReceivedCommandTimes(StartDBInstanceCommand, 1);
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      DeletionProtection: true,
      ApplyImmediately: true,
    });
    expect(second.done).toBe(true);
    expect(second.cause).toContain('kmsKeyId: wrong key.');
    expect(second.cause).toContain(
      'Undone: started orders-db again; turned deletion protection on again for orders-db.',
    );
    expect(second.cause).toContain(`The old key ${sample.plan.source.kmsKeyArn} was not touched.`);
  });

  it('deletes the restored instance and both snapshots, then schedules the unused new key for 7 days', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: NEW_ID })
      .resolvesOnce(
        instances({
          DBInstanceIdentifier: NEW_ID,
          DBInstanceStatus: 'available',
          DeletionProtection: true,
          TagList: ours,
        }),
      )
      .resolvesOnce(
        instances({
          DBInstanceIdentifier: NEW_ID,
          DBInstanceStatus: 'available',
          DeletionProtection: false,
          TagList: ours,
        }),
      )
      .resolvesOnce(instances({ DBInstanceIdentifier: NEW_ID, DBInstanceStatus: 'deleting', TagList: ours }))
      .rejects(instanceNotFound());
    rds.on(DescribeDBSnapshotsCommand).resolves({ DBSnapshots: [{ Status: 'available', TagList: ours }] });
    rds.on(ModifyDBInstanceCommand).resolves({});
    rds.on(DeleteDBInstanceCommand).resolves({});
    rds.on(DeleteDBSnapshotCommand).resolves({});
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: 'new-key-id', Arn: NEW_KEY, KeyState: 'Enabled', KeyManager: 'CUSTOMER' },
    });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: ROTATION }] });
    kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-11-29T16:00:00Z') });

    // Act
    const result = await runUntilDone(failedAt());

    // Assess
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: NEW_ID,
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: sample.plan.names.copySnapshotIdentifier,
    });
    expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
      DBSnapshotIdentifier: sample.plan.names.sourceSnapshotIdentifier,
    });
    expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
      KeyId: 'new-key-id',
      PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
    });
    expect(result).toMatchObject({ done: true, leftBehind: [] });
    expect(result.cause).toContain(`deleted the new DB instance ${NEW_ID}`);
    expect(result.cause).toContain(
      `scheduled the unused new key ${NEW_KEY} for deletion on 2026-11-29T16:00:00.000Z`,
    );
  });

  it.each([
    ['keeps polling while KMS may still be propagating the new key’s tag', 60_000, false],
    ['leaves the key for a person once that window has passed', 3_600_000, true],
  ])('when scheduling the unused new key is denied, %s', async (_case, ageMs, done) => {
    // Prepare
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: {
        KeyId: 'new-key-id',
        Arn: NEW_KEY,
        KeyState: 'Enabled',
        KeyManager: 'CUSTOMER',
        CreationDate: new Date(Date.now() - ageMs),
      },
    });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: ROTATION }] });
    kms.on(ScheduleKeyDeletionCommand).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    // Act
    const result = await rollback(failedAt());

    // Assess
    expect(result.done).toBe(done);
    if (done) expect(result.cause).toContain(`could not schedule the unused new key ${NEW_KEY} for deletion`);
  });

  it('keeps everything it created when the input says keepArtifactsOnFailure, and lists it', async () => {
    // Prepare
    const state = failedAt({
      restore: { done: true, dbInstanceIdentifier: NEW_ID, dbInstanceArn: null, status: 'available' },
    });
    state.plan.decisions.artifactsOnFailure = {
      action: 'keep',
      reason: 'the input says keepArtifactsOnFailure',
    };
    artifactsStillExist();

    // Act
    const result = await rollback(state);

    // Assess
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBSnapshotCommand);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
    expect(result.leftBehind).toEqual([
      `DB instance ${NEW_ID}`,
      `DB snapshot ${sample.plan.names.copySnapshotIdentifier}`,
      `DB snapshot ${sample.plan.names.sourceSnapshotIdentifier}`,
      expect.stringContaining(`KMS key ${NEW_KEY}`),
    ]);
    expect(result.cause).toContain('Left in place (kept because the input says keepArtifactsOnFailure)');
  });

  it('never deletes an instance or schedules a key that does not carry this rotation id', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: NEW_ID }).resolves(
      instances({
        DBInstanceIdentifier: NEW_ID,
        DBInstanceStatus: 'available',
        TagList: [{ Key: 'team', Value: 'x' }],
      }),
    );
    kms.on(DescribeKeyCommand).resolves({
      KeyMetadata: { KeyId: 'someone-elses', Arn: NEW_KEY, KeyState: 'Enabled', KeyManager: 'CUSTOMER' },
    });
    kms.on(ListResourceTagsCommand).resolves({ Tags: [] });

    // Act
    const result = await runUntilDone(failedAt());

    // Assess
    expect(result.done).toBe(true);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
  });

  it('points the CNAME back at the source when the cutover did not verify, and keeps the new instance', async () => {
    // Prepare
    artifactsStillExist();
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
          previousValue: SOURCE_ENDPOINT,
          newValue: NEW_ENDPOINT,
          verified: false,
        },
        restore: { done: true, dbInstanceIdentifier: NEW_ID, dbInstanceArn: null, status: 'available' },
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
            ResourceRecordSet: expect.objectContaining({ ResourceRecords: [{ Value: SOURCE_ENDPOINT }] }),
          }),
        ],
      }),
    });
    expect(result.undone).toContain(`pointed orders.db.example.internal back at ${SOURCE_ENDPOINT}`);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(result.cause).toContain('kept because clients may have written to the new instance');
  });

  it('leaves a record someone else changed alone', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(recordPointingAt('somewhere-else.example.com'));
    const state = failedAt({
      cutover: {
        done: false,
        type: 'cname',
        changeId: '/change/C1',
        changeStatus: 'PENDING',
        previousValue: SOURCE_ENDPOINT,
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
          previousValue: SOURCE_ENDPOINT,
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
    expect(writesTo(rds)).toEqual([]);
    expect(writesTo(route53)).toEqual([]);
    expect(writesTo(kms)).toEqual([]);
    expect(result.cause).toContain('The cutover had completed: clients use the new instance');
  });
});

/**
 * A failure in the Cutover step whose UPSERT succeeded but whose answer was lost (a Lambda timeout,
 * a dropped connection), after which the retry failed terminally: the state has only the Cutover's
 * first result, which says the cutover was attempted, and no change id.
 */
const failedInCutoverWithoutAnswer = (): RotationState => ({
  ...stepEvent('rollback'),
  cutover: {
    done: false,
    type: 'cname',
    attempted: true,
    changeId: null,
    changeStatus: 'NOT_SUBMITTED',
    previousValue: SOURCE_ENDPOINT,
    newValue: NEW_ENDPOINT,
    verified: false,
    poll: { attempt: 0, waitSeconds: 1, lastStatus: 'cutover started' },
  },
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

describe('messageOf', () => {
  it('unwraps the Lambda error document', () => {
    expect(messageOf({ Error: 'X', Cause: lambdaCause('X', 'the message') })).toBe('the message');
  });

  it('keeps a plain cause as it is', () => {
    expect(messageOf({ Error: 'States.Timeout', Cause: 'Task timed out' })).toBe('Task timed out');
  });
});
