import { defaultDeps, type RecordEvidenceDeps } from './deps.js';
import {
  type ExecutionStatusChangeEvent,
  isExecutionStatusChange,
  recordStoppedExecution,
} from './stopped.js';
import { type RecordEvidenceInput, type RecordEvidenceOutput, writeEvidence } from './writer.js';

/**
 * RecordEvidence: at the end of every execution (success, failure, duplicate start; and, from
 * RecordEvidenceOnStopRule, an execution that was aborted or timed out), write one
 * JSON document to the evidence bucket that answers, after Step Functions has forgotten the
 * execution, who rotated which database from which key to which, when, with what result, and
 * whether the old key is really gone (evidence-schema.ts, docs/evidence-schema.md).
 *
 * Re-runnable: the object key derives from the target, the execution start and the rotation id, so
 * a retry overwrites the same key (a new version in the versioned bucket). CloudTrail is best
 * effort: anything it refuses is written into the record (`cloudTrail.available: false`), never
 * thrown. What does throw (the bucket refusing the write) is caught by the state machine, which
 * then ends the rotation with its own result and says the record is missing.
 */

export const recordEvidence = async (
  input: RecordEvidenceInput,
  deps: RecordEvidenceDeps = defaultDeps,
): Promise<RecordEvidenceOutput> => writeEvidence(input, deps);

/** The RecordEvidence states' input, or RecordEvidenceOnStopRule's event. */
export const recordAnyEvidence = (
  event: RecordEvidenceInput | ExecutionStatusChangeEvent,
): Promise<RecordEvidenceOutput> =>
  isExecutionStatusChange(event) ? recordStoppedExecution(event) : recordEvidence(event);
