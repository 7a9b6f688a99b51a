import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { evidenceBucket } from './store.js';

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
