import type { EvidenceRecord } from '#features/evidence/schema.js';
import type { DatabaseOutcome } from '#features/fleet/types.js';
import { readEvidence } from '../../cli/evidence-bucket.js';

/** Fleet test helpers that read what the fleet recorded, never the step code's own view. */

/** The most rotations running at one moment, from each outcome's recorded start and finish. */
export const mostAtOnce = (outcomes: DatabaseOutcome[]): number =>
  Math.max(
    ...outcomes.map(
      (one) =>
        outcomes.filter(
          (other) =>
            String(other.startedAt) <= String(one.startedAt) &&
            String(other.finishedAt) > String(one.startedAt),
        ).length,
    ),
  );

/** A child rotation's evidence record, from the link in its outcome. */
export const evidenceOf = async (outcome: DatabaseOutcome | undefined): Promise<EvidenceRecord> => {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(outcome?.evidenceUri ?? '') ?? [];
  return JSON.parse(await readEvidence(String(bucket), String(key))) as EvidenceRecord;
};

/** What a child rotation's RetireKey decided about the old key, from its evidence record. */
export const oldKeyOutcomeOf = async (
  outcome: DatabaseOutcome | undefined,
): Promise<EvidenceRecord['oldKeyOutcome']> => (await evidenceOf(outcome)).oldKeyOutcome;
