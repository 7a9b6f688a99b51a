import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionInput } from '../../../support/events.js';
import { historyFixture, runCli } from '../../../support/operator-cli.js';

const sfn = mockClient(SFNClient);
const cloudformation = mockClient(CloudFormationClient);

const STATE_MACHINE = 'arn:aws:states:eu-west-1:111122223333:stateMachine:rekey-RotateInstance';
const EXECUTIONS = 'arn:aws:states:eu-west-1:111122223333:execution:rekey-RotateInstance';
const EXECUTION = `${EXECUTIONS}:orders-db-20261122-0931`;
const stack = (outputs: { OutputKey: string; OutputValue: string }[]) => ({
  Stacks: [
    {
      StackName: 'rekey',
      StackStatus: 'CREATE_COMPLETE' as const,
      CreationTime: new Date(),
      Outputs: outputs,
    },
  ],
});

const inputFile = (content: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'rekey-start-')), 'input.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
};

describe('rekey start', () => {
  beforeEach(() => {
    sfn.reset();
    cloudformation.reset();
    cloudformation
      .on(DescribeStacksCommand)
      .resolves(stack([{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE }]));
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: `${EXECUTIONS}:${input.name}`,
      startDate: new Date('2026-11-22T09:31:00.200Z'),
    }));
  });

  it('starts the stack’s state machine with the input as given and a <db>-<yyyymmdd-hhmm> name, and prints the ARN and console link', async () => {
    // Prepare
    const input = executionInput('break-glass');

    // Act
    const result = await runCli(['start', '--input', inputFile(input), '--region', 'eu-west-1']);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(cloudformation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'rekey' });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: 'orders-db-20261122-0931',
      input: JSON.stringify(input),
    });
    expect(result.stdout).toBe(
      'Started rotation orders-db-20261122-0931 of orders-db.\n' +
        `  Execution: ${EXECUTION}\n` +
        `  Console:   https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION}\n` +
        `Follow it:   ./bin/rekey.mjs status ${EXECUTION} --watch\n`,
    );
  });

  it('with --json prints one document; --name and --state-machine-arn skip the stack', async () => {
    // Act
    const result = await runCli([
      'start',
      '-i',
      inputFile(executionInput('aurora-cluster')),
      '--name',
      'inc-4711',
      '--state-machine-arn',
      STATE_MACHINE,
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(cloudformation).not.toHaveReceivedAnyCommand();
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { name: 'inc-4711' });
    expect(JSON.parse(result.stdout)).toEqual({
      executionArn: `${EXECUTIONS}:inc-4711`,
      name: 'inc-4711',
      target: 'orders-aurora',
      stateMachineArn: STATE_MACHINE,
      startDate: '2026-11-22T09:31:00.200Z',
      consoleUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTIONS}:inc-4711`,
    });
  });

  it('refuses a bad input before anything starts, naming each field like the state machine does (exit 2)', async () => {
    // Prepare
    const file = inputFile({
      dbInstanceIdentifier: 'orders_db',
      cutover: { type: 'cname' },
      oldInstnace: 'retain',
    });

    // Act
    const result = await runCli(['start', '--input', file]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      `rekey start: ${file}: The rotation input is invalid. Fix it and start again:`,
    );
    expect(result.stderr).toContain('unknown field "oldInstnace": remove it or fix the spelling');
    expect(result.stderr).toContain('dbInstanceIdentifier: must be an RDS DB instance identifier');
    expect(result.stderr).toContain('reason: is required');
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(cloudformation).not.toHaveReceivedAnyCommand();
  });

  it('refuses a file that is not JSON, and an invalid --name, before anything starts', async () => {
    // Act
    const notJson = await runCli(['start', '--input', inputFile('{"dbInstanceIdentifier": ')]);
    const badName = await runCli([
      'start',
      '--input',
      inputFile(executionInput('break-glass')),
      '--name',
      'INC 4711',
    ]);

    // Assess
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/is not valid JSON/);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--name "INC 4711" must be 1-80 letters, digits, - or _');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('says what to do when the stack does not exist or lacks the output', async () => {
    // Prepare
    cloudformation
      .on(DescribeStacksCommand)
      .rejectsOnce(
        Object.assign(new Error('Stack with id rekey does not exist'), { name: 'ValidationError' }),
      )
      .resolves(stack([]));
    const file = inputFile(executionInput('break-glass'));

    // Act
    const missing = await runCli(['start', '--input', file, '--region', 'eu-west-1']);
    const noOutput = await runCli(['start', '--input', file]);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'rekey start: Stack "rekey" was not found in eu-west-1. Deploy it (sam deploy), or name it with --stack <name> and the Region with --region, or pass --state-machine-arn <arn>.\n',
    );
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr).toBe(
      'rekey start: Stack "rekey" has no output StateMachineArn. Pass --state-machine-arn <arn> instead.\n',
    );
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('says how to go on when the name is taken', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const result = await runCli([
      'start',
      '--input',
      inputFile(executionInput('break-glass')),
      '--name',
      'inc-4711',
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `An execution named "inc-4711" already exists on ${STATE_MACHINE}. Choose another with --name, or follow it: ./bin/rekey.mjs status ${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:inc-4711 --watch`,
    );
  });

  it('with --watch follows the execution it started until it ends, and exits with its outcome', async () => {
    // Prepare
    const failed = historyFixture('failed');
    sfn.on(DescribeExecutionCommand).resolves(failed.execution);
    sfn.on(GetExecutionHistoryCommand).resolves({ events: failed.events });

    // Act
    const result = await runCli([
      'start',
      '--input',
      inputFile(executionInput('break-glass')),
      '--watch',
      '--json',
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION });
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({
      executionArn: EXECUTION,
      status: { status: 'FAILED', error: 'ResourceFailedError' },
    });
  });
});
