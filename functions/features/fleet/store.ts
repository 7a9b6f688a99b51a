/**
 * Where a fleet keeps its state between steps: the plan, one outcome per database
 * and the fleet record in the evidence bucket under `fleets/<fleetId>/`, and the failure counter
 * as one item of the rotation lock table. The state machine passes only identifiers.
 */

export const evidenceBucket = (): string => {
  const bucket = process.env.EVIDENCE_BUCKET;
  if (!bucket)
    throw new Error(
      'EVIDENCE_BUCKET is not set: the fleet steps need the evidence bucket name (template.yaml sets it).',
    );
  return bucket;
};

export const planKey = (fleetId: string) => `fleets/${fleetId}/plan.json`;
export const outcomeKey = (fleetId: string, id: string) => `fleets/${fleetId}/databases/${id}.json`;
export const recordKey = (fleetId: string) => `fleets/${fleetId}/record.json`;

export const failuresKey = (fleetId: string) => ({ lockKey: `fleet#${fleetId}#failures` });
