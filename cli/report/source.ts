import { readFile } from 'node:fs/promises';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { rotationIdFor } from '#domain/naming.js';
import { EVIDENCE_SCHEMA_VERSION, type EvidenceRecord, REFUSED_PREFIX } from '#features/evidence/schema.js';
import { OperatorError } from '../errors.js';
import { DEFAULT_STACK, stackOutput } from '../operator/aws.js';

/**
 * Where `rekey report` finds the evidence record: a local file, an S3 object, or the evidence
 * bucket's record for one execution ARN. Every failure is a `ReportSourceError` whose message says
 * what was looked for, where, and what to do.
 */
export class ReportSourceError extends Error {
  override readonly name = 'ReportSourceError';
}

export interface SourceOptions {
  /** The evidence bucket, for an execution ARN; default: the stack output `EvidenceBucketName`. */
  bucket?: string;
  /** The stack to read `EvidenceBucketName` from (default `rekey`). */
  stack?: string;
  region?: string;
  endpoint?: string;
}

export const EXECUTION_ARN_PATTERN =
  /^arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):execution:[^:\s]+:[^:\s]+$/;
const S3_URL_PATTERN = /^s3:\/\/([^/]+)\/(.+)$/;
export const EVIDENCE_PREFIX = 'rotations/';
/** The operator commands' default stack, so `report` reads the same stack as `status`. */
export { DEFAULT_STACK };

/** Parse and check one record: JSON, an object, the schema version this renderer knows, the fields it needs. */
export const parseRecord = (text: string, where: string): EvidenceRecord => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ReportSourceError(`${where} is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ReportSourceError(`${where} is not an evidence record: expected a JSON object.`);
  }
  const record = value as Record<string, unknown>;
  if (record.schemaVersion !== EVIDENCE_SCHEMA_VERSION) {
    const found =
      record.schemaVersion === undefined
        ? 'no schemaVersion field'
        : `schemaVersion ${JSON.stringify(record.schemaVersion)}`;
    throw new ReportSourceError(
      `${where} has ${found}; this rekey reads ${EVIDENCE_SCHEMA_VERSION} only. ` +
        'Render it with the rekey version that wrote it, or upgrade rekey.',
    );
  }
  const missing = (
    [
      ['rotationId', typeof record.rotationId === 'string'],
      ['execution', typeof record.execution === 'object' && record.execution !== null],
      ['startedBy', typeof record.startedBy === 'object' && record.startedBy !== null],
      ['keys', typeof record.keys === 'object' && record.keys !== null],
      ['oldKeyOutcome', typeof record.oldKeyOutcome === 'object' && record.oldKeyOutcome !== null],
      ['resources', Array.isArray(record.resources)],
      ['steps', Array.isArray(record.steps)],
      ['history', typeof record.history === 'object' && record.history !== null],
      ['cloudTrail', typeof record.cloudTrail === 'object' && record.cloudTrail !== null],
      ['notes', Array.isArray(record.notes)],
    ] as const
  )
    .filter(([, ok]) => !ok)
    .map(([field]) => field);
  if (missing.length > 0) {
    throw new ReportSourceError(
      `${where} is a ${EVIDENCE_SCHEMA_VERSION} record with missing or malformed fields: ${missing.join(', ')}.`,
    );
  }
  return value as EvidenceRecord;
};

export const clientConfig = (options: SourceOptions, region?: string) => ({
  region: options.region ?? region ?? process.env.AWS_REGION,
  endpoint: options.endpoint ?? (process.env.AWS_ENDPOINT_URL || undefined),
  // An emulator has no virtual-host buckets.
  forcePathStyle: Boolean(options.endpoint ?? process.env.AWS_ENDPOINT_URL),
});

const errorName = (error: unknown): string => (error as { name?: string })?.name ?? '';

export const getObjectText = async (
  s3: S3Client,
  bucket: string,
  key: string,
  /** What to say when there is no such object, instead of the default. */
  missing?: string,
): Promise<string> => {
  const where = `s3://${bucket}/${key}`;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (!response.Body) throw new ReportSourceError(`${where} has no body.`);
    return await response.Body.transformToString('utf8');
  } catch (error) {
    if (error instanceof ReportSourceError) throw error;
    const name = errorName(error);
    if (name === 'NoSuchKey' || name === 'NotFound') {
      throw new ReportSourceError(
        missing ?? `No evidence record at ${where}: the object does not exist (S3 ${name}).`,
      );
    }
    if (name === 'NoSuchBucket') {
      throw new ReportSourceError(`No evidence record at ${where}: the bucket ${bucket} does not exist.`);
    }
    if (name === 'AccessDenied') {
      throw new ReportSourceError(`Cannot read ${where}: access denied (s3:GetObject).`);
    }
    throw new ReportSourceError(
      `Cannot read ${where}: ${name ? `${name}: ` : ''}${(error as Error).message}`,
    );
  }
};

/**
 * The evidence bucket: --bucket, else the stack's `EvidenceBucketName` output, read as the operator
 * commands read it (cli/operator/aws.ts stackOutput); a stack it cannot use is said as a source error.
 */
export const evidenceBucketOf = async (options: SourceOptions, region: string): Promise<string> => {
  if (options.bucket) return options.bucket;
  const { region: clientRegion, endpoint } = clientConfig(options, region);
  const cloudformation = new CloudFormationClient({ region: clientRegion, endpoint });
  try {
    return await stackOutput(cloudformation, options.stack ?? DEFAULT_STACK, region, 'EvidenceBucketName');
  } catch (error) {
    throw error instanceof OperatorError ? new ReportSourceError(error.message) : error;
  } finally {
    cloudformation.destroy();
  }
};

/** The record key of one execution: `rotations/<target>/<startedAt>-<rotationId>.json` (or under `refused/`), found by its suffix. */
const findExecutionKey = async (s3: S3Client, bucket: string, arn: string): Promise<string> => {
  const rotationId = rotationIdFor(arn);
  const suffix = `-${rotationId}.json`;
  const matches: string[] = [];
  let token: string | undefined;
  try {
    // A refused start's record is under refused/, apart from the rotations.
    for (const prefix of [EVIDENCE_PREFIX, REFUSED_PREFIX]) {
      if (matches.length > 0) break;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key?.endsWith(suffix)) matches.push(object.Key);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    }
  } catch (error) {
    const name = errorName(error);
    throw new ReportSourceError(
      name === 'NoSuchBucket'
        ? `The evidence bucket ${bucket} does not exist.`
        : `Cannot list s3://${bucket}/${EVIDENCE_PREFIX}: ${name ? `${name}: ` : ''}${(error as Error).message}`,
    );
  }
  const key = matches.sort().at(-1);
  if (!key) {
    throw new ReportSourceError(
      `No evidence record for execution ${arn} (rotation id ${rotationId}) under s3://${bucket}/${EVIDENCE_PREFIX} ` +
        `(nor under ${REFUSED_PREFIX}). The record is written when the execution ends: is it still running, or was it started by another stack?`,
    );
  }
  return key;
};

export interface LoadedRecord {
  record: EvidenceRecord;
  /** Where it came from, as a path or an s3:// URL. */
  location: string;
}

export const loadRecord = async (source: string, options: SourceOptions = {}): Promise<LoadedRecord> => {
  const s3Url = S3_URL_PATTERN.exec(source);
  if (s3Url) {
    const [, bucket = '', key = ''] = s3Url;
    const s3 = new S3Client(clientConfig(options));
    return { record: parseRecord(await getObjectText(s3, bucket, key), source), location: source };
  }
  const arn = EXECUTION_ARN_PATTERN.exec(source);
  if (arn) {
    const region = options.region ?? (arn[1] as string);
    const bucket = await evidenceBucketOf(options, region);
    const s3 = new S3Client(clientConfig(options, region));
    const key = await findExecutionKey(s3, bucket, source);
    const location = `s3://${bucket}/${key}`;
    return { record: parseRecord(await getObjectText(s3, bucket, key), location), location };
  }
  if (source.startsWith('arn:')) {
    throw new ReportSourceError(
      `${source} is not a Step Functions execution ARN (arn:aws:states:<region>:<account>:execution:<state machine>:<name>).`,
    );
  }
  let text: string;
  try {
    text = await readFile(source, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ReportSourceError(
      code === 'ENOENT'
        ? `No evidence file at ${source}. Give a path, an s3://bucket/key URL or an execution ARN.`
        : `Cannot read ${source}: ${(error as Error).message}`,
    );
  }
  return { record: parseRecord(text, source), location: source };
};
