import { AddTagsToResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  InvalidChangeBatch,
  ListResourceRecordSetsCommand,
  NoSuchChange,
  NoSuchHostedZone,
  PriorRequestNotComplete,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CutoverResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { cutover } from '#strategies/snapshot/cutover.js';
import { stepEvent } from '../../../support/events.js';

const route53 = mockClient(Route53Client);
const rds = mockClient(RDSClient);

const RECORD = 'orders.db.example.internal';
const SOURCE = 'orders-db.abcdefghij.us-east-1.rds.amazonaws.com';
const NEW = 'orders-db-rk05e5c03bc0.abcdefghij.us-east-1.rds.amazonaws.com';
const CHANGE_ID = '/change/C2682N5HXP0BZ4';

const cname = (value: string, extra: Partial<ResourceRecordSet> = {}) => ({
  ResourceRecordSets: [
    { Name: `${RECORD}.`, Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: value }], ...extra },
  ],
  IsTruncated: false,
  MaxItems: 1,
});
const changeInfo = (Status: 'PENDING' | 'INSYNC', Id = CHANGE_ID) => ({
  ChangeInfo: { Id, Status, SubmittedAt: new Date('2026-11-22T16:45:00Z') },
});
/** The state after this step's first call, which records the attempt and changes nothing. */
const afterAttempt = async (): Promise<RotationState> => {
  const state = stepEvent('cutover');
  state.cutover = (await cutover(state)) as CutoverResult;
  return state;
};

/** The state after this step submitted its change once. */
const afterSubmit = (): RotationState => {
  const state = stepEvent('cutover');
  state.cutover = {
    done: false,
    type: 'cname',
    attempted: true,
    changeId: CHANGE_ID,
    changeStatus: 'PENDING',
    previousValue: SOURCE,
    newValue: NEW,
    verified: false,
    poll: { attempt: 1, waitSeconds: 15, lastStatus: 'PENDING' },
  };
  return state;
};

describe('cutover', () => {
  beforeEach(() => {
    route53.reset();
    rds.reset();
  });

  it('first records that the cutover was attempted, calling no Route 53 API, and comes back within a second', async () => {
    // Act
    const result = await cutover(stepEvent('cutover'));

    // Assess
    expect(result).toEqual<CutoverResult>({
      done: false,
      type: 'cname',
      attempted: true,
      changeId: null,
      changeStatus: 'NOT_SUBMITTED',
      previousValue: SOURCE,
      newValue: NEW,
      verified: false,
      poll: { attempt: 0, waitSeconds: 1, lastStatus: 'cutover started' },
    });
    expect(route53.calls()).toHaveLength(0);
  });

  it('points the CNAME at the new endpoint with the planned TTL and a comment naming the rotation', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname(`${SOURCE}.`));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING'));

    // Act
    const result = await cutover(await afterAttempt());

    // Assess
    expect(result).toEqual<CutoverResult>({
      done: false,
      type: 'cname',
      attempted: true,
      changeId: CHANGE_ID,
      changeStatus: 'PENDING',
      previousValue: SOURCE,
      newValue: NEW,
      verified: false,
      poll: { attempt: 1, waitSeconds: 15, lastStatus: 'PENDING', since: expect.any(String) },
    });
    expect(route53).toHaveReceivedCommandWith(ListResourceRecordSetsCommand, {
      HostedZoneId: 'Z0123456789ABC',
      StartRecordName: RECORD,
    });
    expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: 'Z0123456789ABC',
      ChangeBatch: {
        Comment: expect.stringContaining('rk05e5c03bc0'),
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: RECORD, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: NEW }] },
          },
        ],
      },
    });
  });

  it('waits while the change is PENDING, without changing the record again', async () => {
    // Prepare
    route53.on(GetChangeCommand).resolves(changeInfo('PENDING'));

    // Act
    const result = await cutover(afterSubmit());

    // Assess
    expect(result).toMatchObject({
      done: false,
      changeId: CHANGE_ID,
      changeStatus: 'PENDING',
      verified: false,
      poll: { attempt: 2, waitSeconds: 30 },
    });
    expect(route53).toHaveReceivedCommandWith(GetChangeCommand, { Id: CHANGE_ID });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('is done and verified once the change is INSYNC and the record reads back the new endpoint', async () => {
    // Prepare: Route 53 answers with a trailing dot and in whatever case the value was written.
    route53.on(GetChangeCommand).resolves(changeInfo('INSYNC'));
    route53.on(ListResourceRecordSetsCommand).resolves(cname(`${NEW.toUpperCase()}.`));

    // Act
    const result = await cutover(afterSubmit());

    // Assess
    expect(result).toEqual<CutoverResult>({
      done: true,
      type: 'cname',
      attempted: true,
      changeId: CHANGE_ID,
      changeStatus: 'INSYNC',
      previousValue: SOURCE,
      newValue: NEW,
      verified: true,
    });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    // Clients are on the new instance: it is marked serving (no role may delete it), then the old
    // source retired (the only database RetireInstance may delete).
    const { plan } = stepEvent('cutover');
    const arn = (id: string) => `arn:aws:rds:us-east-1:${plan.accountId}:db:${id}`;
    expect(rds.commandCalls(AddTagsToResourceCommand).map((call) => call.args[0].input)).toEqual([
      {
        ResourceName: arn(plan.names.newDbInstanceIdentifier),
        Tags: [{ Key: 'rekey:role', Value: 'serving' }],
      },
      {
        ResourceName: arn('orders-db'),
        Tags: [
          { Key: 'rekey:role', Value: 'retired-source' },
          { Key: 'rekey:retired-by', Value: plan.rotationId },
        ],
      },
    ]);
  });

  it('marks nothing before the cutover is verified', async () => {
    // Prepare
    route53.on(GetChangeCommand).resolves(changeInfo('PENDING'));

    // Act
    const result = await cutover(afterSubmit());

    // Assess
    expect(result).toMatchObject({ done: false, verified: false });
    expect(rds).not.toHaveReceivedCommand(AddTagsToResourceCommand);
  });

  it('a re-run after the cutover finds the change INSYNC and verifies again without a second change', async () => {
    // Prepare
    route53.on(GetChangeCommand).resolves(changeInfo('INSYNC'));
    route53.on(ListResourceRecordSetsCommand).resolves(cname(NEW));
    const state = stepEvent('cutover');
    state.cutover = {
      ...(afterSubmit().cutover as CutoverResult),
      done: true,
      verified: true,
      poll: undefined,
    };

    // Act
    const result = await cutover(state);

    // Assess
    expect(result).toMatchObject({ done: true, verified: true, changeId: CHANGE_ID });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('refuses to overwrite a record someone pointed elsewhere during the rotation, and says where it points', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname('orders-replica.example.net.'));

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining('points at orders-replica.example.net, neither at the source'),
    });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('fails, without changing it back, when the record moves elsewhere after the change went INSYNC', async () => {
    // Prepare
    route53.on(GetChangeCommand).resolves(changeInfo('INSYNC'));
    route53.on(ListResourceRecordSetsCommand).resolves(cname(SOURCE));

    // Act / Assess
    await expect(cutover(afterSubmit())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining(`now points at ${SOURCE}, not at the new endpoint`),
    });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('fails when the record is gone (Route 53 returns the next record in the zone instead)', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        {
          Name: 'payments.db.example.internal.',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: SOURCE }],
        },
      ],
      IsTruncated: true,
      MaxItems: 1,
    });

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining(`CNAME ${RECORD} is no longer in hosted zone Z0123456789ABC`),
    });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('fails when the name now holds another record type instead of the CNAME', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: `${RECORD}.`, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"migrated"' }] },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({ name: 'CutoverFailedError' });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('fails, without changing it, when the record now uses a routing policy', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname(SOURCE, { SetIdentifier: 'blue', Weight: 50 }));

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining('routing policy'),
    });
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('submits again after a lost response left the record on the new endpoint but no change id', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname(NEW));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING', '/change/C0SECONDTRY'));

    // Act
    const result = await cutover(await afterAttempt());

    // Assess
    expect(result).toMatchObject({ done: false, changeId: '/change/C0SECONDTRY', verified: false });
    expect(route53).toHaveReceivedCommandTimes(ChangeResourceRecordSetsCommand, 1);
  });

  it('submits a new change when Route 53 no longer knows the old change id (NoSuchChange)', async () => {
    // Prepare
    route53
      .on(GetChangeCommand)
      .rejects(new NoSuchChange({ message: `A change with id ${CHANGE_ID} does not exist`, $metadata: {} }));
    route53.on(ListResourceRecordSetsCommand).resolves(cname(NEW));
    route53.on(ChangeResourceRecordSetsCommand).resolves(changeInfo('PENDING', '/change/C0RESUBMIT'));

    // Act
    const result = await cutover(afterSubmit());

    // Assess
    expect(result).toMatchObject({ done: false, changeId: '/change/C0RESUBMIT', poll: { attempt: 2 } });
  });

  it('tries again at the next poll when another change to the zone is still in progress', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname(SOURCE));
    route53
      .on(ChangeResourceRecordSetsCommand)
      .rejects(new PriorRequestNotComplete({ message: 'The request was rejected', $metadata: {} }));

    // Act
    const result = await cutover(await afterAttempt());

    // Assess
    expect(result).toMatchObject({ done: false, changeId: null, verified: false, poll: { attempt: 1 } });
  });

  it('turns a refused change batch into CutoverFailedError that quotes Route 53', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves(cname(SOURCE));
    route53.on(ChangeResourceRecordSetsCommand).rejects(
      new InvalidChangeBatch({
        message: 'RRSet of type CNAME with DNS name orders.db.example.internal. is not permitted',
        $metadata: {},
      }),
    );

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining('is not permitted'),
    });
  });

  it('fails with CutoverFailedError when the hosted zone has been deleted', async () => {
    // Prepare
    route53
      .on(ListResourceRecordSetsCommand)
      .rejects(
        new NoSuchHostedZone({ message: 'No hosted zone found with ID: Z0123456789ABC', $metadata: {} }),
      );

    // Act / Assess
    await expect(cutover(await afterAttempt())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining('Hosted zone Z0123456789ABC no longer exists'),
    });
  });

  it('gives up with WaitTimeoutError when the change stays PENDING past the cutover cap', async () => {
    // Prepare
    route53.on(GetChangeCommand).resolves(changeInfo('PENDING'));
    const state = afterSubmit();
    if (state.cutover) state.cutover.poll = { attempt: 40, waitSeconds: 300, lastStatus: 'PENDING' };

    // Act / Assess
    await expect(cutover(state)).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });

  it('refuses to run for a rotation without a CNAME cutover, and calls no Route 53 API', async () => {
    // Act / Assess
    await expect(cutover(stepEvent('start-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
    });
    expect(route53.calls()).toHaveLength(0);
  });

  it('refuses to run before the new instance was validated', async () => {
    // Prepare
    const state = stepEvent('cutover');
    delete state.validation;

    // Act / Assess
    await expect(cutover(state)).rejects.toMatchObject({ name: 'PreconditionFailedError' });
    expect(route53.calls()).toHaveLength(0);
  });
});
