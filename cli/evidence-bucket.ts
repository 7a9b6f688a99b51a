import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** The evidence bucket the local runner uses on an emulator (the deployed stack names its own). */
export const LOCAL_EVIDENCE_BUCKET = 'rekey-evidence';

/** Where `npm start` and `rekey run` put the records they download (git-ignored). */
export const EVIDENCE_OUTPUT_DIR = 'rekey-output';

const s3 = (): S3Client =>
  new S3Client({
    endpoint: process.env.AWS_ENDPOINT_URL || undefined,
    region: process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL),
  });

/**
 * Creates the evidence bucket on an emulator if it is missing, versioned like `EvidenceBucket` in
 * template.yaml, so a local run writes its record the way a deployed one does.
 */
export const ensureEvidenceBucket = async (name: string): Promise<void> => {
  const client = s3();
  try {
    try {
      await client.send(new HeadBucketCommand({ Bucket: name }));
      return;
    } catch (error) {
      if (!['NotFound', 'NoSuchBucket'].includes((error as Error).name)) throw error;
    }
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } catch (error) {
      // Another process (a second `rekey run`) created it at the same moment.
      if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes((error as Error).name)) throw error;
    }
    await client.send(
      new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  } finally {
    client.destroy();
  }
};

/** Reads a record back from the bucket (as written: the JSON document's text). */
export const readEvidence = async (bucket: string, key: string): Promise<string> => {
  const client = s3();
  try {
    const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await Body?.transformToString('utf8')) ?? '';
  } finally {
    client.destroy();
  }
};

/**
 * Downloads the record of a run to `<dir>/<rotationId>.evidence.json` and returns the file's path.
 */
export const saveEvidence = async (
  evidence: { bucket: string; key: string },
  dir = EVIDENCE_OUTPUT_DIR,
): Promise<string> => {
  const text = await readEvidence(evidence.bucket, evidence.key);
  const rotationId = (JSON.parse(text) as { rotationId?: string }).rotationId ?? 'rotation';
  mkdirSync(dir, { recursive: true });
  const path = resolve(join(dir, `${rotationId}.evidence.json`));
  writeFileSync(path, text);
  return path;
};
