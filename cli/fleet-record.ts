import { fitOutput } from '#features/fleet/payloads.js';
import { recordKey } from '#features/fleet/store.js';
import type { FleetOutput } from '#features/fleet/types.js';
import { readEvidence } from './evidence-bucket.js';

/**
 * The fleet record FinishFleet wrote for a local run (`fleets/<execution name>/record.json` in the
 * run's evidence bucket), as the fleet output: `evidenceUri` says where it is (the record is written
 * before it knows), and the plan's location is left out. Null when there is none: the plan failed,
 * or the record could not be written (the failure's cause then says so).
 */
export const readFleetRecord = async (
  bucket: string,
  executionArn: string,
): Promise<{ record: FleetOutput; uri: string } | null> => {
  const key = recordKey(executionArn.split(':').at(-1) ?? '');
  let text: string;
  try {
    text = await readEvidence(bucket, key);
  } catch (error) {
    if (['NoSuchKey', 'NotFound'].includes((error as Error).name)) return null;
    throw error;
  }
  const uri = `s3://${bucket}/${key}`;
  const { planUri: _planUri, ...record } = JSON.parse(text) as FleetOutput & { planUri?: string };
  return { record: { ...record, evidenceUri: uri }, uri };
};

/** The record fitted as the fleet machine fits its output, so a failed run prints what a successful one does. */
export const fleetOutputFromRecord = (record: FleetOutput): FleetOutput => {
  const { complete: _complete, ...fitted } = fitOutput(record);
  return fitted;
};
