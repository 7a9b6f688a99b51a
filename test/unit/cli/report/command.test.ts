import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  NoSuchKey,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Command, CommanderError } from 'commander';
import { parse } from 'node-html-parser';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type EvidenceRecord, evidenceKey } from '#features/evidence/schema.js';
import type { FleetOutput } from '#features/fleet/types.js';
import { registerReportCommand, writeReport } from '../../../../cli/report.js';
import { callsNotAllowed } from '../../../support/operator-policy.js';

const s3 = mockClient(S3Client);
const cloudformation = mockClient(CloudFormationClient);

const FIXTURE = new URL('../../../fixtures/evidence/success-cname.json', import.meta.url).pathname;
const fixtureText = readFileSync(FIXTURE, 'utf8');
const record = JSON.parse(fixtureText) as EvidenceRecord;
const KEY = evidenceKey('orders-db', record.execution.startedAt, record.rotationId);

/** An S3 GetObject body: the SDK's stream mixin, reduced to what the command reads. */
const body = (text: string) =>
  ({ transformToString: async () => text }) as unknown as GetObjectCommandOutput['Body'];

interface Run {
  stdout: string;
  stderr: string;
  error: CommanderError | null;
}

/** `rekey report ...` on a fresh program, as main.ts registers it; exits become errors. */
const run = async (...args: string[]): Promise<Run> => {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const program = new Command()
    .name('rekey')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => {
        stdout += s;
      },
      writeErr: (s) => {
        stderr += s;
      },
    });
  registerReportCommand(program);
  let error: CommanderError | null = null;
  try {
    await program.parseAsync(['node', 'rekey', 'report', ...args]);
  } catch (caught) {
    if (!(caught instanceof CommanderError)) throw caught;
    error = caught;
  } finally {
    vi.mocked(process.stdout.write).mockRestore();
    vi.mocked(process.stderr.write).mockRestore();
  }
  return { stdout, stderr, error };
};

describe('rekey report', () => {
  let out: string;

  beforeEach(() => {
    s3.reset();
    cloudformation.reset();
    out = mkdtempSync(join(tmpdir(), 'rekey-report-'));
  });

  afterEach(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('renders a local file to <out>/<rotationId>.md and .html and prints both paths', async () => {
    // Act
    const result = await run(FIXTURE, '--out', out);

    // Assess
    expect(result.error).toBeNull();
    const md = join(out, `${record.rotationId}.md`);
    const html = join(out, `${record.rotationId}.html`);
    expect(result.stdout).toBe(`${md}\n${html}\n`);
    expect(readFileSync(md, 'utf8')).toContain('## Key lifecycle');
    expect(parse(readFileSync(html, 'utf8')).querySelector('section#timeline svg')).not.toBeNull();
  });

  it('prints one JSON line with --json and writes only the format asked for', async () => {
    // Act
    const result = await run(FIXTURE, '--out', out, '--format', 'html', '--json');

    // Assess
    expect(JSON.parse(result.stdout)).toEqual({
      markdown: null,
      html: join(out, `${record.rotationId}.html`),
    });
    expect(readdirSync(out)).toEqual([`${record.rotationId}.html`]);
  });

  it('reads an s3:// URL with GetObject', async () => {
    // Prepare
    s3.on(GetObjectCommand, { Bucket: 'evidence-bucket', Key: KEY }).resolves({ Body: body(fixtureText) });

    // Act
    const result = await run(`s3://evidence-bucket/${KEY}`, '--out', out, '--json');

    // Assess
    expect(result.error).toBeNull();
    expect(JSON.parse(result.stdout).markdown).toBe(join(out, `${record.rotationId}.md`));
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'evidence-bucket', Key: KEY });
  });

  it('finds an execution’s record in the stack’s evidence bucket by its rotation id', async () => {
    // Prepare
    cloudformation.on(DescribeStacksCommand, { StackName: 'rekey' }).resolves({
      Stacks: [
        {
          StackName: 'rekey',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [{ OutputKey: 'EvidenceBucketName', OutputValue: 'rekey-evidence-123' }],
        },
      ],
    });
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        IsTruncated: true,
        NextContinuationToken: 'page-2',
        Contents: [{ Key: 'rotations/orders-db/2025-01-01T00:00:00Z-rk0000000000.json' }],
      })
      .resolvesOnce({ IsTruncated: false, Contents: [{ Key: KEY }] });
    s3.on(GetObjectCommand, { Bucket: 'rekey-evidence-123', Key: KEY }).resolves({ Body: body(fixtureText) });

    // Act
    const result = await run(record.execution.arn, '--out', out);

    // Assess
    expect(result.error).toBeNull();
    expect(result.stderr).toContain(`Rendered s3://rekey-evidence-123/${KEY}`);
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 2, {
      Bucket: 'rekey-evidence-123',
      Prefix: 'rotations/',
      ContinuationToken: 'page-2',
    });
    expect(readdirSync(out).sort()).toEqual([`${record.rotationId}.html`, `${record.rotationId}.md`]);
  });

  it('uses --bucket without asking CloudFormation', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: KEY }] });
    s3.on(GetObjectCommand).resolves({ Body: body(fixtureText) });

    // Act
    const result = await run(record.execution.arn, '--bucket', 'my-evidence', '--out', out);

    // Assess
    expect(result.error).toBeNull();
    expect(cloudformation).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'my-evidence', Key: KEY });
  });

  describe('a fleet execution ARN', () => {
    const FLEET_ARN = 'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-fleet:annual-2027';
    const FLEET_KEY = 'fleets/annual-2027/record.json';
    const fleetRecord: FleetOutput & { planUri: string } = {
      fleetId: 'annual-2027',
      status: 'FAILED',
      reason: '1 database(s) not rotated: ledger-db (FAILED).',
      requestedBy: 'platform-team',
      startedAt: '2027-01-10T10:00:00.000Z',
      finishedAt: '2027-01-10T10:40:00.000Z',
      maxConcurrency: 2,
      maxFailures: 1,
      onIneligible: 'skip',
      counts: { SUCCEEDED: 1, FAILED: 1, SKIPPED: 0, NOT_STARTED: 0 },
      databases: [
        {
          id: 'orders-db',
          kind: 'instance',
          status: 'SUCCEEDED',
          rotationId: 'rk0123456789',
          executionArn:
            'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-instance:annual-2027-orders-db',
          startedAt: '2027-01-10T10:00:00.000Z',
          finishedAt: '2027-01-10T10:20:00.000Z',
          oldKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/old',
          newKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/new',
          evidenceUri:
            's3://rekey-evidence-123/rotations/orders-db/2027-01-10T10:00:00.000Z-rk0123456789.json',
          error: null,
          cause: null,
        },
        {
          id: 'ledger-db',
          kind: 'instance',
          status: 'FAILED',
          rotationId: 'rk9876543210',
          executionArn:
            'arn:aws:states:eu-west-1:111122223333:execution:rekey-rotate-instance:annual-2027-ledger-db',
          startedAt: '2027-01-10T10:20:00.000Z',
          finishedAt: '2027-01-10T10:40:00.000Z',
          oldKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/old2',
          newKeyArn: null,
          evidenceUri: null,
          error: 'ValidationFailedError',
          cause: 'StorageType: expected gp3, found io1',
        },
      ],
      warnings: [],
      evidenceUri: null,
      planUri: 's3://rekey-evidence-123/fleets/annual-2027/plan.json',
    };
    const stack = () =>
      cloudformation.on(DescribeStacksCommand, { StackName: 'rekey' }).resolves({
        Stacks: [
          {
            StackName: 'rekey',
            CreationTime: new Date(),
            StackStatus: 'UPDATE_COMPLETE',
            Outputs: [{ OutputKey: 'EvidenceBucketName', OutputValue: 'rekey-evidence-123' }],
          },
        ],
      });

    it('renders the fleet page from fleets/<execution name>/record.json in the stack’s evidence bucket', async () => {
      // Prepare
      stack();
      s3.on(GetObjectCommand, { Bucket: 'rekey-evidence-123', Key: FLEET_KEY }).resolves({
        Body: body(JSON.stringify(fleetRecord)),
      });

      // Act
      const result = await run(FLEET_ARN, '--out', out);

      // Assess
      expect(result.error).toBeNull();
      expect(result.stderr).toContain(`Rendered s3://rekey-evidence-123/${FLEET_KEY}`);
      const md = join(out, 'fleet-annual-2027.md');
      const html = join(out, 'fleet-annual-2027.html');
      expect(result.stdout).toBe(`${md}\n${html}\n`);
      const markdown = readFileSync(md, 'utf8');
      expect(markdown).toContain('ledger-db');
      expect(markdown).toContain('StorageType: expected gp3, found io1');
      expect(parse(readFileSync(html, 'utf8')).text).toContain('orders-db');
      // A fleet record is read directly: no listing of the rotations' records.
      expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
      expect(await s3.call(0).thisValue.config.region()).toBe('eu-west-1');
      expect(
        callsNotAllowed({ states: { calls: () => [] }, s3, cloudformation }, 'rekey-evidence-123'),
      ).toEqual([]);
    });

    it('uses --bucket without asking CloudFormation', async () => {
      // Prepare
      s3.on(GetObjectCommand, { Bucket: 'my-evidence', Key: FLEET_KEY }).resolves({
        Body: body(JSON.stringify(fleetRecord)),
      });

      // Act
      const result = await run(FLEET_ARN, '--bucket', 'my-evidence', '--out', out, '--json');

      // Assess
      expect(result.error).toBeNull();
      expect(cloudformation).not.toHaveReceivedCommand(DescribeStacksCommand);
      expect(JSON.parse(result.stdout).html).toBe(join(out, 'fleet-annual-2027.html'));
    });

    it('a fleet still running (no record yet): says so and how to follow it, exit 2', async () => {
      // Prepare
      stack();
      s3.on(GetObjectCommand).rejects(
        new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
      );

      // Act
      const result = await run(FLEET_ARN, '--out', out);

      // Assess
      expect(result.error?.exitCode).toBe(2);
      expect(result.stderr).toContain(
        `rekey report: No fleet record at s3://rekey-evidence-123/${FLEET_KEY}: FinishFleet writes it when the fleet ends. Is it still running? See ./bin/rekey.mjs status ${FLEET_ARN}`,
      );
      expect(readdirSync(out)).toEqual([]);
    });
  });

  describe('errors', () => {
    const expectError = (result: Run, message: string | RegExp) => {
      expect(result.error?.exitCode).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toContain('Usage:');
      expect(readdirSync(out)).toEqual([]);
    };

    it('a missing file', async () => {
      expectError(
        await run(join(out, 'nope.json'), '--out', out),
        /^rekey report: No evidence file at .*nope\.json/,
      );
    });

    it('a file that is not JSON', async () => {
      const file = join(tmpdir(), `rekey-not-json-${process.pid}.json`);
      writeFileSync(file, '<html>not json</html>');
      try {
        expectError(await run(file, '--out', out), /rekey-not-json-\d+\.json is not JSON: /);
      } finally {
        rmSync(file);
      }
    });

    it('a record of another schema version, naming both versions', async () => {
      const file = join(tmpdir(), `rekey-v0-${process.pid}.json`);
      writeFileSync(file, JSON.stringify({ ...record, schemaVersion: 'rekey.evidence/v0' }));
      try {
        expectError(
          await run(file, '--out', out),
          /has schemaVersion "rekey\.evidence\/v0"; this rekey reads rekey\.evidence\/v1 only/,
        );
      } finally {
        rmSync(file);
      }
    });

    it('an S3 object that does not exist', async () => {
      s3.on(GetObjectCommand).rejects(
        new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
      );
      expectError(
        await run('s3://evidence-bucket/rotations/orders-db/missing.json', '--out', out),
        'No evidence record at s3://evidence-bucket/rotations/orders-db/missing.json: the object does not exist (S3 NoSuchKey)',
      );
    });

    it('no record for that execution', async () => {
      s3.on(ListObjectsV2Command).resolves({
        Contents: [{ Key: 'rotations/orders-db/2025-01-01T00:00:00Z-rk0000000000.json' }],
      });
      expectError(
        await run(record.execution.arn, '--bucket', 'my-evidence', '--out', out),
        `No evidence record for execution ${record.execution.arn} (rotation id ${record.rotationId}) under s3://my-evidence/rotations/`,
      );
      expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
    });

    it('a stack without the EvidenceBucketName output', async () => {
      cloudformation.on(DescribeStacksCommand).resolves({
        Stacks: [{ StackName: 'old', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }],
      });
      expectError(
        await run(record.execution.arn, '--stack', 'old', '--out', out),
        'Stack "old" has no output EvidenceBucketName',
      );
    });

    it('an ARN that is not an execution ARN', async () => {
      expectError(
        await run('arn:aws:states:eu-west-1:123456789012:stateMachine:Rotate', '--out', out),
        'is not a Step Functions execution ARN',
      );
    });
  });
});

describe('writeReport', () => {
  it('keeps the files inside the output directory whatever the rotation id says', async () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'rekey-report-'));
    const hostile = { ...record, rotationId: '../../etc/evil' };

    // Act
    const written = await writeReport(hostile, out);

    // Assess
    expect(written.markdown?.startsWith(`${out}/`)).toBe(true);
    expect(written.html?.startsWith(`${out}/`)).toBe(true);
    expect(readdirSync(out).sort()).toEqual(['_.._etc_evil.html', '_.._etc_evil.md']);
    rmSync(out, { recursive: true, force: true });
  });
});
