import 'aws-sdk-client-mock-vitest/extend';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { approvalFailureMessage } from '#domain/approval.js';
import { findApprovalRequest } from '../../../../cli/operator/progress.js';
import { type HistoryFixture, historyFixture, runCli } from '../../../support/operator-cli.js';

const sfn = mockClient(SFNClient);
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfakeTokenForOrdersDb==';
const arnOf = (fixture: HistoryFixture) => fixture.execution.executionArn as string;

const serve = (fixture: HistoryFixture) => {
  sfn.on(DescribeExecutionCommand).resolves(fixture.execution);
  sfn.on(GetExecutionHistoryCommand).resolves({ events: fixture.events });
};

describe('rekey approve', () => {
  beforeEach(() => {
    sfn.reset();
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
  });

  it('sends the token of the open approval with who approved and when, and prints the next command', async () => {
    // Prepare
    const fixture = historyFixture('waiting-for-approval');
    serve(fixture);

    // Act
    const result = await runCli(['approve', arnOf(fixture)]);

    // Assess
    expect(result.code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: TOKEN,
      output: JSON.stringify({ approvedBy: 'alice', approvedAt: '2026-11-22T09:31:00.000Z' }),
    });
    expect(result.stdout).toBe(
      'Approved orders-db-inc-4711 as alice at 2026-11-22T09:31:00.000Z. The rotation continues.\n' +
        `Follow it: ./bin/rekey.mjs status ${arnOf(fixture)} --watch\n`,
    );
  });

  it('records --by, and with --json prints one document', async () => {
    // Prepare
    const fixture = historyFixture('waiting-for-approval');
    serve(fixture);

    // Act
    const result = await runCli(['approve', arnOf(fixture), '--by', 'dba-lead', '--json']);

    // Assess
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      output: JSON.stringify({ approvedBy: 'dba-lead', approvedAt: '2026-11-22T09:31:00.000Z' }),
    });
    expect(JSON.parse(result.stdout)).toEqual({
      executionArn: arnOf(fixture),
      name: 'orders-db-inc-4711',
      decision: 'approved',
      by: 'dba-lead',
      at: '2026-11-22T09:31:00.000Z',
      reason: null,
      next: { watch: `./bin/rekey.mjs status ${arnOf(fixture)} --watch` },
    });
  });

  it('finds the gate where it stands before any change (right after the lock), for status and approve alike', async () => {
    // Prepare: the same execution, with the gate entered after AcquireLock (approval.at "before-changes").
    const fixture = historyFixture('waiting-for-approval');
    const gateAt = fixture.events.findIndex(
      (event) => event.stateEnteredEventDetails?.name === 'WaitForApproval',
    );
    const lockDone = fixture.events.findIndex(
      (event) => event.stateExitedEventDetails?.name === 'LockAcquired?',
    );
    const early = {
      ...fixture,
      events: [...fixture.events.slice(0, lockDone + 1), ...fixture.events.slice(gateAt)],
    };
    serve(early);

    // Act
    const status = await runCli(['status', arnOf(early), '--json']);
    const approved = await runCli(['approve', arnOf(early)]);

    // Assess
    expect(JSON.parse(status.stdout)).toMatchObject({
      waitingForApproval: true,
      currentStep: 'WaitForApproval',
      steps: [
        { name: 'CheckStart' },
        { name: 'Preflight' },
        { name: 'AcquireLock' },
        { name: 'WaitForApproval' },
      ],
    });
    expect(approved.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: TOKEN });
  });

  it('refuses an execution that is not at the approval step, and sends nothing', async () => {
    // Prepare
    const fixture = historyFixture('running');
    serve(fixture);

    // Act
    const result = await runCli(['approve', arnOf(fixture)]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'rekey approve: Execution orders-db-20261122-0900 is not waiting for approval: it is at CopySnapshot (RUNNING). ' +
        `Nothing was sent. Follow it: ./bin/rekey.mjs status ${arnOf(fixture)} --watch\n`,
    );
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('refuses a closed execution, and sends nothing', async () => {
    // Prepare
    const fixture = historyFixture('succeeded-blue-green');
    serve(fixture);

    // Act
    const result = await runCli(['approve', arnOf(fixture), '--json']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Execution orders-db-chg-1024 is SUCCEEDED: there is nothing to approve.',
    );
    expect(JSON.parse(result.stdout).error.name).toBe('OperatorError');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('says the request is no longer open when someone answered first or it timed out', async () => {
    // Prepare
    const fixture = historyFixture('waiting-for-approval');
    serve(fixture);
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    // Act
    const result = await runCli(['approve', arnOf(fixture)]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'The approval request of orders-db-inc-4711 is no longer open (answered by someone else, or timed out)',
    );
  });
});

describe('rekey reject', () => {
  beforeEach(() => {
    sfn.reset();
    sfn.on(SendTaskFailureCommand).resolves({});
  });

  it('fails the approval task with ApprovalRejected, the reason and who rejected', async () => {
    // Prepare
    const fixture = historyFixture('waiting-for-approval');
    serve(fixture);

    // Act
    const result = await runCli([
      'reject',
      arnOf(fixture),
      '--reason',
      '  Wrong database: orders-db is not in scope  ',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: TOKEN,
      error: 'ApprovalRejected',
      cause: JSON.stringify({
        reason: 'Wrong database: orders-db is not in scope',
        rejectedBy: 'alice',
        rejectedAt: '2026-11-22T09:31:00.000Z',
      }),
    });
    // The rollback turns that cause into the sentence the failed execution shows.
    const sent = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(
      approvalFailureMessage({
        approval: { approved: false },
        failure: { Error: sent?.error ?? '', Cause: sent?.cause ?? '' },
      } as never),
    ).toBe(
      'Approval rejected by alice: Wrong database: orders-db is not in scope. The cutover never started.',
    );
    expect(result.stdout).toContain(
      'Rejected orders-db-inc-4711 as alice at 2026-11-22T09:31:00.000Z: Wrong database: orders-db is not in scope\n',
    );
    expect(result.stdout).toContain(`Follow it: ./bin/rekey.mjs status ${arnOf(fixture)} --watch\n`);
  });

  it('requires a reason that is not blank (usage error, exit 2), before any call', async () => {
    // Act
    const missing = await runCli(['reject', 'orders-db-inc-4711']);
    const blank = await runCli(['reject', 'orders-db-inc-4711', '--reason', '   ']);

    // Assess
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: required option '--reason <text>' not specified");
    expect(blank.code).toBe(2);
    expect(blank.stderr).toBe('rekey reject: --reason must say why the rotation is rejected.\n');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

describe('finding the approval task token', () => {
  const entered = (id: number, name: string): HistoryEvent => ({
    id,
    type: 'TaskStateEntered',
    timestamp: new Date(Date.UTC(2026, 10, 22, 9, 0, id)),
    stateEnteredEventDetails: { name },
  });
  const scheduled = (id: number, token: string, resource = 'invoke.waitForTaskToken'): HistoryEvent => ({
    id,
    type: 'TaskScheduled',
    timestamp: new Date(Date.UTC(2026, 10, 22, 9, 0, id)),
    taskScheduledEventDetails: {
      resourceType: 'lambda',
      resource,
      region: 'eu-west-1',
      parameters: JSON.stringify({ FunctionName: 'f', Payload: { taskToken: token } }),
    },
  });

  it('takes the latest scheduled token after the latest entry into WaitForApproval', () => {
    // Act
    const request = findApprovalRequest([
      entered(1, 'WaitForApproval'),
      scheduled(2, 'first-attempt'),
      {
        id: 3,
        type: 'TaskFailed',
        timestamp: new Date(),
        taskFailedEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke.waitForTaskToken',
          error: 'Lambda.ServiceException',
        },
      },
      scheduled(4, 'retry'),
    ]);

    // Assess
    expect(request).toEqual({ taskToken: 'retry', requestedAt: '2026-11-22T09:00:01.000Z' });
  });

  it('finds nothing once the gate was left, outside the gate, or for a plain lambda:invoke', () => {
    // Act & Assess
    expect(
      findApprovalRequest([
        entered(1, 'WaitForApproval'),
        scheduled(2, 'token'),
        {
          id: 3,
          type: 'TaskStateExited',
          timestamp: new Date(),
          stateExitedEventDetails: { name: 'WaitForApproval' },
        },
      ]),
    ).toBeUndefined();
    expect(findApprovalRequest([entered(1, 'Cutover'), scheduled(2, 'token')])).toBeUndefined();
    expect(
      findApprovalRequest([entered(1, 'WaitForApproval'), scheduled(2, 'token', 'invoke')]),
    ).toBeUndefined();
    expect(
      findApprovalRequest([entered(1, 'WaitForApproval'), scheduled(2, 'token'), entered(3, 'Rollback')]),
    ).toBeUndefined();
  });
});
