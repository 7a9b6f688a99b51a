import { readFile } from 'node:fs/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { FleetOutput } from '#features/fleet/types.js';
import { isFleetRecord, parseFleetRecord } from './fleet.js';
import type { SourceOptions } from './source.js';

/**
 * A fleet record from a local file or s3://bucket/key (docs/fleet.md), or null when the source is
 * anything else: the single-record loader then reads it and says what is wrong with it.
 */
export const loadFleetRecord = async (
  source: string,
  options: SourceOptions = {},
): Promise<{ fleet: FleetOutput; location: string } | null> => {
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
