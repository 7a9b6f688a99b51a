import { readFile } from 'node:fs/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { recordKey } from '#features/fleet/store.js';
import type { FleetOutput } from '#features/fleet/types.js';
import { CLI } from '../invocation.js';
import { isFleetExecutionArn } from '../operator/aws.js';
import { isFleetRecord, parseFleetRecord } from './fleet.js';
import {
  clientConfig,
  EXECUTION_ARN_PATTERN,
  evidenceBucketOf,
  getObjectText,
  ReportSourceError,
  type SourceOptions,
} from './source.js';

/**
 * The fleet record of a fleet execution (its state machine is the stack's `<stack>-rotate-fleet`):
 * `fleets/<execution name>/record.json` in the evidence bucket (--bucket, else the stack's output).
 */
const loadFleetExecutionRecord = async (
  arn: string,
  options: SourceOptions,
): Promise<{ fleet: FleetOutput; location: string }> => {
  const region = options.region ?? (EXECUTION_ARN_PATTERN.exec(arn)?.[1] as string);
  const bucket = await evidenceBucketOf(options, region);
  const key = recordKey(arn.split(':').at(-1) as string);
  const location = `s3://${bucket}/${key}`;
  const s3 = new S3Client(clientConfig(options, region));
  try {
    const text = await getObjectText(
      s3,
      bucket,
      key,
      `No fleet record at ${location}: FinishFleet writes it when the fleet ends. Is it still running? See ${CLI} status ${arn}`,
    );
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ReportSourceError(`${location} is not JSON: ${(error as Error).message}`);
    }
    if (!isFleetRecord(value)) {
      throw new ReportSourceError(`${location} is not a fleet record: it has no fleetId and databases.`);
    }
    const fleet = parseFleetRecord(value as unknown as Record<string, unknown>, location);
    // The record is written before its own location is known: it says where it is here.
    return { fleet: { ...fleet, evidenceUri: fleet.evidenceUri ?? location }, location };
  } finally {
    s3.destroy();
  }
};

/**
 * A fleet record from a local file, s3://bucket/key or a fleet execution ARN (docs/fleet.md), or
 * null when the source is anything else: the single-record loader then reads it and says what is wrong with it.
 */
export const loadFleetRecord = async (
  source: string,
  options: SourceOptions = {},
): Promise<{ fleet: FleetOutput; location: string } | null> => {
  // A fleet execution's record is the fleet's, whatever it holds: its problems are said, not passed on.
  if (EXECUTION_ARN_PATTERN.test(source) && isFleetExecutionArn(source))
    return loadFleetExecutionRecord(source, options);
  let text: string;
  try {
    const s3Url = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
    if (s3Url) {
      const endpoint = options.endpoint ?? (process.env.AWS_ENDPOINT_URL || undefined);
      const s3 = new S3Client({
        region: options.region ?? process.env.AWS_REGION,
        endpoint,
        forcePathStyle: Boolean(endpoint),
      });
      const response = await s3.send(new GetObjectCommand({ Bucket: s3Url[1], Key: s3Url[2] }));
      text = (await response.Body?.transformToString('utf8')) ?? '';
    } else if (source.startsWith('arn:')) {
      return null;
    } else {
      text = await readFile(source, 'utf8');
    }
  } catch {
    return null;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isFleetRecord(value)) return null;
  return { fleet: parseFleetRecord(value as unknown as Record<string, unknown>, source), location: source };
};
