import 'aws-sdk-client-mock-vitest/extend';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FleetPlan } from '#features/fleet/types.js';
import { executionInput } from '../../../support/events.js';
import { runCli } from '../../../support/operator-cli.js';
import { callsNotAllowed } from '../../../support/operator-policy.js';

/** `rekey start` of a fleet input, and `--plan-only`: the fleet machine plans on AWS and stops. */

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cloudformation = mockClient(CloudFormationClient);

const ACCOUNT = 'arn:aws:states:eu-west-1:111122223333';
const ROTATION_MACHINE = `${ACCOUNT}:stateMachine:rekey-rotate-instance`;
const FLEET_MACHINE = `${ACCOUNT}:stateMachine:rekey-rotate-fleet`;
const BUCKET = 'rekey-evidence-123';

const inputFile = (content: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'rekey-fleet-start-')), 'input.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
};

const plan: FleetPlan = {
  status: 'PLANNED',
  planOnly: true,
  approvalTimeoutSeconds: 14_400,
  fleetId: 'fleet-plan-20261122-0931',
  databases: [
    {
      id: 'legacy-db',
      kind: 'instance',
      eligible: false,
      strategy: null,
      strategyReason: 'no strategy: the database is refused before one could be chosen.',
      cutover: 'none',
      oldKeyArn: null,
      blockers: ['legacy-db is not encrypted, so there is no key to rotate.'],
      estimatedWriterDowntimeSeconds: null,
      input: null,
      order: { group: 'no-key:legacy-db', position: 0, of: 0 },
      executionName: 'fleet-plan-20261122-0931-legacy-db',
    },
  ],
  groups: [],
  maxConcurrency: 2,
  maxFailures: 1,
  onIneligible: 'skip',
  approval: 'none',
  notes: [],
  calls: {},
};

const started = (): { input: Record<string, unknown>; stateMachineArn: string; name: string } => {
  const call = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
  return {
    input: JSON.parse(call?.input ?? 'null'),
    stateMachineArn: call?.stateMachineArn ?? '',
    name: call?.name ?? '',
  };
};

describe('rekey start: a fleet input', () => {
  beforeEach(() => {
    sfn.reset();
    s3.reset();
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'rekey',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'StateMachineArn', OutputValue: ROTATION_MACHINE },
            { OutputKey: 'EvidenceBucketName', OutputValue: BUCKET },
          ],
        },
      ],
    });
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
      executionArn: `${ACCOUNT}:execution:rekey-rotate-fleet:${input.name}`,
      startDate: new Date('2026-11-22T09:31:00.200Z'),
    }));
  });

  it('starts the stack’s fleet machine with the input as given, under a fleet-<yyyymmdd-hhmm> name', async () => {
    // Act
    const result = await runCli([
      'start',
      '--input',
      inputFile(executionInput('fleet')),
      '--region',
      'eu-west-1',
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(started()).toEqual({
      input: executionInput('fleet'),
      stateMachineArn: FLEET_MACHINE,
      name: 'fleet-20261122-0931',
    });
    expect(result.stdout).toContain(`Execution: ${ACCOUNT}:execution:rekey-rotate-fleet:fleet-20261122-0931`);
    expect(callsNotAllowed({ states: sfn, s3, cloudformation }, BUCKET)).toEqual([]);
  });

  it('--plan-only --watch: the fleet machine plans and stops; the plan is printed as rekey plan prints it', async () => {
    // Prepare: the execution runs once, then has succeeded with the plan in the bucket.
    const arn = `${ACCOUNT}:execution:rekey-rotate-fleet:fleet-plan-20261122-0931`;
    sfn
      .on(DescribeExecutionCommand, { executionArn: arn })
      .resolvesOnce({ executionArn: arn, status: 'RUNNING', startDate: new Date() })
      .resolves({ executionArn: arn, status: 'SUCCEEDED', startDate: new Date() });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'fleets/fleet-plan-20261122-0931/plan.json' }).resolves({
      Body: {
        transformToString: async () => JSON.stringify(plan),
      } as unknown as GetObjectCommandOutput['Body'],
    });

    // Act
    const result = await runCli([
      'start',
      '--input',
      inputFile(executionInput('fleet')),
      '--plan-only',
      '--watch',
      '--region',
      'eu-west-1',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(started().input).toMatchObject({ fleet: { planOnly: true, onIneligible: 'skip' } });
    expect(result.stderr).toContain('legacy-db is not encrypted');
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({
      status: 'PLANNED',
      databases: [{ id: 'legacy-db', eligible: false }],
    });
    expect(result.sleeps).toEqual([15_000]);
    expect(callsNotAllowed({ states: sfn, s3, cloudformation }, BUCKET)).toEqual([]);
  });

  it('says when the fleet name is taken, and how to follow that execution', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));

    // Act
    const result = await runCli([
      'start',
      '--input',
      inputFile(executionInput('fleet')),
      '--name',
      'annual-2027',
      '--region',
      'eu-west-1',
    ]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `An execution named "annual-2027" already exists on ${FLEET_MACHINE}. Choose another with --name, or follow it: ./bin/rekey.mjs status ${ACCOUNT}:execution:rekey-rotate-fleet:annual-2027 --watch`,
    );
  });

  it('refuses --plan-only with a single rotation input, and a bad fleet input naming the field, before any start', async () => {
    // Act
    const single = await runCli([
      'start',
      '--input',
      inputFile(executionInput('break-glass')),
      '--plan-only',
    ]);
    const bad = await runCli([
      'start',
      '--input',
      inputFile({ ...executionInput('fleet'), fleet: { select: {} } }),
      '--region',
      'eu-west-1',
    ]);

    // Assess
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('--plan-only plans a fleet input');
    expect(single.stderr).toContain('plan --input');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('fleet.select: must hold at least one condition');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
