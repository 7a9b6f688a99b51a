import 'aws-sdk-client-mock-vitest/extend';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, NoSuchBucket, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type EvidenceRecord, evidenceKey, refusedEvidenceKey } from '#features/evidence/schema.js';
import { runCli } from '../../../support/operator-cli.js';

const s3 = mockClient(S3Client);
const cloudformation = mockClient(CloudFormationClient);
const BUCKET = 'rekey-evidence-111122223333-eu-west-1';

interface Rotation {
  target: string;
  startedAt: string;
  finishedAt: string;
  rotationId: string;
  status: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  strategy: string;
  requestedBy: string | null;
  error?: string;
  cause?: string;
  refused?: boolean;
}

const key = (kind: 'old' | 'new', alias: string | null, id: string) => ({
  arn: `arn:aws:kms:eu-west-1:111122223333:key/${id}`,
  alias,
  keyManager: 'CUSTOMER',
  keyState: kind === 'old' ? 'PendingDeletion' : 'Enabled',
  creationDate: null,
  deletionDate: null,
  pendingWindowDays: null,
  description: null,
});

const record = (rotation: Rotation): EvidenceRecord =>
  ({
    schemaVersion: 'rekey.evidence/v1',
    rotationId: rotation.rotationId,
    generatedAt: rotation.finishedAt,
    execution: {
      arn: `arn:aws:states:eu-west-1:111122223333:execution:rekey-RotateInstance:${rotation.rotationId}`,
      name: rotation.rotationId,
      stateMachineArn: null,
      consoleUrl: null,
      startedAt: rotation.startedAt,
      finishedAt: rotation.finishedAt,
      status: rotation.status,
      error: rotation.error ?? null,
      cause: rotation.cause ?? null,
    },
    refused: rotation.refused ?? false,
    startedBy: {
      principal: 'arn:aws:sts::111122223333:assumed-role/oncall/alice',
      source: 'cloudtrail',
      requestedBy: rotation.requestedBy,
      sourceIpAddress: null,
      userAgent: null,
    },
    target: { kind: 'instance', identifier: rotation.target, region: 'eu-west-1', accountId: '111122223333' },
    strategy: { requested: 'auto', used: rotation.strategy, reason: '' },
    keys: {
      old: key('old', 'alias/orders-db', '1111aaaa-0000-0000-0000-000000000001'),
      new: key('new', null, '2222bbbb-0000-0000-0000-000000000002'),
    },
  }) as unknown as EvidenceRecord;

const ROTATIONS: Rotation[] = [
  {
    target: 'orders-db',
    startedAt: '2026-03-01T10:00:00.000Z',
    finishedAt: '2026-03-01T10:41:12.000Z',
    rotationId: 'rk0000000001',
    status: 'SUCCEEDED',
    strategy: 'snapshot',
    requestedBy: 'oncall-dba',
  },
  {
    target: 'billing-db',
    startedAt: '2026-11-20T08:00:00.000Z',
    finishedAt: '2026-11-20T08:12:00.000Z',
    rotationId: 'rk0000000002',
    status: 'FAILED',
    strategy: 'blue-green',
    requestedBy: null,
  },
  {
    target: 'orders-db',
    startedAt: '2026-11-22T09:00:00.000Z',
    finishedAt: '2026-11-22T10:05:30.000Z',
    rotationId: 'rk0000000003',
    status: 'SUCCEEDED',
    strategy: 'blue-green',
    requestedBy: 'platform-team',
  },
];
/** A start refused in preflight: its record is under refused/, apart from the rotations. */
const REFUSED: Rotation = {
  target: 'orders-db',
  startedAt: '2026-11-21T07:00:00.000Z',
  finishedAt: '2026-11-21T07:00:04.000Z',
  rotationId: 'rk0000000004',
  status: 'FAILED',
  strategy: 'snapshot',
  requestedBy: 'scheduler',
  error: 'PreconditionFailedError',
  cause:
    'orders-db has a read replica, which a snapshot rotation cannot carry over. Nothing was changed in AWS.',
  refused: true,
};

const keyOf = (rotation: Rotation) =>
  rotation.refused
    ? refusedEvidenceKey(rotation.target, rotation.startedAt, rotation.rotationId)
    : evidenceKey(rotation.target, rotation.startedAt, rotation.rotationId);

const serveBucket = () => {
  // Two pages, in the bucket's own (key) order, so ordering by time is the command's job.
  const keys = ROTATIONS.map(keyOf).sort();
  s3.on(ListObjectsV2Command, { Prefix: 'rotations/' })
    .resolvesOnce({
      Contents: keys.slice(0, 2).map((Key) => ({ Key })),
      IsTruncated: true,
      NextContinuationToken: 'next',
    })
    .resolves({
      Contents: [...keys.slice(2).map((Key) => ({ Key })), { Key: 'rotations/readme.txt' }],
      IsTruncated: false,
    });
  s3.on(ListObjectsV2Command, { Prefix: 'rotations/orders-db/' }).resolves({
    Contents: keys.filter((k) => k.startsWith('rotations/orders-db/')).map((Key) => ({ Key })),
  });
  s3.on(ListObjectsV2Command, { Prefix: 'refused/' }).resolves({ Contents: [{ Key: keyOf(REFUSED) }] });
  s3.on(ListObjectsV2Command, { Prefix: 'refused/orders-db/' }).resolves({
    Contents: [{ Key: keyOf(REFUSED) }],
  });
  for (const rotation of [...ROTATIONS, REFUSED]) {
    const text = JSON.stringify(record(rotation));
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: keyOf(rotation) }).resolves({
      Body: { transformToString: async () => text } as never,
    });
  }
};

describe('rekey history', () => {
  beforeEach(() => {
    s3.reset();
    cloudformation.reset();
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'rekey',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'EvidenceBucketName', OutputValue: BUCKET }],
        },
      ],
    });
  });

  it('lists every page of the bucket and shows the rotations newest first', async () => {
    // Prepare
    serveBucket();

    // Act
    const result = await runCli(['history']);

    // Assess
    expect(result.code).toBe(0);
    expect(cloudformation).toHaveReceivedCommandWith(DescribeStacksCommand, { StackName: 'rekey' });
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 3);
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 1, {
      Bucket: BUCKET,
      Prefix: 'rotations/',
    });
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 2, {
      Bucket: BUCKET,
      Prefix: 'rotations/',
      ContinuationToken: 'next',
    });
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 3, { Bucket: BUCKET, Prefix: 'refused/' });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 4);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(
      /^STARTED \(UTC\) +TARGET +REGION +STRATEGY +STATUS +DURATION +OLD KEY -> NEW KEY +REQUESTED BY +ERROR$/,
    );
    expect(lines[1]).toMatch(
      /^2026-11-22T09:00:00\.000Z +orders-db +eu-west-1 +blue-green +SUCCEEDED +1h 05m 30s +alias\/orders-db -> arn:aws:kms:eu-west-1:111122223333:key\/2222bbbb-0000-0000-0000-000000000002 +platform-team +-$/,
    );
    expect(lines[2]).toMatch(
      /^2026-11-21T07:00:00\.000Z +orders-db +eu-west-1 +snapshot +REFUSED +4s +.* +scheduler +PreconditionFailedError: orders-db has a read replica, which a snapshot rotation cannot carry over\.$/,
    );
    expect(lines[3]).toMatch(
      /^2026-11-20T08:00:00\.000Z +billing-db +eu-west-1 +blue-green +FAILED +12m 00s +.* +arn:aws:sts::111122223333:assumed-role\/oncall\/alice +-$/,
    );
    expect(lines[4]).toMatch(
      /^2026-03-01T10:00:00\.000Z +orders-db +eu-west-1 +snapshot +SUCCEEDED +41m 12s .* oncall-dba +-$/,
    );
    expect(lines[6]).toMatch(/^REFUSED: the start was refused before anything changed in AWS/);
  });

  it('--db lists only that database’s prefix; --limit reads only the newest records; --bucket skips the stack', async () => {
    // Prepare
    serveBucket();

    // Act
    const result = await runCli([
      'history',
      '--db',
      'Orders-DB',
      '--limit',
      '1',
      '--bucket',
      BUCKET,
      '--json',
    ]);

    // Assess
    expect(cloudformation).not.toHaveReceivedAnyCommand();
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: 'rotations/orders-db/',
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: 'refused/orders-db/',
    });
    expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 1);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ bucket: BUCKET, db: 'Orders-DB' });
    expect(document.rotations).toEqual([
      {
        key: 'rotations/orders-db/2026-11-22T09:00:00.000Z-rk0000000003.json',
        rotationId: 'rk0000000003',
        target: 'orders-db',
        startedAt: '2026-11-22T09:00:00.000Z',
        finishedAt: '2026-11-22T10:05:30.000Z',
        durationMs: 3930000,
        strategy: 'blue-green',
        status: 'SUCCEEDED',
        oldKey: 'alias/orders-db',
        newKey: 'arn:aws:kms:eu-west-1:111122223333:key/2222bbbb-0000-0000-0000-000000000002',
        requestedBy: 'platform-team',
        executionArn: 'arn:aws:states:eu-west-1:111122223333:execution:rekey-RotateInstance:rk0000000003',
        region: 'eu-west-1',
        error: null,
        refused: false,
        problem: null,
      },
    ]);
  });

  it('shows a record it cannot read as such, and keeps the others', async () => {
    // Prepare
    serveBucket();
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: keyOf(ROTATIONS[1] as Rotation) }).resolves({
      Body: { transformToString: async () => '{not json' } as never,
    });

    // Act
    const result = await runCli(['history']);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/billing-db +- +- +UNREADABLE/);
    expect(result.stdout).toContain(
      `Records that could not be read:\n  ${keyOf(ROTATIONS[1] as Rotation)}: SyntaxError:`,
    );
  });

  it('says so when there is no rotation yet', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });

    // Act
    const result = await runCli(['history', '--db', 'orders-db']);

    // Assess
    expect(result.stdout).toBe(`No rotation recorded in s3://${BUCKET}/ for orders-db.\n`);
  });

  it('says what to check when the bucket is missing, or the stack has no bucket output', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).rejects(
      new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: {} }),
    );

    // Act
    const missing = await runCli(['history']);
    cloudformation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'rekey', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(), Outputs: [] }],
    });
    const noOutput = await runCli(['history', '--json']);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `rekey history: Bucket "${BUCKET}" does not exist (in this account and Region). Check --bucket, --stack and --region.\n`,
    );
    expect(noOutput.code).toBe(1);
    expect(noOutput.stderr).toBe(
      'rekey history: Stack "rekey" has no output EvidenceBucketName (it predates the evidence bucket: update it with sam deploy). Pass --bucket <name> instead.\n',
    );
    expect(JSON.parse(noOutput.stdout).error.message).toContain('EvidenceBucketName');
  });
});
