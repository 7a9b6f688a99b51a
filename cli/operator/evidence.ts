import { type _Object, GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import {
  type EvidenceRecord,
  type KeyEvidence,
  REFUSED_NO_TARGET,
  REFUSED_PREFIX,
} from '#features/evidence/schema.js';
import { OperatorError } from '../errors.js';

/**
 * `rekey history`: the evidence records in the bucket, newest first. Keys are
 * `rotations/<target>/<startedAt>-<rotationId>.json` (evidenceKey()), and refused starts'
 * `refused/<target>/...` (refusedEvidenceKey()), so the listings alone order them; only the records
 * shown are read. Refused starts are listed too, marked REFUSED.
 */

export interface HistoryRow {
  key: string;
  rotationId: string | null;
  target: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  strategy: string | null;
  status: string | null;
  /** The key's alias when it had one, else its ARN. */
  oldKey: string | null;
  newKey: string | null;
  requestedBy: string | null;
  executionArn: string | null;
  /** The Region it ran in (the target's, else the execution ARN's). */
  region: string | null;
  /** The error it ended with, and the first sentence of its cause; null when none. */
  error: string | null;
  /** A start refused before anything changed (its record is under refused/). */
  refused: boolean;
  /** Why the record could not be read, when it could not. */
  problem: string | null;
}

const KEY_PATTERN = /^(rotations|refused)\/([^/]+)\/(.+)-(rk[0-9a-f]{10})\.json$/;

export interface ListedRecord {
  key: string;
  target: string;
  startedAt: string;
  rotationId: string;
  refused: boolean;
}

export const parseEvidenceKey = (key: string): ListedRecord | undefined => {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  return {
    key,
    target: match[2] === REFUSED_NO_TARGET ? '-' : (match[2] as string),
    startedAt: match[3] as string,
    rotationId: match[4] as string,
    refused: match[1] === 'refused',
  };
};

/**
 * What an S3 error of an operator command means, said so that the user can act: a missing bucket,
 * a denied read (with the permissions it needs), or the error itself. `key` is the object or
 * prefix read, when there is one.
 */
export const s3Problem = (error: unknown, bucket: string, key = ''): OperatorError => {
  const name = (error as { name?: string }).name;
  const where = `s3://${bucket}/${key}`;
  if (name === 'NoSuchBucket') {
    return new OperatorError(
      `Bucket "${bucket}" does not exist (in this account and Region). Check --bucket, --stack and --region.`,
    );
  }
  if (name === 'AccessDenied') {
    return new OperatorError(
      `Access denied to ${where}: your role needs s3:ListBucket and s3:GetObject on the evidence bucket (README: Operator permissions).`,
    );
  }
  return new OperatorError(`Could not read ${where}: ${(error as Error).message ?? String(error)}`);
};

/** Every object under `prefix`, through the SDK's paginator; an S3 error is said so the user can act. */
export const listObjects = async (s3: S3Client, bucket: string, prefix: string): Promise<_Object[]> => {
  const objects: _Object[] = [];
  try {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
      objects.push(...(page.Contents ?? []));
    }
  } catch (error) {
    throw s3Problem(error, bucket, prefix);
  }
  return objects;
};

export const listEvidence = async (
  s3: S3Client,
  bucket: string,
  db: string | undefined,
): Promise<ListedRecord[]> => {
  const found: ListedRecord[] = [];
  for (const top of ['rotations/', REFUSED_PREFIX]) {
    const prefix = db ? `${top}${db.toLowerCase()}/` : top;
    for (const object of await listObjects(s3, bucket, prefix)) {
      const parsed = object.Key ? parseEvidenceKey(object.Key) : undefined;
      if (parsed) found.push(parsed);
    }
  }
  // ISO 8601 timestamps of one format sort as strings; the rotation id breaks ties.
  return found.sort((a, b) =>
    a.startedAt === b.startedAt ? b.key.localeCompare(a.key) : b.startedAt.localeCompare(a.startedAt),
  );
};

const keyLabel = (key: KeyEvidence | null | undefined): string | null => key?.alias ?? key?.arn ?? null;

export const rowFromRecord = (listed: ListedRecord, record: EvidenceRecord): HistoryRow => {
  const started = record.execution?.startedAt ?? listed.startedAt;
  const finished = record.execution?.finishedAt ?? null;
  const duration = finished ? Date.parse(finished) - Date.parse(started) : Number.NaN;
  return {
    key: listed.key,
    rotationId: record.rotationId ?? listed.rotationId,
    target: record.target?.identifier ?? listed.target,
    startedAt: started,
    finishedAt: finished,
    durationMs: Number.isFinite(duration) ? duration : null,
    strategy: record.strategy?.used ?? null,
    status: record.execution?.status ?? null,
    oldKey: keyLabel(record.keys?.old),
    newKey: keyLabel(record.keys?.new),
    requestedBy: record.startedBy?.requestedBy ?? record.startedBy?.principal ?? null,
    executionArn: record.execution?.arn ?? null,
    region: record.target?.region || record.execution?.arn?.split(':')[3] || null,
    error: errorOf(record),
    refused: listed.refused || record.refused === true,
    problem: null,
  };
};

/** `ValidationFailedError: The new DB instance ... is not fit ...` cut to one sentence of at most 100 characters. */
const errorOf = (record: EvidenceRecord): string | null => {
  const error = record.execution?.error ?? null;
  if (!error) return null;
  const cause = (record.execution?.cause ?? '').split(/(?<=\.)\s/)[0]?.trim() ?? '';
  const text = cause && !cause.startsWith(error) ? `${error}: ${cause}` : cause || error;
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
};

export const readHistory = async (
  s3: S3Client,
  bucket: string,
  options: { db?: string; limit: number },
): Promise<HistoryRow[]> => {
  const listed = (await listEvidence(s3, bucket, options.db)).slice(0, options.limit);
  return Promise.all(
    listed.map(async (entry) => {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: entry.key }));
        const text = (await object.Body?.transformToString()) ?? '';
        return rowFromRecord(entry, JSON.parse(text) as EvidenceRecord);
      } catch (error) {
        return {
          key: entry.key,
          rotationId: entry.rotationId,
          target: entry.target,
          startedAt: entry.startedAt,
          finishedAt: null,
          durationMs: null,
          strategy: null,
          status: null,
          oldKey: null,
          newKey: null,
          requestedBy: null,
          executionArn: null,
          region: null,
          error: null,
          refused: entry.refused,
          problem: `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message ?? String(error)}`,
        };
      }
    }),
  );
};
