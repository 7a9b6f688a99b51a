import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkRegion, parseEndpoint, resolveConnection } from '../../../cli/connection.js';
import { readJsonInput } from '../../../cli/input-file.js';
import { runRotation } from '../../../cli/run-command.js';

/**
 * `rekey run` under the mistakes an operator makes at 3 a.m.: each ends with one line on stderr
 * that says what to do, the documented exit code (2: nothing started), no stack trace, and the
 * final JSON line on stdout that scripts read. Nothing reaches AWS: every case is refused first.
 */

const cloudformation = mockClient(CloudFormationClient);
const dir = mkdtempSync(join(tmpdir(), 'rekey-cli-'));
const breakGlass = join(process.cwd(), 'events/break-glass.json');

const run = async (flags: Parameters<typeof runRotation>[0]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRotation(flags, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  const stdout = out.join('');
  return { code, stdout, stderr: err.join(''), last: JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') };
};

const expectRefused = (result: Awaited<ReturnType<typeof run>>, message: RegExp) => {
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^rekey run: /);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.last).toMatchObject({ status: 'NOT_STARTED', error: 'UsageError' });
  expect(result.last.cause).toMatch(message);
};

/** A port nothing listens on: bound, then closed. */
let closedPort = 0;
let listener: Server;
let openPort = 0;
beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  listener = createServer((socket) => socket.end());
  openPort = await new Promise<number>((resolve) =>
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    }),
  );
});
afterAll(() => {
  listener.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe('rekey run refuses, before anything runs', () => {
  it('a fleet input with a misspelt field, before the endpoint is even tried', async () => {
    // Prepare
    const file = join(dir, 'fleet-typo.json');
    writeFileSync(
      file,
      JSON.stringify({
        fleet: { select: { tags: { 'rekey:rotate': 'annual' } }, maxConcurency: 2 },
        reason: 'annual',
      }),
    );

    // Act
    const result = await run({ input: file, endpoint: `http://127.0.0.1:${closedPort}` });

    // Assess
    expectRefused(result, /unknown field "maxConcurency" in fleet: remove it or fix the spelling/);
  });

  it('an endpoint that does not listen', async () => {
    const result = await run({ input: breakGlass, endpoint: `http://127.0.0.1:${closedPort}` });
    expectRefused(result, new RegExp(`Nothing answers at http://127.0.0.1:${closedPort} \\(ECONNREFUSED\\)`));
  });

  it('against AWS, a stack that is not there: the lock table and evidence bucket are unknown', async () => {
    // Prepare
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    cloudformation.on(DescribeStacksCommand).rejects(new Error('Stack with id rekey does not exist'));

    // Act
    const result = await run({ input: breakGlass, region: 'eu-west-1' });

    // Assess: refused before anything ran, naming the flags that get past it.
    expectRefused(result, /Stack "rekey" was not found in eu-west-1\..*--lock-table <name>/);
  });

  it('an endpoint without http://', async () => {
    const result = await run({ input: breakGlass, endpoint: '127.0.0.1:5000' });
    expectRefused(
      result,
      /"127.0.0.1:5000" is not a URL: write it with its scheme, e.g. http:\/\/127.0.0.1:5000/,
    );
  });

  it('a misspelt Region, with a suggestion', async () => {
    const result = await run({ input: breakGlass, region: 'us-eest-1' });
    expectRefused(result, /"us-eest-1" \(--region\) is not an AWS Region .* Did you mean us-east-1\?/);
  });

  it('no Region at all against AWS (never a silent us-east-1)', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-config'));
    const result = await run({ input: breakGlass });
    expectRefused(result, /No AWS Region is set\. Pass --region/);
  });

  it('a missing input file', async () => {
    const result = await run({ input: join(dir, 'nope.json') });
    expectRefused(result, /cannot read the input .*nope\.json: no such file/);
  });

  it('an input that is not JSON, and one that fails validation, naming the field', async () => {
    const garbled = join(dir, 'garbled.json');
    writeFileSync(garbled, '{"dbInstanceIdentifier": ');
    expectRefused(await run({ input: garbled }), /is not valid JSON/);
    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ ...(readJsonInput(breakGlass) as object), reason: 4711 }));
    expectRefused(await run({ input: invalid }), /invalid\.json: .*reason/);
  });

  it('a fleet input that asks for its one approval, without --approve or --reject', async () => {
    // Prepare
    const file = join(dir, 'fleet-approval.json');
    writeFileSync(
      file,
      JSON.stringify({
        fleet: { select: { tags: { 'rekey:rotate': 'annual' } }, approval: 'fleet' },
        reason: 'annual',
      }),
    );

    // Act
    const result = await run({ input: file, endpoint: `http://127.0.0.1:${closedPort}` });

    // Assess
    expectRefused(result, /asks for approval \(fleet\.approval "fleet"\).*add --approve/);
  });

  it('an approval input without a decision, and --reject without --reason', async () => {
    const gated = join(dir, 'gated.json');
    writeFileSync(
      gated,
      JSON.stringify({ ...(readJsonInput(breakGlass) as object), approval: { required: true } }),
    );
    expectRefused(await run({ input: gated }), /asks for approval/);
    expectRefused(await run({ input: breakGlass, reject: true }), /--reject needs --reason/);
  });
});

describe('connection and input resolution', () => {
  it('takes the Region from AWS_REGION, then AWS_DEFAULT_REGION, and says where it came from', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    expect(await resolveConnection({}, { probe: false })).toMatchObject({
      region: 'eu-west-1',
      regionSource: 'AWS_REGION',
    });
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-central-1');
    vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'no-config'));
    expect(await resolveConnection({}, { probe: false })).toMatchObject({
      region: 'eu-central-1',
      regionSource: 'AWS_DEFAULT_REGION',
    });
  });

  it("reads the profile's Region from the AWS config file, as the SDK does", async () => {
    const config = join(dir, 'config');
    writeFileSync(config, '[profile ops]\nregion = ap-southeast-2\n');
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', 'eu-central-1');
    vi.stubEnv('AWS_CONFIG_FILE', config);
    expect(await resolveConnection({ profile: 'ops' }, { probe: false })).toMatchObject({
      region: 'ap-southeast-2',
      regionSource: 'profile ops',
      profile: 'ops',
    });
  });

  it('gives an emulator us-east-1 when nothing is set, and probes an endpoint that listens', async () => {
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const connection = await resolveConnection({ endpoint: `http://127.0.0.1:${openPort}` });
    expect(connection).toMatchObject({ region: 'us-east-1', endpoint: `http://127.0.0.1:${openPort}` });
  });

  it('accepts the Regions the SDK knows and refuses https-less and odd schemes', () => {
    expect(() => checkRegion('eu-west-1', 'test')).not.toThrow();
    expect(() => checkRegion('mars-north-1', 'test')).toThrow(/not an AWS Region/);
    expect(() => parseEndpoint('ftp://127.0.0.1:5000')).toThrow(/must start with http:\/\/ or https:\/\//);
  });

  it('reads the input from a path, file://<path> and standard input', () => {
    const file = join(dir, 'input.json');
    writeFileSync(file, '{"a":1}');
    expect(readJsonInput(file)).toEqual({ a: 1 });
    expect(readJsonInput(`file://${file}`)).toEqual({ a: 1 });
    expect(readJsonInput('-', () => '{"b":2}')).toEqual({ b: 2 });
    expect(() => readJsonInput('-', () => '  ')).toThrow(/the input the standard input is empty/);
  });
});
