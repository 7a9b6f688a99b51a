import { DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';

/**
 * The key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`) behind any identifier KMS
 * accepts: key id, key ARN, alias name or alias ARN, resolved by KMS DescribeKey. RDS may report a
 * key in any of these forms, so two keys are the same only when these ARNs are equal. Unlike the
 * syntactic `canonicalKeyArn` in kms-keys.ts, this also resolves aliases. Errors propagate.
 */
export const resolveKeyArn = async (kms: KMSClient, keyId: string): Promise<string> => {
  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  if (!KeyMetadata?.Arn) throw new Error(`KMS DescribeKey returned no ARN for ${keyId}`);
  return KeyMetadata.Arn;
};

/** True when `a` and `b` name the same KMS key. Equal strings need no KMS call. */
export const resolveToSameKey = async (kms: KMSClient, a: string, b: string): Promise<boolean> => {
  if (a === b) return true;
  const [arnA, arnB] = await Promise.all([resolveKeyArn(kms, a), resolveKeyArn(kms, b)]);
  return arnA === arnB;
};
