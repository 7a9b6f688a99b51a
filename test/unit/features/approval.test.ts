import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { approvalFailureMessage, neverCutOver, planApproval } from '#domain/approval.js';
import { parseRotationInput } from '#domain/input.js';
import { APPROVAL_MINUTES } from '#domain/limits.js';
import type { InstanceState } from '#domain/state.js';
import { requestApproval } from '#features/approval/request-approval.js';
import { consoleLink, subjectFor } from '#features/notifications/messages.js';
import { notify } from '#features/notifications/notify.js';
import { deciderFromFlags } from '../../../cli/approval-gate.js';
import { executionInput, stepEvent } from '../../support/events.js';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:rekey';
const ARN = 'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-instance:inc-4711';

/** The state WaitForApproval receives: validated, with a gate of 60 minutes. */
const gateState = (): InstanceState => {
  const state = stepEvent('cutover');
  state.plan.executionId = ARN;
  state.plan.approval = { required: true, requested: true, timeoutSeconds: 3600 };
  return state;
};

describe('approval input', () => {
  it(`accepts approval with the default timeout of ${APPROVAL_MINUTES.default} minutes`, () => {
    // Act
    const request = parseRotationInput({ ...executionInput('break-glass'), approval: { required: true } });

    // Assess
    expect(request.approval).toEqual({ required: true, timeoutMinutes: APPROVAL_MINUTES.default });
  });

  it.each([
    [{ required: 'yes' }, 'approval.required: must be true or false'],
    [{}, 'approval.required: is required'],
    [
      { required: true, timeoutMinutes: APPROVAL_MINUTES.min - 1 },
      `approval.timeoutMinutes: must be at least ${APPROVAL_MINUTES.min} minutes`,
    ],
    [
      { required: true, timeoutMinutes: APPROVAL_MINUTES.max + 1 },
      `approval.timeoutMinutes: must be at most ${APPROVAL_MINUTES.max} minutes`,
    ],
    [{ required: true, timeoutMinutes: 30.5 }, 'approval.timeoutMinutes: must be a whole number'],
    [{ required: true, timeout: 30 }, 'unknown field "timeout" in approval'],
    [true, 'approval: must be an object'],
  ])('refuses approval %j naming the field', (approval, message) => {
    // Act + Assess
    expect(() => parseRotationInput({ ...executionInput('break-glass'), approval })).toThrow(message);
  });

  it('plans the gate in seconds, and none for a snapshot rotation with cutover "none" (with a note)', () => {
    // Prepare
    const withCname = parseRotationInput({
      ...executionInput('break-glass'),
      approval: { required: true, timeoutMinutes: 30 },
    });
    const withNone = parseRotationInput({
      ...executionInput('break-glass'),
      cutover: { type: 'none' },
      approval: { required: true },
    });

    // Act + Assess: with the freeze (stopsSource), the gate comes before any change by default.
    expect(planApproval(withCname, 'snapshot', true)).toEqual({
      approval: { required: true, requested: true, timeoutSeconds: 1800, at: 'before-changes' },
      note: null,
    });
    expect(planApproval(withCname, 'snapshot', false).approval.at).toBe('before-cutover');
    expect(planApproval(withCname, 'blue-green', false).approval.at).toBe('before-cutover');
    // Before the cutover, cutover "none" leaves nothing to approve; before the freeze it does.
    const none = planApproval(
      {
        ...withNone,
        approval: { ...withNone.approval, required: true, timeoutMinutes: 240, at: 'before-cutover' },
      },
      'snapshot',
      true,
    );
    expect(none.approval.required).toBe(false);
    expect(none.note).toContain('cutover "none"');
    expect(planApproval(withNone, 'snapshot', false).approval.required).toBe(false);
    expect(planApproval(withNone, 'snapshot', true).approval).toMatchObject({
      required: true,
      at: 'before-changes',
    });
    expect(planApproval(withNone, 'blue-green', false).approval.required).toBe(true);
  });

  it('keeps the pre-cutover gate on request, and notes that the stopped source then waits with it', () => {
    // Prepare
    const request = parseRotationInput({
      ...executionInput('break-glass'),
      approval: { required: true, at: 'before-cutover', timeoutMinutes: 90 },
    });

    // Act
    const planned = planApproval(request, 'snapshot', true);

    // Assess
    expect(planned.approval).toMatchObject({ required: true, at: 'before-cutover' });
    expect(planned.note).toBe(
      'approval.at is "before-cutover": the source stays stopped while the rotation waits for approval (up to 90 minutes).',
    );
  });

  it('refuses an unknown gate position, naming both and the default', () => {
    // Act + Assess
    expect(() =>
      parseRotationInput({
        ...executionInput('break-glass'),
        approval: { required: true, at: 'before-freeze' },
      }),
    ).toThrow(
      /approval\.at: must be "before-changes" \(ask before the rotation changes anything: no key created, the database not stopped\) or "before-cutover" .*leave it out for "before-changes" when writes are frozen .*\(given: "before-freeze"\)/,
    );
  });
});

describe('the approval request message (RequestApproval)', () => {
  beforeEach(() => {
    sns.reset();
    process.env.NOTIFICATION_TOPIC_ARN = TOPIC;
  });
  afterAll(() => {
    delete process.env.NOTIFICATION_TOPIC_ARN;
  });

  it('says what happens, how to approve or reject (rekey CLI and raw AWS CLI), the deadline and the link', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const state = gateState();

    // Act
    const result = await requestApproval({
      taskToken: "tok'en",
      state,
      requestedAt: '2026-03-10T06:00:00.000Z',
    });

    // Assess
    expect(result).toMatchObject({ published: true, deadline: '2026-03-10T07:00:00.000Z' });
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.TopicArn).toBe(TOPIC);
    expect(input?.Subject).toBe(`[Rekey] ${state.plan.target.identifier}: waiting for approval`);
    const message = input?.Message ?? '';
    expect(message).toContain(`npx rekey approve ${ARN}`);
    expect(message).toContain(`npx rekey reject ${ARN} --reason "..."`);
    expect(message).toContain(`aws stepfunctions send-task-success --task-token 'tok'\\''en'`);
    expect(message).toContain('aws stepfunctions send-task-failure');
    expect(message).toContain('--error ApprovalRejected');
    expect(message).toContain('Decide by 2026-03-10T07:00:00.000Z (60 minutes');
    expect(message).toContain(`New key: ${state.newKey?.keyArn}`);
    expect(message).toContain('Validation passed');
    expect(message).toContain(consoleLink(ARN));
    expect(consoleLink(ARN)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${ARN}`,
    );
  });

  it('does not fail when SNS refuses: the operator can still approve from the execution history', async () => {
    // Prepare
    sns
      .on(PublishCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }));

    // Act
    const result = await requestApproval({ taskToken: 't', state: gateState() });

    // Assess
    expect(result).toMatchObject({ published: false, error: 'AuthorizationErrorException: denied' });
  });
});

describe('notifications (Notify)', () => {
  beforeEach(() => {
    sns.reset();
    process.env.NOTIFICATION_TOPIC_ARN = TOPIC;
  });

  it('keeps subjects ASCII, at most 100 characters, the event always visible', () => {
    // Act
    const long = subjectFor(`db-${'x'.repeat(150)}`, 'failed', 'ValidationFailedError');

    // Assess
    expect(subjectFor('orders-db', 'started')).toBe('[Rekey] orders-db: rotation started');
    expect(subjectFor('orders-db', 'failed', 'ValidationFailedError')).toBe(
      '[Rekey] orders-db: FAILED (ValidationFailedError)',
    );
    expect(long.length).toBeLessThanOrEqual(100);
    expect(long.endsWith(': FAILED (ValidationFailedError)')).toBe(true);
    expect(subjectFor('ördérs\ndb', 'succeeded')).toBe('[Rekey] orders db: succeeded');
  });

  it('a failure message carries the error, the rollback cause, what was undone and the link', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    const state = {
      ...gateState(),
      failure: { Error: 'ValidationFailedError', Cause: '{}' },
      rollback: {
        done: true,
        undone: ['started orders-db again'],
        leftBehind: [],
        cause: 'The new instance is under the wrong key. Undone: started orders-db again.',
      },
    };

    // Act
    const result = await notify({ event: 'failed', executionId: ARN, state });

    // Assess
    expect(result.published).toBe(true);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.Subject).toBe(`[Rekey] ${state.plan.target.identifier}: FAILED (ValidationFailedError)`);
    expect(input?.Message).toContain('The new instance is under the wrong key');
    expect(input?.Message).toContain('- started orders-db again');
    expect(input?.Message).toContain(consoleLink(ARN));
  });

  it('says in the start message where the gate stands: before anything changes, or before the cutover', async () => {
    // Prepare
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const early = gateState();
    early.plan.approval = { required: true, requested: true, timeoutSeconds: 3600, at: 'before-changes' };

    // Act
    await notify({ event: 'started', executionId: ARN, state: early });
    await notify({ event: 'started', executionId: ARN, state: gateState() });

    // Assess
    const [first, second] = sns.commandCalls(PublishCommand).map((call) => call.args[0].input.Message ?? '');
    expect(first).toContain('Approval: required before anything changes (the new key, the freeze)');
    expect(second).toContain('Approval: required before the cutover');
  });

  it('never throws when publishing fails, and without a topic only logs', async () => {
    // Prepare
    sns.on(PublishCommand).rejects(new Error('SNS is down'));

    // Act
    const failed = await notify({ event: 'started', executionId: ARN, state: gateState() });
    delete process.env.NOTIFICATION_TOPIC_ARN;
    const unconfigured = await notify({ event: 'started', executionId: ARN, state: gateState() });

    // Assess
    expect(failed).toMatchObject({ published: false });
    expect(unconfigured).toMatchObject({ published: false, error: 'NOTIFICATION_TOPIC_ARN is not set' });
  });
});

describe('the rollback cause after the gate', () => {
  it('names who rejected and why (JSON cause or plain text), or the timeout in minutes', () => {
    // Prepare
    const rejected = {
      ...gateState(),
      approval: { approved: false },
      failure: { Error: 'ApprovalRejected', Cause: '{"reason":"not now","rejectedBy":"bob"}' },
    };
    const plain = { ...rejected, failure: { Error: 'ApprovalRejected', Cause: 'change freeze' } };
    const timedOut = { ...rejected, failure: { Error: 'States.Timeout', Cause: '' } };

    // Act + Assess
    expect(approvalFailureMessage(rejected)).toMatch(/^Approval rejected by bob: not now\./);
    expect(approvalFailureMessage(plain)).toMatch(/^Approval rejected by an operator .*: change freeze\./);
    expect(approvalFailureMessage(timedOut)).toMatch(/^No decision within 60 minutes/);
    expect(neverCutOver(rejected)).toBe(true);
    expect(neverCutOver({ ...gateState(), approval: { approvedBy: 'alice', approvedAt: 'now' } })).toBe(
      false,
    );
  });
});

describe('rekey run --approve / --reject', () => {
  it('refuses an input that asks for approval without a decision, before anything runs', () => {
    // Act
    const refused = deciderFromFlags({ approval: { required: true } }, {});
    const both = deciderFromFlags({}, { approve: true, reject: true, reason: 'x' });
    const noReason = deciderFromFlags({}, { reject: true });
    const strayReason = deciderFromFlags({}, { approve: true, reason: 'x' });

    // Assess
    expect(refused.problem).toContain('--approve');
    expect(both.problem).toContain('not both');
    expect(noReason.problem).toBe('--reject needs --reason "<why>": the reason is kept as evidence.');
    expect(strayReason.problem).toBe('--reason goes with --reject (an approval needs no reason).');
    expect(deciderFromFlags({ approval: { required: false } }, {})).toEqual({});
  });

  it('refuses a fleet input that asks for approval ("fleet" or "per-database") without a decision', async () => {
    // Prepare
    const fleetInput = (approval: string) => ({
      fleet: { select: { keyOlderThanDays: 0 }, approval },
      reason: 'annual rotation 2027',
    });

    // Act
    const once = deciderFromFlags(fleetInput('fleet'), {});
    const each = deciderFromFlags(fleetInput('per-database'), {});
    const approved = deciderFromFlags(fleetInput('fleet'), { approve: true, by: 'alice' });

    // Assess
    expect(once.problem).toBe(
      'the input asks for approval (fleet.approval "fleet"), and a local run cannot wait for one: add --approve, or ' +
        '--reject --reason "<why>" to rehearse a rejection, or start it on the deployed stack and approve it with ./bin/rekey.mjs approve.',
    );
    expect(each.problem).toContain('(fleet.approval "per-database")');
    expect(deciderFromFlags(fleetInput('none'), {})).toEqual({});
    expect(approved.problem).toBeUndefined();
    expect(await approved.decider?.({} as never)).toEqual({ approve: true, by: 'alice' });
  });

  it('decides as the flags say', async () => {
    // Act
    const approve = deciderFromFlags({}, { approve: true, by: 'alice' }).decider;
    const reject = deciderFromFlags({}, { reject: true, reason: ' no ', by: 'bob' }).decider;

    // Assess
    expect(await approve?.({} as never)).toEqual({ approve: true, by: 'alice' });
    expect(await reject?.({} as never)).toEqual({ reject: 'no', by: 'bob' });
  });
});
