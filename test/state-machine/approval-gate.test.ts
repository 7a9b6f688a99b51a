import { CreateTopicCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import type { RotationOutput } from '#domain/output.js';
import { snsClient } from '#features/notifications/messages.js';
import type { ApprovalDecider, ApprovalRequest } from '../../cli/approval-gate.js';
import { seedSample } from '../../cli/seed.js';
import { installBlueGreenFake } from '../support/blue-green-fake.js';
import { useEmulator } from '../support/emulator.js';
import { emulatorState } from '../support/emulator-state.js';
import { executionInput } from '../support/events.js';
import {
  captureBaseline,
  cnameValue,
  compensationProblems,
  heldLocks,
  runRotation,
} from '../support/rotation.js';

/**
 * The approval gate (WaitForApproval) and the SNS notifications, on the real ASL and handlers over
 * the emulator. The runner serves the gate's task token (aws-local-stepfunctions has none); every
 * SNS Publish goes to the emulator's topic and is captured on its way there.
 */

const CONSOLE =
  'https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/';

interface Published {
  input: PublishCommandInput;
  messageId?: string;
}

/** Captures every Publish the notification client sends, with the MessageId the emulator answered. */
const watchPublishes = (fail = false) => {
  const published: Published[] = [];
  const client = snsClient();
  const name = `watch-publish-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PublishCommand') return next(args);
      const input = args.input as PublishCommandInput;
      if (fail) throw Object.assign(new Error('SNS is down'), { name: 'InternalErrorException' });
      const result = await next(args);
      published.push({ input, messageId: (result.output as { MessageId?: string }).MessageId });
      return result;
    },
    { step: 'initialize', name },
  );
  return { published, remove: () => client.middlewareStack.remove(name) };
};

/** The gate just before the cutover, on request (with writeFreeze "stop" the default is before any change). */
const withApproval = (timeoutMinutes = 240) => ({
  ...executionInput('break-glass'),
  approval: { required: true, at: 'before-cutover', timeoutMinutes },
});

/** The default with the freeze: approval before anything changes. */
const withEarlyApproval = (timeoutMinutes = 240) => ({
  ...executionInput('break-glass'),
  approval: { required: true, timeoutMinutes },
});

/** What the source and the rotation's traces look like while the gate waits. */
const whileWaiting = async (sample: { dbInstanceIdentifier: string }) => ({
  source: (await findInstance(getClients().rds, sample.dbInstanceIdentifier))?.DBInstanceStatus,
  state: await emulatorState(),
});

describe('the approval gate and the notifications', () => {
  useEmulator();
  let topicArn = '';
  let watch: ReturnType<typeof watchPublishes> | undefined;
  beforeEach(async () => {
    ({ TopicArn: topicArn = '' } = await snsClient().send(new CreateTopicCommand({ Name: 'rekey' })));
  });
  afterEach(() => {
    watch?.remove();
    watch = undefined;
  });

  it('by default with writeFreeze "stop" the gate comes before anything changes: the source runs while it waits, then the rotation completes', async () => {
    // Prepare
    const sample = await seedSample();
    const before = await emulatorState();
    watch = watchPublishes();
    let seen: Awaited<ReturnType<typeof whileWaiting>> | undefined;

    // Act
    const result = await runRotation({
      input: withEarlyApproval(),
      executionName: 'gate-early-approve',
      approval: async () => {
        seen = await whileWaiting(sample);
        return { approve: true, by: 'alice' };
      },
      notificationTopicArn: topicArn,
    });

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    const order = result.timings.map((t) => t.state);
    expect(order.indexOf('AcquireLock')).toBeLessThan(order.indexOf('WaitForApproval'));
    expect(order.indexOf('WaitForApproval')).toBeLessThan(order.indexOf('CreateKey'));
    expect(order.indexOf('WaitForApproval')).toBeLessThan(order.indexOf('StopSource'));
    expect(order.filter((state) => state === 'WaitForApproval')).toHaveLength(1);
    // While it waited: the source available, nothing created, only the rotation's lock taken.
    expect(seen?.source).toBe('available');
    expect(seen?.state.filter((line) => !line.startsWith('lock '))).toEqual(
      before.filter((line) => !line.startsWith('lock ')),
    );
    const output = (result as { output: RotationOutput }).output;
    expect(output.approval).toMatchObject({ required: true, approvedBy: 'alice' });
    expect(await cnameValue(sample)).toBe(output.newEndpoint.address);
    const request =
      watch.published.find((p) => p.input.Subject?.endsWith('waiting for approval'))?.input.Message ?? '';
    expect(request).toContain('before it changes anything');
    expect(request).toContain('orders-db is stopped (writeFreeze "stop")');
    expect(request).not.toContain('has been stopped since');
  });

  it.each([
    [
      'a rejection',
      async () => ({ reject: 'not during the sale', by: 'bob' }) as const,
      'ApprovalRejected',
      'Approval rejected by bob: not during the sale. The rotation stopped before it changed anything',
    ],
    [
      'no decision in time',
      async () => 'timeout' as const,
      'States.Timeout',
      'No decision within 240 minutes on the approval request (WaitForApproval timed out), so the rotation was called off before it changed anything',
    ],
  ])(
    '%s at the early gate leaves the source running and untouched, and creates nothing',
    async (_case, decide, error, sentence) => {
      // Prepare
      const sample = await seedSample();
      const before = await emulatorState();
      let seen: Awaited<ReturnType<typeof whileWaiting>> | undefined;

      // Act
      const result = await runRotation({
        input: withEarlyApproval(),
        executionName: 'gate-early-no',
        approval: async () => {
          seen = await whileWaiting(sample);
          return decide();
        },
      });

      // Assess
      expect(result).toMatchObject({ status: 'FAILED', error });
      const cause = (result as { cause: string }).cause;
      expect(cause).toContain(sentence);
      expect(cause).toContain('Nothing was changed in AWS.');
      expect(seen?.source).toBe('available');
      const order = result.timings.map((t) => t.state);
      for (const step of ['CreateKey', 'StopSource', 'SnapshotSource', 'Cutover'])
        expect(order).not.toContain(step);
      // Everything as before, the lock released (the emulator state lists every key, instance, snapshot, record and lock).
      expect(await emulatorState()).toEqual(before);
      expect(await heldLocks()).toEqual([]);
      expect(await cnameValue(sample)).toBe(sample.endpointAddress);
    },
  );

  it('approve: the rotation cuts over, the output says who approved when, and three messages go out (started, waiting for approval, succeeded)', async () => {
    // Prepare
    const sample = await seedSample();
    watch = watchPublishes();
    const requests: ApprovalRequest[] = [];
    const approve: ApprovalDecider = async (request) => {
      requests.push(request);
      return { approve: true, by: 'alice' };
    };

    // Act
    const result = await runRotation({
      input: withApproval(),
      executionName: 'gate-approve',
      approval: approve,
      notificationTopicArn: topicArn,
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: RotationOutput }).output;
    expect(output.approval).toMatchObject({ required: true, approvedBy: 'alice' });
    expect(Date.parse(String((output.approval as { approvedAt: string }).approvedAt))).not.toBeNaN();
    expect(await cnameValue(sample)).toBe(output.newEndpoint.address);
    // The request came once, after validation, before the cutover.
    expect(requests).toHaveLength(1);
    const order = result.timings.map((t) => t.state);
    expect(order.indexOf('ValidateInstance')).toBeLessThan(order.indexOf('WaitForApproval'));
    expect(order.indexOf('WaitForApproval')).toBeLessThan(order.indexOf('Cutover'));

    const subjects = watch.published.map((p) => p.input.Subject);
    expect(subjects).toEqual([
      '[Rekey] orders-db: rotation started',
      '[Rekey] orders-db: waiting for approval',
      '[Rekey] orders-db: succeeded',
    ]);
    for (const { input, messageId } of watch.published) {
      expect(input.TopicArn).toBe(topicArn);
      expect(messageId, 'the emulator accepted the message').toBeTruthy();
      expect(input.Message).toContain(`${CONSOLE}${result.executionArn}`);
      expect((input.Subject ?? '').length).toBeLessThanOrEqual(100);
    }
    const request = watch.published[1]?.input.Message ?? '';
    expect(request).toContain(`npx rekey approve ${result.executionArn}`);
    expect(request).toContain(`npx rekey reject ${result.executionArn} --reason`);
    expect(request).toContain(`send-task-success --task-token 'local-task-token-gate-approve'`);
    expect(request).toContain('send-task-failure');
    expect(request).toContain('--error ApprovalRejected');
    expect(request).toContain('Validation passed');
    expect(request).toContain(`CNAME ${sample.recordName}`);
    expect(request).toMatch(/Decide by \d{4}-\d\d-\d\dT/);
    const success = watch.published[2]?.input.Message ?? '';
    expect(success).toContain(`${sample.oldKeyArn} -> ${output.newKeyArn}`);
    expect(success).toContain('scheduled for deletion on');
    expect(success).toContain('Approved by: alice');
  });

  it('reject: nothing is cut over, everything is undone, and the cause names who rejected and why', async () => {
    // Prepare
    const sample = await seedSample();
    const baseline = await captureBaseline(sample);
    watch = watchPublishes();

    // Act
    const result = await runRotation({
      input: withApproval(),
      executionName: 'gate-reject',
      approval: async () => ({ reject: 'change freeze until Friday', by: 'bob' }),
      notificationTopicArn: topicArn,
    });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('Approval rejected by bob: change freeze until Friday.');
    expect(cause).toContain('Undone:');
    expect(cause).toContain('started orders-db again');
    expect(await compensationProblems(baseline, cause)).toEqual([]);
    expect(await heldLocks()).toEqual([]);
    expect(result.timings.map((t) => t.state)).not.toContain('Cutover');

    const failed = watch.published.at(-1);
    expect(failed?.input.Subject).toBe('[Rekey] orders-db: FAILED (ApprovalRejected)');
    expect(failed?.input.Message).toContain('Approval rejected by bob');
    expect(failed?.input.Message).toContain(`${CONSOLE}${result.executionArn}`);
  });

  it('timeout: no decision within the window rolls everything back, and the cause says so', async () => {
    // Prepare
    const sample = await seedSample();
    const baseline = await captureBaseline(sample);

    // Act
    const result = await runRotation({
      input: withApproval(30),
      executionName: 'gate-timeout',
      approval: async () => 'timeout',
      notificationTopicArn: topicArn,
    });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('No decision within 30 minutes');
    expect(await compensationProblems(baseline, cause)).toEqual([]);
    expect(await heldLocks()).toEqual([]);
  });

  it('a local run with approval required and no decider fails into a full rollback instead of hanging', async () => {
    // Prepare
    const sample = await seedSample();
    const baseline = await captureBaseline(sample);

    // Act
    const result = await runRotation({ input: withApproval(), executionName: 'gate-nobody' });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('--approve');
    expect(await compensationProblems(baseline, cause)).toEqual([]);
  });

  it('no approval asked (break glass): no WaitForApproval, and the decider is never called', async () => {
    // Prepare
    await seedSample();
    let asked = 0;

    // Act
    const result = await runRotation({
      input: executionInput('break-glass'),
      executionName: 'gate-none',
      approval: async () => {
        asked++;
        return { approve: true, by: 'nobody' };
      },
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(asked).toBe(0);
    expect(result.timings.map((t) => t.state)).not.toContain('WaitForApproval');
    expect((result as { output: RotationOutput }).output.approval).toEqual({ required: false });
  });

  it('the scheduled input (ScheduleRequiresApproval "true") is wrapped by the schedule and pauses for approval', async () => {
    // Prepare: what the RotationSchedule target sends (template.yaml), with its time filled in.
    const sample = await seedSample();
    const scheduled = {
      ...executionInput('scheduled-rotation'),
      cutover: { type: 'cname', hostedZoneId: sample.hostedZoneId, recordName: sample.recordName },
      idempotencyKey: '2026-03-10T06:00:00Z',
    };
    delete (scheduled as { approval?: unknown }).approval;
    const input = { rotation: scheduled, scheduleDefaults: { approval: { required: true } } };
    let asked = 0;

    // Act
    const result = await runRotation({
      input,
      executionName: 'gate-scheduled',
      approval: async () => {
        asked++;
        return { approve: true, by: 'platform-oncall' };
      },
    });

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    expect(asked).toBe(1);
    // A scheduled rotation asks before it stops the database, not with the database stopped.
    const order = result.timings.map((t) => t.state);
    expect(order.indexOf('WaitForApproval')).toBeLessThan(order.indexOf('StopSource'));
  });

  it('Blue/Green: the gate stands before the switchover; a rejection deletes the green and leaves the blue serving', async () => {
    // Prepare
    const sample = await seedSample();
    const fake = installBlueGreenFake();
    try {
      // Act
      const result = await runRotation({
        input: { ...executionInput('blue-green'), approval: { required: true } },
        executionName: 'gate-bg',
        approval: async () => ({ reject: 'not today', by: 'carol' }),
      });

      // Assess
      expect(result).toMatchObject({ status: 'FAILED', error: 'ApprovalRejected' });
      const cause = (result as { cause: string }).cause;
      expect(cause).toContain('Approval rejected by carol: not today.');
      expect(cause).toContain('No switchover happened');
      const order = result.timings.map((t) => t.state);
      expect(order).toContain('WaitForApproval');
      expect(order).not.toContain('Switchover');
      expect(await cnameValue(sample)).toBe(sample.endpointAddress);
    } finally {
      fake.remove();
    }
  });

  it('notification failures never change the result: SNS down, the rotation still succeeds', async () => {
    // Prepare
    await seedSample();
    watch = watchPublishes(true);

    // Act
    const result = await runRotation({
      input: withApproval(),
      executionName: 'gate-sns-down',
      approval: async () => ({ approve: true, by: 'alice' }),
      notificationTopicArn: topicArn,
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    expect(watch.published).toEqual([]);
  });
});
