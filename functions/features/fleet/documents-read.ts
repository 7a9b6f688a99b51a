import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { evidenceBucket, planKey } from './store.js';
import type { FleetPlan } from './types.js';

/**
 * A fleet document (plan, outcome, record), or null when there is none. The steps read their own
 * evidence bucket; the operator commands pass the stack's bucket and their own client.
 */
export const getJson = async <T>(
  key: string,
  from: { s3: S3Client; bucket: string } = { s3: getEvidenceClients().s3, bucket: evidenceBucket() },
): Promise<T | null> => {
  try {
    const result = await from.s3.send(new GetObjectCommand({ Bucket: from.bucket, Key: key }));
    return JSON.parse((await result.Body?.transformToString('utf8')) ?? 'null') as T;
  } catch (error) {
    if (['NoSuchKey', 'NotFound'].includes((error as Error).name)) return null;
    throw error;
  }
};

export const readPlan = async (fleetId: string): Promise<FleetPlan> => {
  const plan = await getJson<FleetPlan>(planKey(fleetId));
  if (!plan)
    throw new Error(`FleetPlanMissing: no plan at fleets/${fleetId}/plan.json in the evidence bucket.`);
  return plan;
};
