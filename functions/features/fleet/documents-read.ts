import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { evidenceBucket, planKey } from './store.js';
import type { FleetPlan } from './types.js';

/** The document, or null when there is none. */
export const getJson = async <T>(key: string): Promise<T | null> => {
  try {
    const result = await getEvidenceClients().s3.send(
      new GetObjectCommand({ Bucket: evidenceBucket(), Key: key }),
    );
    return JSON.parse(await (result.Body?.transformToString() ?? Promise.resolve('null'))) as T;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return null;
    throw error;
  }
};

export const readPlan = async (fleetId: string): Promise<FleetPlan> => {
  const plan = await getJson<FleetPlan>(planKey(fleetId));
  if (!plan)
    throw new Error(`FleetPlanMissing: no plan at fleets/${fleetId}/plan.json in the evidence bucket.`);
  return plan;
};
