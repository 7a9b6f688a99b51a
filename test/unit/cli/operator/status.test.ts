import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { summarizeExecution } from '../../../../cli/operator/progress.js';
import { type HistoryFixture, historyFixture, runCli } from '../../../support/operator-cli.js';

const sfn = mockClient(SFNClient);
const cloudformation = mockClient(CloudFormationClient);

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:rekey-RotateInstance';
const arnOf = (fixture: HistoryFixture) => fixture.execution.executionArn as string;

const serve = (fixture: HistoryFixture) => {
  sfn.on(DescribeExecutionCommand).resolves(fixture.execution);
  sfn.on(GetExecutionHistoryCommand).resolves({ events: fixture.events });
};

describe('rekey status', () => {
  beforeEach(() => {
    sfn.reset();
    cloudformation.reset();
  });

  it('shows a running rotation: every step so far with its time, the current step, the progress of the snapshot path', async () => {
    // Prepare
    const fixture = historyFixture('running');
    serve(fixture);

    // Act
    const result = await runCli(['status', arnOf(fixture)]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Status     RUNNING: CopySnapshot\n');
    expect(result.stdout).toContain('Started    2026-11-22T09:00:00.000Z (31m 00s so far)\n');
    // CheckStart Preflight AcquireLock CreateKey StopSource SnapshotSource done; of 15 (cname cutover).
    expect(result.stdout).toContain('Progress   [############------------------] 6/15 steps (40%)\n');
    expect(result.stdout).toContain('  done     StopSource      1m 35s\n');
    expect(result.stdout).toContain('  done     SnapshotSource  6m 09s\n');
    expect(result.stdout).toContain('  running  CopySnapshot    23m 06s so far\n');
    expect(result.stdout).toContain(
      'Console    https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:111122223333:execution:rekey-RotateInstance:orders-db-20261122-0900\n',
    );
    expect(result.stdout).toContain(`Follow it: ./bin/rekey.mjs status ${arnOf(fixture)} --watch\n`);
    expect(result.stdout).not.toMatch(/Choice|Done\?|WaitFor|Prepare/);
    // The Region comes from the ARN, no stack lookup is needed for an ARN.
    expect(await sfn.call(0).thisValue.config.region()).toBe('eu-west-1');
    expect(cloudformation).not.toHaveReceivedAnyCommand();
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: arnOf(fixture) });
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: arnOf(fixture),
      reverseOrder: false,
    });
  });

  it('says a rotation waits for approval and prints the approve and reject commands', async () => {
    // Prepare
    const fixture = historyFixture('waiting-for-approval');
    serve(fixture);

    // Act
    const human = await runCli(['status', arnOf(fixture)]);
    const json = await runCli(['status', arnOf(fixture), '--json']);

    // Assess
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      'Status     WAITING FOR APPROVAL: nothing changes until someone approves or rejects\n',
    );
    expect(human.stdout).toContain('  WAITING  WaitForApproval    5m 35s so far\n');
    expect(human.stdout).toContain(`  Approve: ./bin/rekey.mjs approve ${arnOf(fixture)}\n`);
    expect(human.stdout).toContain(`  Reject:  ./bin/rekey.mjs reject ${arnOf(fixture)} --reason "<why>"\n`);
    const document = JSON.parse(json.stdout);
    expect(document).toMatchObject({
      status: 'RUNNING',
      waitingForApproval: true,
      currentStep: 'WaitForApproval',
      path: 'snapshot',
      progress: { completed: 10, expected: 16 },
      next: { approve: `./bin/rekey.mjs approve ${arnOf(fixture)}` },
    });
  });

  it('shows a failed rotation with the failed step, the error and the cause, and exits 1', async () => {
    // Prepare
    const fixture = historyFixture('failed');
    serve(fixture);

    // Act
    const result = await runCli(['status', arnOf(fixture)]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Status     FAILED at RestoreInstance\n');
    expect(result.stdout).toContain('  FAILED   RestoreInstance          1m 03s  (1 failed attempt)\n');
    expect(result.stdout).toContain('  done     Rollback                 1m 04s\n');
    expect(result.stdout).toContain('  done     ReleaseLockAfterFailure  1s\n');
    expect(result.stdout).toContain('Error: ResourceFailedError\n');
    expect(result.stdout).toContain(
      'Cause: RestoreInstance failed: the new instance orders-db-rk3f9a0c1d2e went to status incompatible-parameters. Undone:',
    );
    expect(result.stdout).toContain('Progress   [##############----------------] 7/15 steps (47%)\n');
  });

  it('shows a finished Blue/Green rotation at 100% of the Blue/Green path, and exits 0', async () => {
    // Prepare
    const fixture = historyFixture('succeeded-blue-green');
    serve(fixture);

    // Act
    const result = await runCli(['status', arnOf(fixture), '--json']);

    // Assess
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({
      status: 'SUCCEEDED',
      closed: true,
      path: 'blue-green',
      progress: { completed: 11, expected: 11 },
      elapsedMs: 1830670,
      stoppedAt: '2026-11-22T09:30:30.670Z',
      next: {},
    });
    expect(document.steps.map((step: { name: string }) => step.name)).toEqual([
      'CheckStart',
      'Preflight',
      'AcquireLock',
      'CreateKey',
      'CreateGreen',
      'ValidateGreen',
      'Switchover',
      'RetireBlue',
      'RetireKey',
      'ReleaseLock',
      'Summarize',
    ]);
    expect(document.steps[4]).toMatchObject({
      name: 'CreateGreen',
      outcome: 'succeeded',
      elapsedMs: 1228620,
    });
  });

  it('reads every page of the history, oldest first', async () => {
    // Prepare
    const fixture = historyFixture('running');
    sfn.on(DescribeExecutionCommand).resolves(fixture.execution);
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: fixture.events.slice(0, 100), nextToken: 'page-2' })
      .resolvesOnce({ events: fixture.events.slice(100) });

    // Act
    const result = await runCli(['status', arnOf(fixture), '--json']);

    // Assess
    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    expect(sfn).toHaveReceivedLastCommandWith(GetExecutionHistoryCommand, {
      executionArn: arnOf(fixture),
      reverseOrder: false,
      nextToken: 'page-2',
    });
    expect(JSON.parse(result.stdout).currentStep).toBe('CopySnapshot');
  });

  it('finds an execution by name on the stack’s state machine', async () => {
    // Prepare
    const fixture = historyFixture('running');
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'rekey-prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }],
        },
      ],
    });
    serve(fixture);

    // Act
    const result = await runCli(['status', 'orders-db-20261122-0900', '--stack', 'rekey-prod', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(cloudformation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'rekey-prod' });
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:orders-db-20261122-0900`,
    });
  });

  it('says what to check when the execution does not exist, on stderr with exit code 1', async () => {
    // Prepare
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));

    // Act
    const result = await runCli([
      'status',
      'arn:aws:states:eu-west-1:111122223333:execution:rekey-RotateInstance:nope',
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^rekey status: Execution Does Not Exist\. Check the execution name or ARN/,
    );
    expect(JSON.parse(result.stdout)).toEqual({
      error: { name: 'OperatorError', message: expect.stringContaining('rekey history') },
    });
  });

  it('refuses an execution name with characters Step Functions does not allow, as a usage error', async () => {
    // Act
    const result = await runCli(['status', 'orders db!']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"orders db!" is neither an execution ARN nor an execution name');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

describe('rekey status --watch', () => {
  beforeEach(() => {
    sfn.reset();
  });

  it('polls every --interval seconds until the execution fails, prints each change, and exits 1', async () => {
    // Prepare
    const running = historyFixture('running');
    const failed = historyFixture('failed');
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce(running.execution)
      .resolvesOnce(running.execution)
      .resolves(failed.execution);
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: running.events.slice(0, 70) })
      .resolvesOnce({ events: running.events })
      .resolves({ events: failed.events });

    // Act
    const result = await runCli(['status', arnOf(running), '--watch', '--interval', '5']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.sleeps).toEqual([5000, 5000]);
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 3);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^09:31:00 {2}RUNNING: SnapshotSource {2}\[#{7}-{13}\] 5\/15 steps \(33%\)/);
    expect(lines[1]).toMatch(/^09:31:00 {2}RUNNING: CopySnapshot {2}\[#{8}-{12}\] 6\/15 steps \(40%\)/);
    expect(result.stdout).toContain('Status     FAILED at RestoreInstance\n');
    expect(result.stdout).toContain('Cause: RestoreInstance failed');
  });

  it('with --json prints one document when the execution ends, progress lines on stderr', async () => {
    // Prepare
    const running = historyFixture('running');
    const done = historyFixture('succeeded-blue-green');
    sfn.on(DescribeExecutionCommand).resolvesOnce(running.execution).resolves(done.execution);
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: running.events })
      .resolves({ events: done.events });

    // Act
    const result = await runCli(['status', arnOf(running), '--watch', '--interval', '1', '--json']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.sleeps).toEqual([1000]);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      progress: { completed: 11, expected: 11 },
    });
    expect(result.stderr).toContain('RUNNING: CopySnapshot');
  });

  it('redraws the whole screen on a terminal', async () => {
    // Prepare
    const running = historyFixture('running');
    const done = historyFixture('succeeded-blue-green');
    sfn.on(DescribeExecutionCommand).resolvesOnce(running.execution).resolves(done.execution);
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: running.events })
      .resolves({ events: done.events });

    // Act
    const result = await runCli(['status', arnOf(running), '--watch'], { isTTY: true });

    // Assess
    expect(result.sleeps).toEqual([15000]);
    expect(result.stdout.split('\x1b[2J\x1b[H')).toHaveLength(3);
    expect(result.stdout).toContain('Ctrl-C stops watching, not the rotation.');
  });

  it('keeps watching through a failed poll, and gives up after three in a row', async () => {
    // Prepare
    const running = historyFixture('running');
    sfn.on(DescribeExecutionCommand).resolvesOnce(running.execution).rejects(new Error('socket hang up'));
    sfn.on(GetExecutionHistoryCommand).resolves({ events: running.events });

    // Act
    const result = await runCli(['status', arnOf(running), '--watch', '--interval', '2']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.sleeps).toEqual([2000, 2000, 2000]);
    expect(result.stderr).toContain('Could not read the execution (socket hang up); trying again in 2s.');
    expect(result.stderr).toContain('rekey status: Error: socket hang up');
  });

  it('refuses a zero interval as a usage error', async () => {
    // Act
    const result = await runCli(['status', 'x', '--watch', '--interval', '0']);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--interval must be a whole number of 1 or more.');
  });
});

describe('the progress of an execution', () => {
  it('shows an event-driven wait as part of its step, and its timeout as no failed attempt', () => {
    // Prepare: StopSource checks, AwaitStopSource times out (the fallback), StopSource checks again.
    const fixture = historyFixture('running');
    const t = (s: number) => new Date(Date.parse('2026-11-22T09:00:00.000Z') + s * 1000);
    const events = [
      { id: 1, type: 'ExecutionStarted' as const, timestamp: t(0) },
      {
        id: 2,
        type: 'TaskStateEntered' as const,
        timestamp: t(1),
        stateEnteredEventDetails: { name: 'StopSource' },
      },
      {
        id: 3,
        type: 'TaskStateExited' as const,
        timestamp: t(2),
        stateExitedEventDetails: { name: 'StopSource' },
      },
      {
        id: 4,
        type: 'TaskStateEntered' as const,
        timestamp: t(2),
        stateEnteredEventDetails: { name: 'AwaitStopSource' },
      },
      { id: 5, type: 'TaskTimedOut' as const, timestamp: t(62) },
      {
        id: 6,
        type: 'TaskStateEntered' as const,
        timestamp: t(62),
        stateEnteredEventDetails: { name: 'StopSource' },
      },
    ];
    const execution = {
      executionArn: arnOf(fixture),
      name: 'n',
      stateMachineArn: null,
      status: 'RUNNING',
      startDate: t(0),
      stopDate: null,
      input: JSON.parse(fixture.execution.input as string),
      error: null,
      cause: null,
    };

    // Act
    const view = summarizeExecution(execution, events, t(70));

    // Assess
    expect(view.steps.map((step) => [step.name, step.outcome, step.failedAttempts])).toEqual([
      ['StopSource', 'running', 0],
    ]);
  });

  it('counts the approval gate the definition has before the execution reaches it', () => {
    // Prepare
    const fixture = historyFixture('running');
    const execution = {
      executionArn: arnOf(fixture),
      name: 'n',
      stateMachineArn: null,
      status: 'RUNNING',
      startDate: fixture.execution.startDate as Date,
      stopDate: null,
      input: JSON.parse(fixture.execution.input as string),
      error: null,
      cause: null,
    };
    const now = new Date('2026-11-22T09:31:00.000Z');

    // Act
    const without = summarizeExecution(execution, fixture.events, now);
    const withGate = summarizeExecution(execution, fixture.events, now, { hasApprovalGate: true });
    const noFreeze = summarizeExecution(
      { ...execution, input: { ...execution.input, writeFreeze: 'none', cutover: { type: 'none' } } },
      fixture.events.slice(0, 26),
      now,
    );
    const auto = summarizeExecution(
      { ...execution, input: { ...execution.input, strategy: 'auto' } },
      fixture.events.slice(0, 26),
      now,
    );
    const { dbInstanceIdentifier: _instance, ...rest } = execution.input as Record<string, unknown>;
    const cluster = summarizeExecution(
      { ...execution, input: { ...rest, dbClusterIdentifier: 'orders-aurora' } },
      fixture.events.slice(0, 26),
      now,
    );

    // Assess
    expect(without.progress.expected).toBe(15);
    expect(withGate.progress.expected).toBe(16);
    // Before the history shows the path, the input decides: no StopSource, StartSource instead of Cutover.
    expect(noFreeze.pathDecided).toBe(true);
    expect(noFreeze.progress.expected).toBe(14);
    expect(auto).toMatchObject({ pathDecided: false, path: 'snapshot' });
    // An Aurora cluster restores from its own snapshot: one step fewer (no CopySnapshot).
    expect(cluster.progress.expected).toBe(14);
  });
});
