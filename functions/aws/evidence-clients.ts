import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientTarget } from './clients.js';

/**
 * The clients RecordEvidence uses, built once per (endpoint, region) like `getClients()`.
 * CloudTrail has no SDK retries: LookupEvents allows 2 requests per second per account and Region,
 * and the step backs off on ThrottlingException itself, within a time budget it can account for.
 */
export interface EvidenceClients {
  cloudTrail: CloudTrailClient;
  kms: KMSClient;
  s3: S3Client;
  sfn: SFNClient;
}

const cache = new Map<string, EvidenceClients>();

export const getEvidenceClients = (): EvidenceClients => {
  const { endpoint, cacheKey, config } = clientTarget();
  let clients = cache.get(cacheKey);
  if (!clients) {
    clients = {
      cloudTrail: new CloudTrailClient(config(1)),
      kms: new KMSClient(config()),
      // An emulator serves buckets by path (http://host:port/bucket), not by virtual host.
      s3: new S3Client({ ...config(), forcePathStyle: Boolean(endpoint) }),
      sfn: new SFNClient(config()),
    };
    cache.set(cacheKey, clients);
  }
  return clients;
};
