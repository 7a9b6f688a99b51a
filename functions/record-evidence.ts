import { recordAnyEvidence } from '#features/evidence/record-evidence.js';
import { makeHandler } from '#runtime/handler.js';

/** The state machine's RecordEvidence states, and RecordEvidenceOnStopRule's events. */
export const handler = makeHandler(recordAnyEvidence, { correlationIdPath: 'state.plan.rotationId' });
