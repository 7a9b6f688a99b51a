import { DescribeKeyCommand, ListAliasesCommand } from '@aws-sdk/client-kms';
import type { EvidenceClients } from '#aws/evidence-clients.js';
import { logger } from '#runtime/logger.js';
import { describeError } from './deps.js';
import type { KeyEvidence } from './schema.js';

/** A key as KMS describes it when the record is written. */
export const describeKeyEvidence = async (
  keyArn: string | undefined,
  clients: EvidenceClients,
): Promise<KeyEvidence | null> => {
  if (!keyArn) return null;
  const keyId = keyArn.split('/').pop() ?? keyArn;
  try {
    const { KeyMetadata: key } = await clients.kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    const { Aliases } = await clients.kms.send(new ListAliasesCommand({ KeyId: keyId }));
    return {
      arn: key?.Arn ?? keyArn,
      alias: Aliases?.[0]?.AliasName ?? null,
      keyManager: key?.KeyManager ?? 'CUSTOMER',
      keyState: key?.KeyState ?? null,
      creationDate: key?.CreationDate?.toISOString() ?? null,
      deletionDate: key?.DeletionDate?.toISOString() ?? null,
      pendingWindowDays: key?.PendingDeletionWindowInDays ?? null,
      description: key?.Description ?? null,
    };
  } catch (error) {
    // A key that is gone, or not ours to describe: the record keeps its ARN and says what KMS said.
    logger.warn('could not describe a key for the evidence record', { keyArn, error: (error as Error).name });
    return {
      arn: keyArn,
      alias: null,
      keyManager: 'CUSTOMER',
      keyState: null,
      creationDate: null,
      deletionDate: null,
      pendingWindowDays: null,
      description: `DescribeKey failed: ${describeError(error)}`,
    };
  }
};
