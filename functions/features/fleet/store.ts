import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { getEvidenceClients } from '#aws/evidence-clients.js';

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

const lockTable = (): string => {
  const table = process.env.LOCK_TABLE_NAME;
  if (!table)
    throw new Error(
      'LOCK_TABLE_NAME is not set: the fleet steps need the lock table name (template.yaml sets it).',
    );
  return table;
};

export const planKey = (fleetId: string) => `fleets/${fleetId}/plan.json`;
export const outcomeKey = (fleetId: string, id: string) => `fleets/${fleetId}/databases/${id}.json`;
export const recordKey = (fleetId: string) => `fleets/${fleetId}/record.json`;

export const putJson = async (key: string, value: unknown): Promise<string> => {
  const bucket = evidenceBucket();
  await getEvidenceClients().s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(value, null, 2),
      ContentType: 'application/json',
    }),
  );
  return `s3://${bucket}/${key}`;
};

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

const failuresKey = (fleetId: string) => ({ lockKey: `fleet#${fleetId}#failures` });

export const readFailures = async (fleetId: string): Promise<number> => {
  const result = await getClients().dynamodb.send(
    new GetCommand({ TableName: lockTable(), Key: failuresKey(fleetId), ConsistentRead: true }),
  );
  return Number(result.Item?.failures ?? 0);
};

export const addFailure = async (fleetId: string): Promise<number> => {
  const result = await getClients().dynamodb.send(
    new UpdateCommand({
      TableName: lockTable(),
      Key: failuresKey(fleetId),
      UpdateExpression: 'ADD failures :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(result.Attributes?.failures ?? 1);
};
