import { connect } from 'node:net';
import { partition } from '@aws-sdk/core/client';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { UsageError } from './errors.js';

/**
 * Where a command talks to, resolved once before it does anything: the endpoint (an emulator) or
 * AWS, the Region and the profile. The Region follows the SDK's own chain (`--region`, then
 * AWS_REGION, then the profile's `region` in ~/.aws/config), then AWS_DEFAULT_REGION as the AWS
 * CLI reads it. Against AWS there is no silent default: a rotation must never run in a Region
 * the operator did not mean. An emulator gets us-east-1 when nothing is set.
 */

export interface ConnectionFlags {
  endpoint?: string;
  region?: string;
  profile?: string;
}

export interface Connection {
  endpoint: string | undefined;
  region: string;
  /** Where the Region came from, for the progress line ("eu-west-1, from AWS_REGION"). */
  regionSource: string;
  profile: string | undefined;
}

const EMULATOR_REGION = 'us-east-1';

/** `http://127.0.0.1:5000` -> a URL; anything without a scheme is refused with an example. */
export const parseEndpoint = (endpoint: string): URL => {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(
      `--endpoint "${endpoint}" is not a URL: write it with its scheme, e.g. http://${endpoint.replace(/^\/+/, '')}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(
      `--endpoint "${endpoint}" must start with http:// or https://, e.g. http://127.0.0.1:5000.`,
    );
  }
  return url;
};

/** Edit distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] ?? 0;
};

/** The Regions this SDK knows (its partitions data), for the check and the suggestion. */
const KNOWN_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
  'sa-east-1',
  'us-gov-east-1',
  'us-gov-west-1',
  'cn-north-1',
  'cn-northwest-1',
];

/** True when the SDK's partitions data lists the Region (a misspelt one matches only a partition's pattern). */
export const isKnownRegion = (region: string): boolean =>
  typeof (partition(region) as { description?: string }).description === 'string';

export const checkRegion = (region: string, source: string): void => {
  if (isKnownRegion(region)) return;
  const closest = KNOWN_REGIONS.map((known) => ({ known, d: distance(region, known) })).sort(
    (a, b) => a.d - b.d,
  )[0];
  const hint = closest && closest.d <= 3 ? ` Did you mean ${closest.known}?` : '';
  throw new UsageError(
    `"${region}" (${source}) is not an AWS Region this version of Rekey knows.${hint} Pass --region with a Region such as eu-west-1.`,
  );
};

const regionFromSdkChain = async (profile: string | undefined): Promise<string | undefined> => {
  try {
    // AWS_REGION was read before this; here only the profile's `region` in the config file.
    const provider = loadConfig(
      { ...NODE_REGION_CONFIG_OPTIONS, environmentVariableSelector: () => undefined },
      { ...NODE_REGION_CONFIG_FILE_OPTIONS, ignoreCache: true, ...(profile ? { profile } : {}) },
    );
    return await provider();
  } catch {
    return undefined;
  }
};

/** Answers once something accepts a TCP connection on the endpoint's port within `timeoutMs`. */
export const probeEndpoint = (url: URL, timeoutMs = 2_000): Promise<void> =>
  new Promise((resolve, reject) => {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const socket = connect({ host: url.hostname, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new UsageError(
          `Nothing answers at ${url.origin} (${why}). Start the emulator there (moto_server -H 127.0.0.1 -p ${port}), or correct --endpoint.`,
        ),
      );
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => {
      socket.end();
      resolve();
    });
    socket.once('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
  });

export const resolveConnection = async (
  flags: ConnectionFlags,
  options: { probe?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<Connection> => {
  const env = options.env ?? process.env;
  const endpointText = flags.endpoint ?? (env.AWS_ENDPOINT_URL || undefined);
  const url = endpointText ? parseEndpoint(endpointText) : undefined;
  const profile = flags.profile ?? (env.AWS_PROFILE || undefined);

  let region: string | undefined;
  let regionSource = '--region';
  if (flags.region) region = flags.region;
  else if (env.AWS_REGION) [region, regionSource] = [env.AWS_REGION, 'AWS_REGION'];
  else if (!url) {
    region = await regionFromSdkChain(profile);
    if (region) regionSource = `profile ${profile ?? 'default'}`;
  }
  if (!region && env.AWS_DEFAULT_REGION)
    [region, regionSource] = [env.AWS_DEFAULT_REGION, 'AWS_DEFAULT_REGION'];
  if (!region && url) [region, regionSource] = [EMULATOR_REGION, 'the emulator default'];
  if (!region) {
    throw new UsageError(
      'No AWS Region is set. Pass --region (e.g. --region eu-west-1), set AWS_REGION, or give your profile a region; ' +
        'Rekey never guesses the Region of a rotation.',
    );
  }
  checkRegion(region, regionSource);
  if (url && options.probe !== false) await probeEndpoint(url);
  return { endpoint: url ? endpointText : undefined, region, regionSource, profile };
};
