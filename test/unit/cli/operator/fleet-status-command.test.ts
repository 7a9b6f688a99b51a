import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionDoesNotExist,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DatabaseOutcome, FleetPlan, PlannedDatabase } from '#features/fleet/types.js';
import { historyFixture, runCli } from '../../../support/operator-cli.js';
import { callsNotAllowed } from '../../../support/operator-policy.js';

/**
 * `rekey status <fleet execution ARN>`: the fleet execution, its plan and outcomes from the
 * evidence bucket, and the children in flight, each call one the documented operator policy allows.
 */

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cloudformation = mockClient(CloudFormationClient);

const ACCOUNT = 'arn:aws:states:eu-west-1:111122223333';
const FLEET = 'annual-2027';
const FLEET_ARN = `${ACCOUNT}:execution:rekey-rotate-fleet:${FLEET}`;
const childArn = (id: string) => `${ACCOUNT}:execution:rekey-rotate-instance:${FLEET}-${id}`;
const BUCKET = 'rekey-evidence-123';

const planned = (id: string, group: string, position: number, over: Partial<PlannedDatabase> = {}) =>
  ({
    id,
    kind: 'instance',
    eligible: true,
    strategy: 'snapshot',
    strategyReason: 'input',
    cutover: 'cname',
    oldKeyArn: group,
    blockers: [],
    estimatedWriterDowntimeSeconds: 1200,
    input: { dbInstanceIdentifier: id },
    order: { group, position, of: 2 },
    executionName: `${FLEET}-${id}`,
    ...over,
  }) as PlannedDatabase;

const plan: FleetPlan = {
  status: 'PLANNED',
  planOnly: false,
  approvalTimeoutSeconds: 14_400,
  fleetId: FLEET,
  databases: [
    planned('billing-db', 'key-1', 1),
    planned('invoices-db', 'key-1', 2),
    planned('catalog-db', 'key-2', 1),
    planned('legacy-db', 'none', 0, {
      eligible: false,
      strategy: null,
      blockers: ['legacy-db is not encrypted, so there is no key to rotate.'],
      executionName: `${FLEET}-legacy-db`,
    }),
  ],
  groups: [
    { group: 'key-1', oldKeyArn: 'key-1', ids: ['billing-db', 'invoices-db'] },
    { group: 'key-2', oldKeyArn: 'key-2', ids: ['catalog-db'] },
  ],
  maxConcurrency: 2,
  maxFailures: 1,
  onIneligible: 'skip',
  approval: 'none',
  notes: [],
  calls: {},
};

const outcome = (id: string, status: DatabaseOutcome['status'], over: Partial<DatabaseOutcome> = {}) =>
  ({
    id,
    kind: 'instance',
    status,
    rotationId: `rk-${id}`,
    executionArn: childArn(id),
    startedAt: '2027-01-10T10:00:00.000Z',
    finishedAt: '2027-01-10T10:20:00.000Z',
    oldKeyArn: 'key-1',
    newKeyArn: status === 'SUCCEEDED' ? 'key-new' : null,
    evidenceUri: null,
    error: null,
    cause: null,
    ...over,
  }) as DatabaseOutcome;

const body = (value: unknown) =>
  ({ transformToString: async () => JSON.stringify(value) }) as unknown as GetObjectCommandOutput['Body'];

const serveBucket = (outcomes: DatabaseOutcome[], withPlan = true) => {
  if (withPlan) {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `fleets/${FLEET}/plan.json` }).resolves({
      Body: body(plan),
    });
  } else {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `fleets/${FLEET}/plan.json` }).rejects(
      new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
    );
  }
  s3.on(ListObjectsV2Command, { Bucket: BUCKET, Prefix: `fleets/${FLEET}/databases/` }).resolves({
    Contents: outcomes.map((o) => ({ Key: `fleets/${FLEET}/databases/${o.id}.json` })),
  });
  for (const o of outcomes) {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `fleets/${FLEET}/databases/${o.id}.json` }).resolves({
      Body: body(o),
    });
  }
};

const serveStack = () =>
  cloudformation.on(DescribeStacksCommand, { StackName: 'rekey' }).resolves({
    Stacks: [
      {
        StackName: 'rekey',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: [{ OutputKey: 'EvidenceBucketName', OutputValue: BUCKET }],
      },
    ],
  });

const fleetExecution = (
  status: ExecutionStatus,
  over: Partial<DescribeExecutionCommandOutput> = {},
): DescribeExecutionCommandOutput => ({
  $metadata: {},
  executionArn: FLEET_ARN,
  stateMachineArn: `${ACCOUNT}:stateMachine:rekey-rotate-fleet`,
  name: FLEET,
  status,
  startDate: new Date('2026-11-22T09:00:00.000Z'),
  input: JSON.stringify({ fleet: { select: { tags: { 'rekey:rotate': 'annual' } } }, reason: 'annual' }),
  ...over,
});

const notAllowed = () => callsNotAllowed({ states: sfn, s3, cloudformation }, BUCKET);

describe('rekey status: a fleet execution', () => {
  beforeEach(() => {
    sfn.reset();
    s3.reset();
    cloudformation.reset();
  });

  it('while it runs: each database’s outcome so far, the child in flight at its step, the rest pending', async () => {
    // Prepare: billing-db done, invoices-db (same key, after it) running, catalog-db not started yet.
    const child = historyFixture('running');
    serveStack();
    serveBucket([outcome('billing-db', 'SUCCEEDED')]);
    sfn.on(DescribeExecutionCommand, { executionArn: FLEET_ARN }).resolves(fleetExecution('RUNNING'));
    sfn
      .on(DescribeExecutionCommand, { executionArn: childArn('invoices-db') })
      .resolves({ ...child.execution, executionArn: childArn('invoices-db'), name: `${FLEET}-invoices-db` });
    sfn.on(GetExecutionHistoryCommand, { executionArn: childArn('invoices-db') }).resolves({
      events: child.events,
    });
    sfn
      .on(DescribeExecutionCommand, { executionArn: childArn('catalog-db') })
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));

    // Act
    const result = await runCli(['status', FLEET_ARN]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Fleet      annual-2027\nStatus     RUNNING\n');
    expect(result.stdout).toContain(
      `Plan       s3://${BUCKET}/fleets/${FLEET}/plan.json: 4 selected, 2 key group(s), at most 2 at once, maxFailures 1\n`,
    );
    expect(result.stdout).toContain('4 databases (1 SUCCEEDED, 1 RUNNING, 1 PENDING, 1 SKIPPED)');
    expect(result.stdout).toMatch(/ {2}billing-db {3}SUCCEEDED {3}2027-01-10T10:20:00.000Z\n/);
    expect(result.stdout).toContain(`RUNNING     child ${FLEET}-invoices-db: RUNNING: CopySnapshot\n`);
    expect(result.stdout).toMatch(/catalog-db +PENDING +not started yet\n/);
    expect(result.stdout).toMatch(/legacy-db +SKIPPED +legacy-db is not encrypted/);
    expect(result.stdout).toContain(`Follow it: ./bin/rekey.mjs status ${FLEET_ARN} --watch\n`);
    // The child done has its outcome: only the next one of each group is looked up.
    expect(sfn).not.toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: childArn('billing-db'),
    });
    expect(notAllowed()).toEqual([]);
  });

  it('once it failed: every outcome, the fleet’s error and cause, the report command, exit 1 (and --json)', async () => {
    // Prepare
    const cause = '1 database(s) not rotated: catalog-db (FAILED).';
    serveStack();
    serveBucket([
      outcome('billing-db', 'SUCCEEDED'),
      outcome('invoices-db', 'SUCCEEDED'),
      outcome('catalog-db', 'FAILED', {
        error: 'ValidationFailedError',
        cause: 'StorageType: expected gp3, found io1',
      }),
    ]);
    sfn.on(DescribeExecutionCommand, { executionArn: FLEET_ARN }).resolves(
      fleetExecution('FAILED', {
        stopDate: new Date('2026-11-22T10:40:00.000Z'),
        error: 'FleetIncomplete',
        cause,
      }),
    );

    // Act
    const human = await runCli(['status', FLEET_ARN]);
    const json = await runCli(['status', FLEET_ARN, '--json']);

    // Assess
    expect(human.stderr).toBe('');
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(
      'Status     FAILED\nStarted    2026-11-22T09:00:00.000Z (1h 40m 00s total)\n',
    );
    expect(human.stdout).toContain(`Error      FleetIncomplete: ${cause}\n`);
    expect(human.stdout).toMatch(
      /catalog-db +FAILED +ValidationFailedError: StorageType: expected gp3, found io1\n/,
    );
    expect(human.stdout).toContain(`Report:    ./bin/rekey.mjs report ${FLEET_ARN}\n`);
    // Closed: no child is looked up.
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);

    expect(json.code).toBe(1);
    const document = JSON.parse(json.stdout);
    expect(document).toMatchObject({
      kind: 'fleet',
      executionArn: FLEET_ARN,
      name: FLEET,
      status: 'FAILED',
      closed: true,
      error: 'FleetIncomplete',
      cause,
      bucket: BUCKET,
      counts: { SUCCEEDED: 2, FAILED: 1, SKIPPED: 1 },
      next: { report: `./bin/rekey.mjs report ${FLEET_ARN}` },
    });
    expect(document.databases.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual([
      ['billing-db', 'SUCCEEDED'],
      ['invoices-db', 'SUCCEEDED'],
      ['catalog-db', 'FAILED'],
      ['legacy-db', 'SKIPPED'],
    ]);
    expect(document).not.toHaveProperty('text');
    expect(notAllowed()).toEqual([]);
  });

  it('before PlanFleet has written the plan: says so; --bucket needs no stack', async () => {
    // Prepare
    serveBucket([], false);
    sfn.on(DescribeExecutionCommand, { executionArn: FLEET_ARN }).resolves(fleetExecution('RUNNING'));

    // Act
    const result = await runCli(['status', FLEET_ARN, '--bucket', BUCKET]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Plan       not written yet (PlanFleet writes s3://${BUCKET}/fleets/${FLEET}/plan.json)\n`,
    );
    expect(cloudformation).not.toHaveReceivedAnyCommand();
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('--watch follows it until it ends: a line per change, each outcome read once, a failed poll survived', async () => {
    // Prepare: running with nothing done; a poll S3 fails; running with two done; succeeded with all three.
    serveStack();
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `fleets/${FLEET}/plan.json` }).resolves({
      Body: body(plan),
    });
    const done = ['billing-db', 'invoices-db', 'catalog-db'].map((id) => outcome(id, 'SUCCEEDED'));
    const listing = (n: number) => ({
      Contents: done
        .slice(0, n)
        .map((o) => ({ Key: `fleets/${FLEET}/databases/${o.id}.json`, ETag: `"${o.id}"` })),
    });
    s3.on(ListObjectsV2Command)
      .resolvesOnce(listing(0))
      .rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }))
      .resolvesOnce(listing(2))
      .resolves(listing(3));
    for (const o of done) {
      s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `fleets/${FLEET}/databases/${o.id}.json` }).resolves({
        Body: body(o),
      });
    }
    sfn
      .on(DescribeExecutionCommand, { executionArn: FLEET_ARN })
      .resolvesOnce(fleetExecution('RUNNING'))
      .resolvesOnce(fleetExecution('RUNNING'))
      .resolvesOnce(fleetExecution('RUNNING'))
      .resolves(fleetExecution('SUCCEEDED', { stopDate: new Date('2026-11-22T10:40:00.000Z') }));
    for (const id of ['billing-db', 'invoices-db', 'catalog-db']) {
      sfn
        .on(DescribeExecutionCommand, { executionArn: childArn(id) })
        .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    }

    // Act
    const result = await runCli(['status', FLEET_ARN, '--watch', '--interval', '30']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.sleeps).toEqual([30_000, 30_000, 30_000]);
    expect(result.stderr).toBe(
      'Could not read the fleet (Could not read s3://rekey-evidence-123/fleets/annual-2027/databases/: socket hang up); trying again in 30s.\n',
    );
    expect(result.stdout).toMatch(
      /^09:31:00 {2}RUNNING {2}3 PENDING, 1 SKIPPED {2}31m 00s\n09:31:00 {2}RUNNING {2}2 SUCCEEDED, 1 PENDING, 1 SKIPPED {2}31m 00s\n\nFleet {6}annual-2027\n/,
    );
    expect(result.stdout).toContain('4 databases (3 SUCCEEDED, 1 SKIPPED)');
    expect(result.stdout).toContain(`Report:    ./bin/rekey.mjs report ${FLEET_ARN}\n`);
    // Listed again on every poll, but each outcome read once.
    for (const o of done) {
      expect(
        s3.commandCalls(GetObjectCommand, { Key: `fleets/${FLEET}/databases/${o.id}.json` }),
      ).toHaveLength(1);
    }
  });

  it('by execution name: a name that is no rotation’s is looked up on the stack’s fleet machine', async () => {
    // Prepare
    cloudformation.on(DescribeStacksCommand, { StackName: 'rekey' }).resolves({
      Stacks: [
        {
          StackName: 'rekey',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'StateMachineArn', OutputValue: `${ACCOUNT}:stateMachine:rekey-rotate-instance` },
            { OutputKey: 'EvidenceBucketName', OutputValue: BUCKET },
          ],
        },
      ],
    });
    serveBucket([outcome('billing-db', 'SUCCEEDED')]);
    // Only the fleet execution exists: every other DescribeExecution answers ExecutionDoesNotExist.
    const missing = new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
    sfn.on(DescribeExecutionCommand).rejects(missing);
    sfn.on(DescribeExecutionCommand, { executionArn: FLEET_ARN }).resolves(fleetExecution('RUNNING'));

    // Act
    const found = await runCli(['status', FLEET, '--region', 'eu-west-1']);
    const unknown = await runCli(['status', 'no-such-run', '--region', 'eu-west-1']);

    // Assess
    expect(found.stderr).toBe('');
    expect(found.code).toBe(0);
    expect(found.stdout).toContain('Fleet      annual-2027\nStatus     RUNNING\n');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^rekey status: Execution Does Not Exist\. Check the execution name or ARN/,
    );
    for (const machine of ['rekey-rotate-instance', 'rekey-rotate-fleet']) {
      expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
        executionArn: `${ACCOUNT}:execution:${machine}:no-such-run`,
      });
    }
    expect(notAllowed()).toEqual([]);
  });
});
