import 'aws-sdk-client-mock-vitest/extend';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
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
const s3 = mockClient(S3Client);
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
    expect(request).toEqual({
      taskToken: 'retry',
      state: 'WaitForApproval',
      requestedAt: '2026-11-22T09:00:01.000Z',
    });
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

describe('rekey approve / reject of a fleet execution (WaitForFleetApproval)', () => {
  const FLEET_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-fleet:annual-2027';
  const FLEET_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAfakeTokenForTheFleet==';
  const at = (second: number) => new Date(Date.UTC(2026, 10, 22, 9, 0, second));
  /** The fleet machine's history up to its gate: PlanFleet, the Choice, then the waiting Task. */
  const fleetWaiting = (): HistoryFixture => ({
    execution: {
      executionArn: FLEET_ARN,
      name: 'annual-2027',
      stateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:rekey-rotate-fleet',
      status: 'RUNNING',
      startDate: at(0),
      input: JSON.stringify({
        fleet: { select: { keyOlderThanDays: 0 }, approval: 'fleet' },
        reason: 'annual',
      }),
      $metadata: {},
    },
    events: [
      { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
      { id: 2, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'PlanFleet' } },
      { id: 3, type: 'TaskStateExited', timestamp: at(2), stateExitedEventDetails: { name: 'PlanFleet' } },
      {
        id: 4,
        type: 'ChoiceStateEntered',
        timestamp: at(2),
        stateEnteredEventDetails: { name: 'FleetApproval?' },
      },
      {
        id: 5,
        type: 'ChoiceStateExited',
        timestamp: at(2),
        stateExitedEventDetails: { name: 'FleetApproval?' },
      },
      {
        id: 6,
        type: 'TaskStateEntered',
        timestamp: at(3),
        stateEnteredEventDetails: { name: 'WaitForFleetApproval' },
      },
      {
        id: 7,
        type: 'TaskScheduled',
        timestamp: at(3),
        taskScheduledEventDetails: {
          resourceType: 'lambda',
          resource: 'invoke.waitForTaskToken',
          region: 'eu-west-1',
          parameters: JSON.stringify({
            FunctionName: 'rekey-RequestFleetApproval',
            Payload: { taskToken: FLEET_TOKEN, executionArn: FLEET_ARN, state: { fleetId: 'annual-2027' } },
          }),
        },
      },
      { id: 8, type: 'TaskStarted', timestamp: at(3) },
    ],
  });

  beforeEach(() => {
    sfn.reset();
    s3.reset();
    sfn.on(SendTaskSuccessCommand).resolves({});
    sfn.on(SendTaskFailureCommand).resolves({});
    serve(fleetWaiting());
  });

  it('shows the fleet waiting, and approves it with the token of its one gate', async () => {
    // Prepare: the plan PlanFleet wrote, nothing started yet.
    const plan = {
      status: 'PLANNED',
      fleetId: 'annual-2027',
      approval: 'fleet',
      databases: [],
      groups: [],
      maxConcurrency: 2,
      maxFailures: 1,
    };
    s3.on(GetObjectCommand, { Bucket: 'rekey-evidence', Key: 'fleets/annual-2027/plan.json' }).resolves({
      Body: {
        transformToString: async () => JSON.stringify(plan),
      } as unknown as GetObjectCommandOutput['Body'],
    });
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });

    // Act
    const status = await runCli(['status', FLEET_ARN, '--json', '--bucket', 'rekey-evidence']);
    const result = await runCli(['approve', FLEET_ARN, '--by', 'platform-lead']);

    // Assess
    expect(JSON.parse(status.stdout)).toMatchObject({
      kind: 'fleet',
      status: 'RUNNING',
      waitingForApproval: true,
      currentStep: 'WaitForFleetApproval',
      next: { approve: `./bin/rekey.mjs approve ${FLEET_ARN}` },
    });
    const text = await runCli(['status', FLEET_ARN, '--bucket', 'rekey-evidence']);
    expect(text.stdout).toContain(
      'Waiting    for approval since 2026-11-22T09:00:03.000Z: no rotation starts before it',
    );
    expect(text.stdout).toContain(`Approve:   ./bin/rekey.mjs approve ${FLEET_ARN}\n`);
    expect(result.code).toBe(0);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: FLEET_TOKEN,
      output: JSON.stringify({ approvedBy: 'platform-lead', approvedAt: '2026-11-22T09:31:00.000Z' }),
    });
    expect(result.stdout).toBe(
      "Approved annual-2027 as platform-lead at 2026-11-22T09:31:00.000Z. The fleet's rotations start (they do not ask again).\n" +
        `Follow it: ./bin/rekey.mjs status ${FLEET_ARN} --watch\n`,
    );
  });

  it('finds the fleet by its execution name: a name no rotation has is looked up on the fleet machine', async () => {
    // Prepare: the rotation machine has no execution of that name; the fleet machine does.
    const rotationArn = 'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-instance:annual-2027';
    sfn
      .on(DescribeExecutionCommand, { executionArn: rotationArn })
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));

    // Act
    const result = await runCli([
      'approve',
      'annual-2027',
      '--by',
      'platform-lead',
      '--state-machine-arn',
      'arn:aws:states:eu-west-1:111122223333:stateMachine:rekey-rotate-instance',
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: FLEET_TOKEN });
  });

  it('rejects it with ApprovalRejected and says that no rotation starts', async () => {
    // Act
    const result = await runCli(['reject', FLEET_ARN, '--reason', 'change freeze']);

    // Assess
    expect(result.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: FLEET_TOKEN,
      error: 'ApprovalRejected',
      cause: JSON.stringify({
        reason: 'change freeze',
        rejectedBy: 'alice',
        rejectedAt: '2026-11-22T09:31:00.000Z',
      }),
    });
    expect(result.stdout).toContain(
      'No rotation starts: the fleet records every database NOT_STARTED and fails with FleetApprovalNotGiven.',
    );
  });

  it('sends nothing once the fleet left its gate', async () => {
    // Prepare
    const fixture = fleetWaiting();
    fixture.events.push(
      { id: 9, type: 'TaskSucceeded', timestamp: at(9) },
      {
        id: 10,
        type: 'TaskStateExited',
        timestamp: at(9),
        stateExitedEventDetails: { name: 'WaitForFleetApproval' },
      },
      {
        id: 11,
        type: 'MapStateEntered',
        timestamp: at(9),
        stateEnteredEventDetails: { name: 'RotateGroups' },
      },
    );
    serve(fixture);

    // Act
    const result = await runCli(['approve', FLEET_ARN]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Execution annual-2027 is not waiting for approval');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});
