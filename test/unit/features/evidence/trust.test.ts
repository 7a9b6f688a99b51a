import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InstanceState } from '#domain/state.js';
import { buildEvidence } from '#features/evidence/build.js';
import type { BuildEvidenceOptions, EvidenceState } from '#features/evidence/context.js';
import type { EvidenceRecord, HistoryEventEvidence } from '#features/evidence/schema.js';
import { evidenceKeyOf } from '#features/evidence/writer.js';
import { snsClient } from '#features/notifications/messages.js';
import { notify } from '#features/notifications/notify.js';
import { validateDatabase } from '#strategies/snapshot/validate-database.js';
import { lookUpCaller } from '../../../../cli/caller-identity.js';
import { renderHtml } from '../../../../cli/report/render-html.js';
import { renderMarkdown } from '../../../../cli/report/render-markdown.js';
import { newInstanceOf } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

/**
 * Issue 10, "Evidence a reviewer can trust": the record and the report state facts (who approved,
 * who ran it and where, the key actually found, what the rollback deleted), mark local and
 * emulator runs, and keep refused starts apart from rotations.
 */

const EXECUTION = {
  Id: 'arn:aws:states:us-east-1:123456789012:execution:rekey-rotate-instance:inc-4711',
  Name: 'inc-4711',
  StartTime: '2026-11-22T15:30:00.000Z',
};
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const NEW_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';

/** WaitForApproval ran from 15:40 to 15:52. */
const GATE: HistoryEventEvidence[] = [
  {
    id: 1,
    timestamp: '2026-11-22T15:40:00.000Z',
    type: 'TaskStateEntered',
    stateName: 'WaitForApproval',
    detail: null,
  },
  {
    id: 2,
    timestamp: '2026-11-22T15:40:00.000Z',
    type: 'TaskScheduled',
    stateName: 'WaitForApproval',
    detail: null,
  },
  {
    id: 3,
    timestamp: '2026-11-22T15:52:00.000Z',
    type: 'TaskFailed',
    stateName: 'WaitForApproval',
    detail: 'x',
  },
];

const build = (state: EvidenceState, overrides: Partial<BuildEvidenceOptions> = {}): EvidenceRecord =>
  buildEvidence({
    state,
    execution: EXECUTION,
    history: { source: 'states:GetExecutionHistory', events: GATE, truncated: false },
    cloudTrail: { available: true, reason: null, lookedUp: [], events: [], startedBy: null, notes: [] },
    keys: { old: null, new: null },
    now: new Date('2026-11-22T16:10:00.000Z'),
    ...overrides,
  });

const gated = (): InstanceState => {
  const state = stepEvent('validate-database');
  return {
    ...state,
    plan: { ...state.plan, approval: { required: true, requested: true, timeoutSeconds: 14_400 } },
  };
};

/** What a failed rotation's rollback leaves in the state after the gate said no. */
const rolledBack = (state: InstanceState): InstanceState => ({
  ...state,
  approval: { approved: false },
  oldKey: undefined,
  rollback: {
    done: true,
    undone: ['(words)'],
    leftBehind: [],
    facts: [
      { kind: 'source-started', identifier: 'orders-db' },
      { kind: 'deleted', resource: 'db-instance', identifier: 'orders-db-rk05e5c03bc0' },
      { kind: 'deleted', resource: 'db-snapshot', identifier: 'rekey-orders-db-rk05e5c03bc0-reencrypted' },
      {
        kind: 'key-scheduled-for-deletion',
        keyArn: NEW_KEY,
        deletionDate: '2026-11-29T16:00:00.000Z',
        windowDays: 7,
      },
    ],
    left: [{ kind: 'db-snapshot', identifier: 'rekey-orders-db-rk05e5c03bc0-source' }],
    cause: 'Approval rejected ...',
  },
});

const summaryLine = (markdown: string, label: string) =>
  markdown.split('\n').find((line) => line.startsWith(`| **${label}** |`));

describe('1. the approval decision', () => {
  it('records who approved and when, and the report says so', () => {
    const state: InstanceState = {
      ...stepEvent('summarize'),
      plan: {
        ...stepEvent('summarize').plan,
        approval: { required: true, requested: true, timeoutSeconds: 3600 },
      },
      approval: { approvedBy: 'bob', approvedAt: '2026-11-22T15:45:00.000Z' },
    };
    const record = build(state);
    expect(record.approval).toEqual({
      decision: 'approved',
      by: 'bob',
      at: '2026-11-22T15:45:00.000Z',
      reason: null,
      timeoutSeconds: 3600,
    });
    expect(summaryLine(renderMarkdown(record), 'Approval')).toContain(
      'approved by bob at 2026-11-22 15:45:00 UTC',
    );
    expect(renderHtml(record)).toContain(
      '<th scope="row">Approval</th><td>approved by bob at 2026-11-22 15:45:00 UTC',
    );
  });

  it('records a rejection from `rekey reject`: who, when and why', () => {
    const state = rolledBack({
      ...gated(),
      failure: {
        Error: 'ApprovalRejected',
        Cause: JSON.stringify({
          reason: 'not during the sale',
          rejectedBy: 'carol',
          rejectedAt: '2026-11-22T15:50:00.000Z',
        }),
      },
    });
    const record = build(state);
    expect(record.approval).toMatchObject({
      decision: 'rejected',
      by: 'carol',
      at: '2026-11-22T15:50:00.000Z',
      reason: 'not during the sale',
    });
    const md = renderMarkdown(record);
    expect(summaryLine(md, 'Approval')).toContain(
      'REJECTED by carol at 2026-11-22 15:50:00 UTC: not during the sale',
    );
    expect(renderHtml(record)).toContain('REJECTED by carol at 2026-11-22 15:50:00 UTC: not during the sale');
  });

  it('records a plain-text rejection (the AWS CLI) and a local run’s, with the gate’s end as the time', () => {
    const plain = build(
      rolledBack({ ...gated(), failure: { Error: 'ApprovalRejected', Cause: 'bad timing' } }),
    );
    expect(plain.approval).toMatchObject({
      decision: 'rejected',
      by: null,
      at: '2026-11-22T15:52:00.000Z',
      reason: 'bad timing',
    });
    const local = build(
      rolledBack({
        ...gated(),
        failure: {
          Error: 'ApprovalRejected',
          Cause: JSON.stringify({
            errorType: 'ApprovalRejected',
            errorMessage: JSON.stringify({ reason: 'rehearsal', rejectedBy: 'dave' }),
          }),
        },
      }),
    );
    expect(local.approval).toMatchObject({ decision: 'rejected', by: 'dave', reason: 'rehearsal' });
  });

  it('records a timeout as such, when the gate ended', () => {
    const record = build(
      rolledBack({ ...gated(), failure: { Error: 'States.Timeout', Cause: 'Task timed out.' } }),
    );
    expect(record.approval).toMatchObject({
      decision: 'timed-out',
      by: null,
      at: '2026-11-22T15:52:00.000Z',
      reason: expect.stringContaining('no decision within 240 minutes'),
    });
    expect(summaryLine(renderMarkdown(record), 'Approval')).toContain('TIMED OUT at 2026-11-22 15:52:00 UTC');
  });

  it('has no approval when the plan had no gate', () => {
    expect(build(stepEvent('summarize')).approval).toBeNull();
  });
});

describe('2. who started it', () => {
  it('a local run against AWS names the caller identity, not CloudTrail', () => {
    const record = build(stepEvent('summarize'), {
      history: { source: 'local-runner', events: [], truncated: false },
      localRun: {
        endpoint: null,
        caller: { arn: 'arn:aws:sts::123456789012:assumed-role/oncall/alice', account: '123456789012' },
      },
    });
    expect(record.startedBy).toMatchObject({
      principal: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
      source: 'sts:GetCallerIdentity',
    });
    expect(record.environment).toEqual({ runner: 'local', services: 'aws', endpoint: null });
    expect(summaryLine(renderMarkdown(record), 'Started by')).toContain(
      'arn:aws:sts::123456789012:assumed-role/oncall/alice (the credentials of a local run, from sts:GetCallerIdentity',
    );
  });

  it('a local run on an emulator claims no identity, even with a StartExecution event at hand', () => {
    const record = build(stepEvent('summarize'), {
      history: { source: 'local-runner', events: [], truncated: false },
      cloudTrail: {
        available: true,
        reason: null,
        lookedUp: [],
        events: [],
        startedBy: {
          principal: 'arn:aws:iam::123456789012:user/mallory',
          sourceIpAddress: null,
          userAgent: null,
        },
        notes: [],
      },
      localRun: { endpoint: 'http://127.0.0.1:5000', caller: null },
    });
    expect(record.startedBy).toMatchObject({ principal: null, source: 'emulator' });
    expect(record.environment).toEqual({
      runner: 'local',
      services: 'emulator',
      endpoint: 'http://127.0.0.1:5000',
    });
  });

  it('a failed caller lookup is recorded as unknown, with why', () => {
    const record = build(stepEvent('summarize'), {
      localRun: { endpoint: null, caller: { error: 'ExpiredToken: the token expired' } },
    });
    expect(record.startedBy).toMatchObject({ principal: null, source: 'unknown' });
    expect(record.notes.join('\n')).toContain(
      'sts:GetCallerIdentity failed (ExpiredToken: the token expired)',
    );
  });

  it('lookUpCaller asks STS, and says so when it cannot', async () => {
    const asked: string[] = [];
    const caller = await lookUpCaller('eu-west-1', async (region) => {
      asked.push(region);
      return { Arn: 'arn:aws:sts::111122223333:assumed-role/dba/erin', Account: '111122223333' };
    });
    expect(asked).toEqual(['eu-west-1']);
    expect(caller).toEqual({
      arn: 'arn:aws:sts::111122223333:assumed-role/dba/erin',
      account: '111122223333',
    });
    const denied = await lookUpCaller('eu-west-1', async () => {
      throw Object.assign(new Error('The security token included in the request is invalid'), {
        name: 'InvalidClientTokenId',
      });
    });
    expect(denied).toEqual({
      error: 'InvalidClientTokenId: The security token included in the request is invalid',
    });
  });
});

describe('3. a failed rotation states facts', () => {
  const rds = mockClient(RDSClient);
  const kms = mockClient(KMSClient);
  beforeEach(() => {
    rds.reset();
    kms.reset();
    for (const arn of [OLD_KEY, NEW_KEY]) {
      kms
        .on(DescribeKeyCommand, { KeyId: arn })
        .resolves({ KeyMetadata: { KeyId: arn.split('/')[1], Arn: arn } });
    }
  });

  it('shows the key the validation actually found, and claims no new key for that database', async () => {
    // Prepare: the real validation step fails on an instance under the OLD key.
    const state = stepEvent('validate-database');
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [newInstanceOf(state, { KmsKeyId: OLD_KEY })] });
    const error = (await validateDatabase(state).catch((e: Error) => e)) as Error;
    expect(error.name).toBe('ValidationFailedError');

    // Act
    const key = (arn: string) => ({
      arn,
      alias: null,
      keyManager: 'CUSTOMER',
      keyState: 'Enabled',
      creationDate: null,
      deletionDate: null,
      pendingWindowDays: null,
      description: null,
    });
    const record = build(
      {
        ...state,
        failure: {
          Error: error.name,
          Cause: JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: [] }),
        },
        // What the rollback read off the new instance before it deleted it (never the message).
        rollback: {
          done: true,
          undone: [],
          leftBehind: [],
          cause: '',
          observedKeys: [
            {
              resource: 'db-instance',
              identifier: state.restore?.dbInstanceIdentifier ?? '',
              kmsKeyArn: OLD_KEY,
            },
          ],
        },
      },
      { keys: { old: key(OLD_KEY), new: key(NEW_KEY) } },
    );

    // Assess
    expect(record.validation).toMatchObject({
      passed: false,
      expectedKeyArn: NEW_KEY,
      actualKeyArn: OLD_KEY,
      foundKeyArns: [OLD_KEY],
    });
    const restored = record.resources.find((r) => r.identifier === state.restore?.dbInstanceIdentifier);
    expect(restored?.detail).toBe(
      `restored from the copied snapshot; validation found it under ${OLD_KEY}, NOT the new key`,
    );
    const md = renderMarkdown(record);
    const keyRow = md.split('\n').find((line) => line.startsWith('| **KMS key** |')) ?? '';
    expect(keyRow).toContain(`validation FAILED: expected ${NEW_KEY}, found ${OLD_KEY}`);
    // After: still the old key, not the new one.
    expect(keyRow.split(' | ')[2]).toContain(OLD_KEY);
    expect(keyRow.split(' | ')[2]).not.toContain(NEW_KEY);
  });

  it('lists what the rollback deleted, scheduled and left, from its facts', () => {
    const record = build(rolledBack({ ...gated(), failure: { Error: 'States.Timeout', Cause: '' } }));
    const lines = record.resources.map((r) => `${r.kind} ${r.identifier} ${r.action}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'db-instance orders-db started',
        'db-instance orders-db-rk05e5c03bc0 deleted',
        'db-snapshot rekey-orders-db-rk05e5c03bc0-reencrypted deleted',
        'kms-key 7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f scheduled-for-deletion',
        'db-snapshot rekey-orders-db-rk05e5c03bc0-source retained',
      ]),
    );
    expect(record.rollback?.facts).toHaveLength(4);
    // The restored instance never passed validation: nothing says it is under the new key.
    const restored = record.resources.find(
      (r) => r.identifier === 'orders-db-rk05e5c03bc0' && r.action === 'created',
    );
    expect(restored?.detail).not.toMatch(/validated under the new key/);
  });

  it('says a copy is under the new key only once CopySnapshot read that back', () => {
    const base = stepEvent('summarize');
    const waiting = build({
      ...base,
      validation: undefined,
      copySnapshot: {
        ...(base.copySnapshot as NonNullable<InstanceState['copySnapshot']>),
        done: false,
        kmsKeyId: OLD_KEY,
      },
    });
    const copy = waiting.resources.find((r) => r.identifier === base.copySnapshot?.snapshotIdentifier);
    expect(copy?.detail).toBe(
      `copy of the source snapshot, encrypted under ${OLD_KEY}: NOT the new key ${NEW_KEY}`,
    );
  });
});

describe('4. the report marks local and emulator runs, and explains KMS.3', () => {
  it('puts the emulator mark at the top of both formats', () => {
    const record = build(stepEvent('summarize'), {
      history: { source: 'local-runner', events: [], truncated: false },
      localRun: { endpoint: 'http://127.0.0.1:5000', caller: null },
    });
    const md = renderMarkdown(record).split('\n');
    expect(md[2]).toMatch(
      /^> \*\*EMULATOR RUN: this record was made by a local run against an emulator \(http:\/\/127\.0\.0\.1:5000\)/,
    );
    const html = renderHtml(record);
    expect(html.indexOf('EMULATOR RUN')).toBeGreaterThan(html.indexOf('<h1>'));
    expect(html.indexOf('EMULATOR RUN')).toBeLessThan(html.indexOf('<nav'));
  });

  it('marks a local run against AWS, and an old local record that cannot say where it ran', () => {
    const local = build(stepEvent('summarize'), {
      history: { source: 'local-runner', events: [], truncated: false },
      localRun: { endpoint: null, caller: null },
    });
    expect(renderMarkdown(local).split('\n')[2]).toContain(
      'LOCAL RUN: this record was made by the local runner (rekey run) against AWS',
    );
    const { environment: _, ...old } = local;
    expect(renderHtml(old as EvidenceRecord)).toContain(
      'against AWS or an emulator (records of this age do not say which)',
    );
    const deployed = build(stepEvent('summarize'));
    expect(renderMarkdown(deployed)).not.toContain('LOCAL RUN');
    expect(renderHtml(deployed)).not.toContain('class="warning environment"');
  });

  it('explains KMS.3 in the key lifecycle when a key was scheduled for deletion', () => {
    const record = build(stepEvent('summarize'));
    const md = renderMarkdown(record);
    const lifecycle = md.slice(md.indexOf('## Key lifecycle'), md.indexOf('## Resources'));
    expect(lifecycle).toContain('### Security Hub KMS.3');
    expect(lifecycle).toContain('AWS KMS keys should not be deleted unintentionally');
    const html = renderHtml(record);
    const section = html.slice(
      html.indexOf('<section id="key-lifecycle"'),
      html.indexOf('<section id="resources"'),
    );
    expect(section).toContain('Security Hub control KMS.3');
    const untouched = build({ ...stepEvent('validate-database'), failure: { Error: 'X', Cause: 'y' } });
    expect(renderMarkdown(untouched)).not.toContain('KMS.3');
  });
});

describe('5. refused starts keep their record apart from rotations', () => {
  it('writes a refusal under refused/, a failed rotation and a stopped one under rotations/', () => {
    const refused = {
      input: { dbInstanceIdentifier: 'Orders-DB' },
      failure: { Error: 'InvalidInputError', Cause: 'bad' },
    };
    expect(evidenceKeyOf({ state: refused, execution: EXECUTION })).toBe(
      'refused/orders-db/2026-11-22T15:30:00.000Z-rk8f0e1f3a6b.json'.replace(
        'rk8f0e1f3a6b',
        build(refused).rotationId,
      ),
    );
    const nameless = {
      input: { dbInstanceIdentifier: '../x' },
      failure: { Error: 'InvalidInputError', Cause: 'bad' },
    };
    expect(evidenceKeyOf({ state: nameless, execution: EXECUTION })).toMatch(/^refused\/_no-target\//);
    const held = {
      ...stepEvent('acquire-lock'),
      failure: { Error: 'RotationInProgressError', Cause: 'held' },
    };
    expect(evidenceKeyOf({ state: { ...held, lock: undefined }, execution: EXECUTION })).toMatch(
      /^refused\/orders-db\//,
    );
    const failed = { ...stepEvent('rollback'), failure: { Error: 'X', Cause: 'y' } };
    expect(evidenceKeyOf({ state: failed, execution: EXECUTION })).toMatch(/^rotations\/orders-db\//);
    expect(build(refused).refused).toBe(true);
    expect(build(failed).refused).toBe(false);
  });
});

describe('6. the notification of a success that kept the old key', () => {
  const sns = mockClient(SNSClient);
  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm1' });
    process.env.NOTIFICATION_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:rekey';
    snsClient();
  });
  afterEach(() => {
    delete process.env.NOTIFICATION_TOPIC_ARN;
  });

  it('says OLD KEY KEPT in the subject and why in the body', async () => {
    const output = {
      rotationId: 'rk05e5c03bc0',
      sourceDbInstanceIdentifier: 'orders-db',
      oldKeyArn: OLD_KEY,
      newKeyArn: NEW_KEY,
      oldKey: { state: 'Retained', reason: 'the key also encrypts reports-db' },
    };
    const kept = await notify({ event: 'succeeded', executionId: EXECUTION.Id, state: { output } as never });
    expect(kept.subject).toBe('[Rekey] orders-db: rotation succeeded, OLD KEY KEPT');
    const body = String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message);
    expect(body).toContain(
      `OLD KEY KEPT: ${OLD_KEY} was not scheduled for deletion. Why: the key also encrypts reports-db.`,
    );
    const deleted = await notify({
      event: 'succeeded',
      executionId: EXECUTION.Id,
      state: {
        output: { ...output, oldKey: { state: 'PendingDeletion', deletionDate: '2026-11-29' } },
      } as never,
    });
    expect(deleted.subject).toBe('[Rekey] orders-db: succeeded');
  });
});
