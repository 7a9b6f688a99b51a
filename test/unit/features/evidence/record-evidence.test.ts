import { CloudTrailClient, LookupEventsCommand, ThrottlingException } from '@aws-sdk/client-cloudtrail';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDeps, type RecordEvidenceDeps } from '#features/evidence/deps.js';
import { recordEvidence } from '#features/evidence/record-evidence.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import { stepEvent } from '../../../support/events.js';

const cloudTrail = mockClient(CloudTrailClient);
const kms = mockClient(KMSClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);

const EXECUTION = {
  Id: 'arn:aws:states:us-east-1:123456789012:execution:rekey-rotate-instance:inc-4711',
  Name: 'inc-4711',
  StartTime: '2026-11-22T15:30:00.000Z',
};

const sleeps: number[] = [];
const deps: RecordEvidenceDeps = {
  ...defaultDeps,
  now: () => new Date('2026-11-22T16:00:00.000Z'),
  sleep: async (ms) => {
    sleeps.push(ms);
  },
};

const startEvent = {
  EventId: 'start-1',
  EventName: 'StartExecution',
  EventSource: 'states.amazonaws.com',
  EventTime: new Date('2026-11-22T15:29:59.000Z'),
  Username: 'alice',
  CloudTrailEvent: JSON.stringify({
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::123456789012:assumed-role/oncall/alice' },
    sourceIPAddress: '203.0.113.7',
    userAgent: 'aws-cli/2.15',
    responseElements: { executionArn: EXECUTION.Id, startDate: 'x' },
  }),
};
const otherStart = {
  ...startEvent,
  EventId: 'start-0',
  CloudTrailEvent: JSON.stringify({ responseElements: { executionArn: `${EXECUTION.Id}-other` } }),
};

const bodyOf = (): EvidenceRecord => {
  const call = s3.commandCalls(PutObjectCommand)[0];
  return JSON.parse(String(call?.args[0].input.Body)) as EvidenceRecord;
};

describe('recordEvidence', () => {
  beforeEach(() => {
    cloudTrail.reset();
    kms.reset();
    s3.reset();
    sfn.reset();
    sleeps.length = 0;
    process.env.EVIDENCE_BUCKET = 'rekey-evidence-123';
    kms.on(DescribeKeyCommand).callsFake((input: { KeyId: string }) => ({
      KeyMetadata: {
        Arn: input.KeyId,
        KeyManager: 'CUSTOMER',
        KeyState: input.KeyId.endsWith('4a5b') ? 'PendingDeletion' : 'Enabled',
        DeletionDate: input.KeyId.endsWith('4a5b') ? new Date('2026-11-29T16:02:11.000Z') : undefined,
      },
    }));
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/orders-db' }] });
    s3.on(PutObjectCommand).resolves({ VersionId: 'v1', ChecksumSHA256: 'abc=' });
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [{ id: 1, type: 'ExecutionStarted', timestamp: new Date(EXECUTION.StartTime) }],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        events: [
          {
            id: 2,
            type: 'TaskStateEntered',
            timestamp: new Date('2026-11-22T15:30:01.000Z'),
            stateEnteredEventDetails: { name: 'CheckStart' },
          },
        ],
      });
  });
  afterEach(() => {
    delete process.env.EVIDENCE_BUCKET;
  });

  it('writes one JSON record with who started it, the paged CloudTrail events and the paged history', async () => {
    // Prepare: StartExecution on the second page; orders-db's events on two pages, throttled once.
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    cloudTrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'StartExecution' }],
      })
      .resolvesOnce({ Events: [otherStart], NextToken: 's2' })
      .resolvesOnce({ Events: [startEvent] });
    cloudTrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: 'orders-db' }],
      })
      .rejectsOnce(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }))
      .resolvesOnce({
        Events: [
          {
            EventId: 'e1',
            EventName: 'StopDBInstance',
            EventSource: 'rds.amazonaws.com',
            EventTime: new Date('2026-11-22T15:31:00.000Z'),
            Resources: [{ ResourceName: 'orders-db' }],
          },
        ],
        NextToken: 'p2',
      })
      .resolvesOnce({
        Events: [
          {
            EventId: 'e2',
            EventName: 'DeleteDBInstance',
            EventSource: 'rds.amazonaws.com',
            EventTime: new Date('2026-11-22T15:50:00.000Z'),
            Resources: [{ ResourceName: 'orders-db' }],
          },
        ],
      });
    const state = stepEvent('summarize');

    // Act
    const result = await recordEvidence({ state, execution: EXECUTION }, deps);

    // Assess
    const key = `rotations/orders-db/2026-11-22T15:30:00.000Z-${state.plan.rotationId}.json`;
    expect(result).toEqual({
      bucket: 'rekey-evidence-123',
      key,
      uri: `s3://rekey-evidence-123/${key}`,
      versionId: 'v1',
      checksumSHA256: 'abc=',
    });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'rekey-evidence-123',
      Key: key,
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    });
    const record = bodyOf();
    expect(record.startedBy).toEqual({
      principal: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
      source: 'cloudtrail',
      requestedBy: 'oncall-dba',
      sourceIpAddress: '203.0.113.7',
      userAgent: 'aws-cli/2.15',
    });
    expect(record.cloudTrail.available).toBe(true);
    expect(record.cloudTrail.lookedUp).toEqual(
      expect.arrayContaining(['orders-db', state.plan.source.kmsKeyArn, state.newKey?.keyArn]),
    );
    expect(record.cloudTrail.events.map((e) => e.eventName)).toEqual([
      'StartExecution',
      'StopDBInstance',
      'DeleteDBInstance',
    ]);
    expect(sleeps).toHaveLength(1);
    expect(record.history).toMatchObject({ source: 'states:GetExecutionHistory', truncated: false });
    expect(record.history.events.map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskStateEntered']);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { nextToken: 'page-2' });
    expect(record.keys.old).toMatchObject({
      keyState: 'PendingDeletion',
      deletionDate: '2026-11-29T16:02:11.000Z',
    });
  });

  it('records CloudTrail as unavailable after the throttling cap, and still writes the record', async () => {
    // Prepare
    cloudTrail
      .on(LookupEventsCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));

    // Act
    await recordEvidence({ state: stepEvent('summarize'), execution: EXECUTION }, deps);

    // Assess
    const record = bodyOf();
    expect(record.cloudTrail).toMatchObject({
      available: false,
      reason: expect.stringContaining('still throttled after 6 attempts'),
    });
    expect(sleeps).toHaveLength(5);
    expect(sleeps.every((ms, i) => ms <= 1000 * 2 ** i)).toBe(true);
    expect(record.startedBy.source).toBe('unknown');
  });

  it('records CloudTrail as unavailable when LookupEvents is refused (the emulator: HTTP 500)', async () => {
    // Prepare
    cloudTrail
      .on(LookupEventsCommand)
      .rejects(Object.assign(new SyntaxError('Unexpected token <'), { $metadata: { httpStatusCode: 500 } }));

    // Act
    await recordEvidence({ state: stepEvent('summarize'), execution: EXECUTION }, deps);

    // Assess
    expect(bodyOf().cloudTrail).toEqual({
      available: false,
      reason: 'LookupEvents failed: SyntaxError (HTTP 500): Unexpected token <',
      lookedUp: [],
      events: [],
    });
    expect(cloudTrail.commandCalls(LookupEventsCommand)).toHaveLength(1);
  });

  it('says the history is unavailable when GetExecutionHistory is refused', async () => {
    sfn.reset();
    sfn.on(GetExecutionHistoryCommand).rejects(new Error('AccessDeniedException'));
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    await recordEvidence({ state: stepEvent('summarize'), execution: EXECUTION }, deps);
    expect(bodyOf().history).toEqual({ source: 'unavailable', events: [], truncated: false });
  });

  it('fails with a message naming the setting when EVIDENCE_BUCKET is missing', async () => {
    delete process.env.EVIDENCE_BUCKET;
    await expect(
      recordEvidence({ state: stepEvent('summarize'), execution: EXECUTION }, deps),
    ).rejects.toThrow(/EVIDENCE_BUCKET is not set/);
  });
});
