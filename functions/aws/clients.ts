import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';

/**
 * The AWS clients every step uses, built once per (endpoint, region) and reused across
 * invocations. `AWS_ENDPOINT_URL` points them at a local emulator (moto_server) for the local
 * runner and the tests; unset, they talk to AWS with the default credential chain.
 */
export interface AwsClients {
  rds: RDSClient;
  kms: KMSClient;
  /**
   * KMS without the SDK's own retries, for CreateKey only: CreateKey has no idempotency token, so
   * an SDK retry after a timeout could create a second key. The state machine retries the step
   * instead, and the step finds the key the first attempt created by its tag.
   */
  kmsSingleAttempt: KMSClient;
  route53: Route53Client;
  /** The rotation lock table (document client: plain JavaScript values in and out). */
  dynamodb: DynamoDBDocumentClient;
}

/** Milliseconds between two attempts against an emulator endpoint. */
const EMULATOR_RETRY_DELAY_MS = 5;

/**
 * Where the step's clients talk to: `AWS_ENDPOINT_URL` (an emulator) or AWS, in the Lambda's
 * Region. `cacheKey` tells when clients must be built again. `config(maxAttempts)` is a client's
 * configuration, 5 attempts unless it says otherwise:
 * - against AWS, the SDK's adaptive retries;
 * - against an emulator, the same attempts 5 ms apart. The emulator is on this machine and answers
 *   at once. moto answers the operations it does not implement (DescribeAccountAttributes,
 *   DescribeDBClusterAutomatedBackups) with HTTP 500, and the SDK's backoff made those retries
 *   0.7 s of a 1 s local rotation.
 */
export const clientTarget = () => {
  const endpoint = process.env.AWS_ENDPOINT_URL || undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return {
    endpoint,
    region,
    cacheKey: `${endpoint ?? 'aws'}|${region}`,
    config: (maxAttempts = 5) =>
      endpoint
        ? {
            region,
            endpoint,
            retryStrategy: new ConfiguredRetryStrategy(maxAttempts, EMULATOR_RETRY_DELAY_MS),
          }
        : ({ region, endpoint, retryMode: 'adaptive', maxAttempts } as const),
  };
};

/** A Route 53 client of its own (a global service: its endpoint lives in us-east-1 whatever the Region). */
export const newRoute53Client = (): Route53Client => {
  const { endpoint, region, config } = clientTarget();
  return new Route53Client({ ...config(), region: endpoint ? region : 'us-east-1' });
};

const cache = new Map<string, AwsClients>();

export const getClients = (): AwsClients => {
  const { endpoint, region, cacheKey, config } = clientTarget();
  let clients = cache.get(cacheKey);
  if (!clients) {
    clients = {
      rds: new RDSClient(config()),
      kms: new KMSClient(config()),
      kmsSingleAttempt: new KMSClient(config(1)),
      route53: newRoute53Client(),
      dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient(config())),
    };
    cache.set(cacheKey, clients);
  }
  return clients;
};
