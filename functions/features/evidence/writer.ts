import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { RotationPlan } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';
import { buildEvidence } from './build.js';
import { lookUpCloudTrail } from './cloudtrail.js';
import {
  type EvidenceState,
  type ExecutionContext,
  evidenceTargetName,
  type HistoryInput,
  isRefusedStart,
  rotationIdOf,
  type StoppedExecution,
} from './context.js';
import { defaultDeps, type RecordEvidenceDeps } from './deps.js';
import { readHistory } from './history.js';
import { describeKeyEvidence } from './key-evidence.js';
import { localRunFor } from './local-history.js';
import { deriveResources, resourceNamesOf } from './resources.js';
import { type EvidenceRecord, evidenceKey, refusedEvidenceKey } from './schema.js';
import { deriveSteps } from './steps.js';

/** Collects what the record needs from AWS, builds it, and writes it to the evidence bucket (S3). */

export interface RecordEvidenceInput {
  state: EvidenceState;
  execution: ExecutionContext;
}

export interface RecordEvidenceOutput {
  bucket: string;
  key: string;
  uri: string;
  versionId: string | null;
  /** SHA-256 of the document (base64), as S3 checked and stored it. */
  checksumSHA256: string | null;
}

export class EvidenceConfigurationError extends Error {
  override readonly name = 'EvidenceConfigurationError';
}

export const evidenceBucketName = (): string => {
  const bucket = process.env.EVIDENCE_BUCKET;
  if (!bucket) {
    throw new EvidenceConfigurationError(
      'EVIDENCE_BUCKET is not set: the function needs the evidence bucket name (template.yaml sets it; `rekey run` needs --evidence-bucket against AWS).',
    );
  }
  return bucket;
};

/** Options of a record written outside the state machine (an aborted or timed-out execution). */
export interface CollectOptions {
  /** The history, already read (with execution data) to rebuild the state. */
  history?: HistoryInput;
  stopped?: StoppedExecution;
}

/** Builds the record without writing it (for callers that want it, and the tests). */
export const collectEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps = defaultDeps,
  options: CollectOptions = {},
): Promise<EvidenceRecord> => {
  const { state, execution } = input;
  const clients = deps.clients();
  const history = options.history ?? (await readHistory(execution.Id, clients));
  const resources = deriveResources(state, deriveSteps(history.events));
  const plan = state.plan as RotationPlan | undefined;
  const [oldKey, newKey] = await Promise.all([
    describeKeyEvidence(plan?.source?.kmsKeyArn, clients),
    describeKeyEvidence(state.newKey?.keyArn, clients),
  ]);
  const localRun = localRunFor(execution.Id);
  const cloudTrail = await lookUpCloudTrail(
    execution.Id,
    new Date(execution.StartTime),
    resourceNamesOf(state, resources),
    deps,
    // A local run has no StartExecution call: its record says who ran it from the local runner.
    { findStart: !localRun },
  );
  return buildEvidence({
    state,
    execution,
    history: { source: history.source, events: history.events, truncated: history.truncated },
    cloudTrail,
    keys: { old: oldKey, new: newKey },
    now: deps.now(),
    stopped: options.stopped,
    ...(localRun ? { localRun } : {}),
  });
};

/** A refused start under `refused/`, every other execution under `rotations/` (docs/evidence-schema.md). */
export const evidenceKeyOf = (input: RecordEvidenceInput, options: CollectOptions = {}): string => {
  const { state, execution } = input;
  const target = evidenceTargetName(state);
  const rotationId = rotationIdOf(state, execution.Id);
  return !options.stopped && isRefusedStart(state)
    ? refusedEvidenceKey(target, execution.StartTime, rotationId)
    : evidenceKey(target ?? 'unknown-target', execution.StartTime, rotationId);
};

export const writeEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps,
  options: CollectOptions = {},
): Promise<RecordEvidenceOutput> => {
  const bucket = evidenceBucketName();
  const key = evidenceKeyOf(input, options);
  const record = await collectEvidence(input, deps, options);
  const written = await deps.clients().s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: `${JSON.stringify(record, null, 2)}\n`,
      ContentType: 'application/json',
      // Integrity (and what S3 requires of a write to a bucket with Object Lock retention).
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  const uri = `s3://${bucket}/${key}`;
  logger.info('evidence recorded', {
    uri,
    status: record.execution.status,
    cloudTrailAvailable: record.cloudTrail.available,
    historyEvents: record.history.events.length,
  });
  return {
    bucket,
    key,
    uri,
    versionId: written.VersionId ?? null,
    checksumSHA256: written.ChecksumSHA256 ?? null,
  };
};
