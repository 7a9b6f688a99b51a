import {
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListResourceTagsCommand,
  type ListResourceTagsCommandOutput,
} from '@aws-sdk/client-kms';
import { isAwsError } from '#domain/errors.js';
import { isUserTagKey, TAG_ROTATION_ID } from '#domain/naming.js';

/** Where a bare key id lives: the account and Region of the rotation. */
export interface KeyScope {
  partition: string;
  region: string;
  accountId: string;
}

const KEY_ID = /^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * The canonical ARN of a key, so that two references to it compare equal. RDS returns key ARNs,
 * but older resources (and moto) carry a bare key id; a bare id is in the rotation's own account
 * and Region. An alias, or anything else that is not a key reference, is returned unchanged
 * (it never equals a key ARN, so it never matches by accident).
 */
export const canonicalKeyArn = (keyIdOrArn: string, scope: KeyScope): string => {
  const value = keyIdOrArn.trim();
  if (KEY_ID.test(value)) {
    return `arn:${scope.partition}:kms:${scope.region}:${scope.accountId}:key/${value.toLowerCase()}`;
  }
  const arn = /^arn:([^:]+):kms:([^:]+):(\d{12}):key\/(.+)$/.exec(value);
  if (arn) return `arn:${arn[1]}:kms:${arn[2]}:${arn[3]}:key/${(arn[4] ?? '').toLowerCase()}`;
  return value;
};

/** True when `keyIdOrArn` (from an RDS resource; may be empty) names the key whose canonical ARN is `keyArn`. */
export const isSameKey = (keyIdOrArn: string | null | undefined, keyArn: string, scope: KeyScope): boolean =>
  typeof keyIdOrArn === 'string' &&
  keyIdOrArn.length > 0 &&
  canonicalKeyArn(keyIdOrArn, scope) === canonicalKeyArn(keyArn, scope);

/** The key's metadata, or `null` when the key or alias does not exist (NotFoundException). */
export const describeKeyOrNull = async (kms: KMSClient, keyId: string): Promise<KeyMetadata | null> => {
  try {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    return KeyMetadata ?? null;
  } catch (error) {
    if (isAwsError(error, 'NotFoundException')) return null;
    throw error;
  }
};

/** Every tag of a key (ListResourceTags, all pages), as a map. */
export const listKeyTags = async (kms: KMSClient, keyId: string): Promise<Map<string, string>> => {
  const tags = new Map<string, string>();
  let marker: string | undefined;
  do {
    const page: ListResourceTagsCommandOutput = await kms.send(
      new ListResourceTagsCommand({ KeyId: keyId, Marker: marker }),
    );
    for (const tag of page.Tags ?? []) {
      if (tag.TagKey) tags.set(tag.TagKey, tag.TagValue ?? '');
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return tags;
};

/** The user's own tags: without `rekey:*` (ours) and `aws:*` (reserved by AWS). */
export const userTagsOf = (tags: Map<string, string>): Map<string, string> =>
  new Map([...tags].filter(([key]) => isUserTagKey(key)));

/** Key states in which a key is on its way out and must not be used or adopted. */
export const isPendingDeletion = (metadata: KeyMetadata): boolean =>
  metadata.KeyState === 'PendingDeletion' || metadata.KeyState === 'PendingReplicaDeletion';

/**
 * The key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`) behind any identifier KMS
 * accepts: key id, key ARN, alias name or alias ARN, resolved by KMS DescribeKey. RDS may report a
 * key in any of these forms, so two keys are the same only when these ARNs are equal. Unlike the
 * syntactic `canonicalKeyArn` above, this also resolves aliases. Errors propagate.
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

/** The key's rotation id tag; a key we may not read (another team's key policy) or that just vanished is not ours. */
export const rotationTagOf = async (kms: KMSClient, keyId: string): Promise<string | undefined> => {
  try {
    return (await listKeyTags(kms, keyId)).get(TAG_ROTATION_ID);
  } catch (error) {
    if (isAwsError(error, 'AccessDeniedException', 'NotFoundException')) return undefined;
    throw error;
  }
};
