import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetApprovalOf } from '#features/fleet/finish.js';
import type { FleetPlanSummary } from '#features/fleet/plan-step.js';
import {
  fleetApprovalMessage,
  LISTED_DATABASES,
  type RequestFleetApprovalInput,
  requestFleetApproval,
} from '#features/fleet/request-approval.js';
import type { FleetPlan, PlannedDatabase } from '#features/fleet/types.js';
import { consoleLink } from '#features/notifications/messages.js';

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:rekey';
const SHARED = 'arn:aws:kms:us-east-1:123456789012:key/1111aaaa-2222-3333-4444-555566667777';

/** The sample event of the step (events/steps/request-fleet-approval.json). */
const sample = (): RequestFleetApprovalInput =>
  JSON.parse(
    readFileSync(new URL('../../../../events/steps/request-fleet-approval.json', import.meta.url), 'utf8'),
  ) as RequestFleetApprovalInput;

const planned = (id: string, overrides: Partial<PlannedDatabase> = {}): PlannedDatabase => ({
  id,
  kind: 'instance',
  eligible: true,
  strategy: 'snapshot',
  strategyReason: 'requested',
  cutover: 'cname',
  oldKeyArn: SHARED,
  blockers: [],
  estimatedWriterDowntimeSeconds: 1500,
  input: { dbInstanceIdentifier: id },
  order: { group: SHARED, position: 1, of: 1 },
  executionName: `annual-2027-${id}`,
  ...overrides,
});

const plan = (databases: PlannedDatabase[], onIneligible: 'fail' | 'skip' = 'skip'): FleetPlan => ({
  status: 'PLANNED',
  planOnly: false,
  fleetId: 'annual-2027',
  databases,
  groups: [],
  maxConcurrency: 2,
  maxFailures: 1,
  onIneligible,
  approval: 'fleet',
  approvalTimeoutSeconds: 14_400,
  notes: ['maxConcurrency 8 capped at 5: ...'],
  calls: {},
});

const SAMPLE_PLAN = plan([
  planned('fleet-billing-db', { order: { group: SHARED, position: 1, of: 2 } }),
  planned('fleet-invoices-db', { order: { group: SHARED, position: 2, of: 2 } }),
  planned('fleet-reports-aurora', {
    kind: 'cluster',
    strategy: 'blue-green',
    cutover: 'none',
    estimatedWriterDowntimeSeconds: 60,
    oldKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/own',
  }),
  planned('fleet-legacy-db', {
    eligible: false,
    strategy: null,
    cutover: null,
    estimatedWriterDowntimeSeconds: null,
    blockers: ['fleet-legacy-db is not encrypted, so there is no key to rotate.'],
  }),
]);

describe('the fleet approval request (RequestFleetApproval)', () => {
  beforeEach(() => {
    s3.reset();
    sns.reset();
    process.env.NOTIFICATION_TOPIC_ARN = TOPIC;
    process.env.EVIDENCE_BUCKET = 'rekey-evidence';
  });
  afterAll(() => {
    delete process.env.NOTIFICATION_TOPIC_ARN;
    delete process.env.EVIDENCE_BUCKET;
  });

  it('reads the plan and publishes what will rotate, what is skipped, the deadline and how to answer', async () => {
    // Prepare
    s3.on(GetObjectCommand, { Bucket: 'rekey-evidence', Key: 'fleets/annual-2027/plan.json' }).resolves({
      Body: { transformToString: async () => JSON.stringify(SAMPLE_PLAN) } as never,
    });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const event = { ...sample(), taskToken: "tok'en", requestedAt: '2027-03-09T06:00:00.000Z' };

    // Act
    const result = await requestFleetApproval(event);

    // Assess
    expect(result).toEqual({
      published: true,
      subject: '[Rekey] fleet annual-2027: waiting for approval',
      messageId: 'm-1',
      deadline: '2027-03-09T10:00:00.000Z',
      databases: 3,
      skipped: 1,
    });
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    const arn = event.executionArn;
    expect(message).toContain('before any rotation starts (nothing has been changed yet)');
    expect(message).toContain('Reason: annual rotation 2027');
    expect(message).toContain('Requested by: platform-team');
    expect(message).toContain('On approval, 3 database(s) rotate');
    expect(message).toContain('The databases do not ask again: this is the only approval.');
    expect(message).toContain(
      '  - fleet-billing-db (instance): snapshot strategy, cutover cname, about 25 min of writer downtime, 1 of 2 on its old key (one after another)',
    );
    expect(message).toContain(
      '  - fleet-reports-aurora (cluster): blue-green strategy, cutover none, about 60 s of writer downtime',
    );
    expect(message).toContain('Skipped, not rotated (1; onIneligible "skip"):');
    expect(message).toContain('  - fleet-legacy-db: fleet-legacy-db is not encrypted');
    expect(message).toContain('  - maxConcurrency 8 capped at 5');
    expect(message).toContain('Decide by 2027-03-09T10:00:00.000Z (240 minutes after this request)');
    expect(message).toContain(
      'no rotation starts, nothing is changed, and the fleet fails with FleetApprovalNotGiven',
    );
    expect(message).toContain(`  ./bin/rekey.mjs approve ${arn}\n`);
    expect(message).toContain(`  ./bin/rekey.mjs reject ${arn} --reason "..."\n`);
    expect(message).toContain(`aws stepfunctions send-task-success --task-token 'tok'\\''en'`);
    expect(message).toContain('--error ApprovalRejected --cause "<reason>"');
    expect(message).toContain('Plan: s3://rekey-evidence/fleets/annual-2027/plan.json');
    expect(message).toContain(`Console: ${consoleLink(arn)}`);
  });

  it('says the refused databases fail the fleet with onIneligible "fail", and lists a large fleet only in part', () => {
    // Prepare
    const many = plan(
      [
        ...Array.from({ length: LISTED_DATABASES + 5 }, (_, i) =>
          planned(`db-${String(i).padStart(4, '0')}`),
        ),
        planned('plain-db', { eligible: false, blockers: ['plain-db is not encrypted.'] }),
      ],
      'fail',
    );

    // Act
    const message = fleetApprovalMessage(sample(), many, '2027-03-09T10:00:00.000Z');

    // Assess
    expect(message).toContain(`Databases to rotate (${LISTED_DATABASES + 5}):`);
    expect(message).toContain(`  - db-${String(LISTED_DATABASES - 1).padStart(4, '0')} (instance)`);
    expect(message).not.toContain(`  - db-${String(LISTED_DATABASES).padStart(4, '0')} (instance)`);
    expect(message).toContain(
      '  ... and 5 more: every database is in the plan, s3://rekey-evidence/fleets/annual-2027/plan.json',
    );
    expect(message).toContain(
      'Refused, not rotated (1; onIneligible "fail": the fleet will fail naming them):',
    );
  });

  it('still answers when SNS refuses (the token is in the execution history), and refuses a call without a token', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify(SAMPLE_PLAN) } as never,
    });
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));

    // Act
    const result = await requestFleetApproval(sample());
    const refused = requestFleetApproval({ ...sample(), taskToken: '' });

    // Assess
    expect(result).toMatchObject({ published: false, error: 'AuthorizationErrorException: denied' });
    await expect(refused).rejects.toThrow('it must be called by the WaitForFleetApproval state');
  });
});

describe("the fleet's approval decision in its output (FinishFleet)", () => {
  const summary = (approval: FleetPlanSummary['approval']) => ({ ...sample().state, approval });

  it('records who approved and when, who rejected and why, or the timeout', () => {
    // Act
    const approved = fleetApprovalOf({
      ...summary('fleet'),
      approvalDecision: { approvedBy: 'alice', approvedAt: '2027-03-09T06:10:00.000Z' },
    });
    const rejected = fleetApprovalOf({
      ...summary('fleet'),
      approvalError: {
        Error: 'ApprovalRejected',
        Cause: JSON.stringify({
          reason: 'freeze',
          rejectedBy: 'bob',
          rejectedAt: '2027-03-09T06:05:00.000Z',
        }),
      },
    });
    const plainText = fleetApprovalOf({
      ...summary('fleet'),
      approvalError: { Error: 'ApprovalRejected', Cause: 'not this week' },
    });
    const timedOut = fleetApprovalOf({ ...summary('fleet'), approvalError: { Error: 'States.Timeout' } });
    const failed = fleetApprovalOf({
      ...summary('fleet'),
      approvalError: {
        Error: 'InvalidInputError',
        Cause: JSON.stringify({ errorType: 'InvalidInputError', errorMessage: 'no plan' }),
      },
    });

    // Assess
    expect(approved).toEqual({
      mode: 'fleet',
      decision: 'approved',
      by: 'alice',
      at: '2027-03-09T06:10:00.000Z',
      reason: null,
      timeoutSeconds: 14_400,
    });
    expect(rejected).toMatchObject({
      decision: 'rejected',
      by: 'bob',
      at: '2027-03-09T06:05:00.000Z',
      reason: 'freeze',
    });
    expect(plainText).toMatchObject({ decision: 'rejected', by: null, reason: 'not this week' });
    expect(timedOut).toMatchObject({
      decision: 'timed-out',
      reason: 'no decision within 240 minutes (WaitForFleetApproval timed out)',
    });
    expect(failed).toMatchObject({
      decision: 'failed',
      reason: 'the approval request failed (InvalidInputError: no plan)',
    });
    expect(fleetApprovalOf(summary('per-database'))).toMatchObject({
      mode: 'per-database',
      decision: 'not-required',
      timeoutSeconds: null,
    });
  });
});
