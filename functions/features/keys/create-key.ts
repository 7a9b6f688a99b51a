import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { getClients } from '#aws/clients.js';
import {
  describeKeyOrNull,
  findKeyOfRotation,
  isPendingDeletion,
  listKeyTags,
  userTagsOf,
} from '#aws/kms-keys.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { keyAdministratorArnsFromEnv, keyPolicyFor } from '#domain/key-policy.js';
import { TAG_ROLE, TAG_ROTATION_ID, TAG_SOURCE_DB } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { NewKey } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

/** KMS allows at most 50 tags per key; three of them are Rekey's own. */
const MAX_TAGS_PER_KEY = 50;

/**
 * Create the new customer-managed key, or find the one this rotation already created.
 *
 * CreateKey has no idempotency token, so the step checks before it acts:
 * 1. the alias `plan.names.keyAlias` exists and its key is tagged with this rotation id: reuse it;
 *    an alias on any other key is refused (it is not ours to use);
 * 2. no alias, but a key tagged with this rotation id exists (an attempt died between CreateKey
 *    and CreateAlias): give it the alias and reuse it;
 * 3. otherwise create the key (policy: RDS-only use through grants), then the alias.
 * On every path the old key's automatic rotation is mirrored onto the new key.
 */
export const createKey = async (state: RotationState): Promise<NewKey> => {
  const { kms } = getClients();
  const { plan } = state;
  const alias = plan.names.keyAlias;

  const aliased = await describeKeyOrNull(kms, alias);
  if (aliased) {
    const keyId = aliased.KeyId as string;
    const rotationTag = (await listKeyTags(kms, keyId)).get(TAG_ROTATION_ID);
    if (rotationTag !== plan.rotationId) {
      throw new PreconditionFailedError(
        `The alias ${alias} already exists and points at key ${aliased.Arn}, which is not tagged ` +
          `${TAG_ROTATION_ID}=${plan.rotationId} (${rotationTag ? `it is tagged for rotation ${rotationTag}` : 'it has no rotation id tag'}), ` +
          'so Rekey did not create it for this rotation and will not encrypt the new database with it. ' +
          `Find out who created the alias; if it is a leftover, delete it (aws kms delete-alias --alias-name ${alias}) ` +
          'and start the rotation again. Rekey has not changed anything yet.',
      );
    }
    assertUsable(aliased, alias);
    await mirrorRotation(kms, plan, keyId);
    logger.info('found the key this rotation created earlier', { keyArn: aliased.Arn, alias });
    return newKey(aliased, alias, false);
  }

  const orphan = await findKeyOfRotation(kms, plan.rotationId);
  if (orphan) {
    assertUsable(orphan, alias);
    await mirrorRotation(kms, plan, orphan.KeyId as string);
    await createAlias(kms, alias, orphan);
    logger.info('found a key an earlier attempt created without its alias; alias added', {
      keyArn: orphan.Arn,
      alias,
    });
    return newKey(orphan, alias, false);
  }

  // Exactly one CreateKey request per attempt of this step (see kmsSingleAttempt).
  const { KeyMetadata: created } = await getClients().kmsSingleAttempt.send(
    new CreateKeyCommand({
      Description:
        `Rekey: encrypts RDS ${plan.kind === 'cluster' ? 'cluster' : 'instance'} ${plan.target.identifier} ` +
        `(rotation ${plan.rotationId}, replaces ${plan.source.kmsKeyArn})`,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Policy: JSON.stringify(keyPolicyFor({ ...plan, keyAdministratorArns: keyAdministratorArnsFromEnv() })),
      Tags: await tagsForNewKey(kms, plan),
    }),
  );
  if (!created?.KeyId || !created.Arn) {
    throw new Error(
      `CreateKey answered without a key id for ${alias}; run the step again (it finds the key by its tag).`,
    );
  }
  logger.info('created the new key', { keyArn: created.Arn, alias });
  await mirrorRotation(kms, plan, created.KeyId);
  await createAlias(kms, alias, created);
  return newKey(created, alias, true);
};

const newKey = (metadata: KeyMetadata, alias: string, created: boolean): NewKey => ({
  keyId: metadata.KeyId as string,
  keyArn: metadata.Arn as string,
  alias,
  created,
});

/** A key this rotation created must be `Enabled`: RDS cannot copy a snapshot to a disabled or deleting key. */
const assertUsable = (metadata: KeyMetadata, alias: string): void => {
  const state = metadata.KeyState ?? 'unknown';
  if (state === 'Enabled') return;
  const id = metadata.KeyId;
  const fix = isPendingDeletion(metadata)
    ? `If that was a mistake, cancel the deletion and enable the key (aws kms cancel-key-deletion --key-id ${id}, then aws kms enable-key --key-id ${id}) and run the rotation again.`
    : state === 'Disabled'
      ? `Enable it (aws kms enable-key --key-id ${id}) and run the rotation again.`
      : 'Wait until it is Enabled (see the KMS console) and run the rotation again.';
  throw new PreconditionFailedError(
    `The key ${metadata.Arn} that this rotation created (alias ${alias}) is in state ${state}, so RDS cannot use it. ${fix}`,
  );
};

/** Rekey's tags, then the old key's own user tags (not for the AWS-managed aws/rds key), within KMS's 50-tag limit. */
const tagsForNewKey = async (kms: KMSClient, plan: RotationPlan) => {
  const ours: [string, string][] = [
    [TAG_ROTATION_ID, plan.rotationId],
    [TAG_SOURCE_DB, plan.target.identifier],
    [TAG_ROLE, 'new-key'],
  ];
  const inherited =
    plan.source.keyManager === 'AWS' ? [] : [...userTagsOf(await listKeyTags(kms, plan.source.kmsKeyArn))];
  const room = MAX_TAGS_PER_KEY - ours.length;
  if (inherited.length > room) {
    logger.warn('the old key has more user tags than fit on the new key; the rest are not copied', {
      notCopied: inherited.slice(room).map(([key]) => key),
    });
  }
  return [...ours, ...inherited.slice(0, room)].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
};

/**
 * Automatic rotation of the new key mirrors the old key's: on (with the same period) when the old
 * key rotates, and always on when the old key is the AWS-managed aws/rds key (rotated every year).
 * Idempotent: reads the new key's status first and only enables what is missing.
 */
const mirrorRotation = async (kms: KMSClient, plan: RotationPlan, newKeyId: string): Promise<void> => {
  let periodDays: number | undefined;
  if (plan.source.keyManager !== 'AWS') {
    const old = await rotationStatus(kms, plan.source.kmsKeyArn);
    if (!old.KeyRotationEnabled) return;
    periodDays = old.RotationPeriodInDays;
  }
  const current = await rotationStatus(kms, newKeyId);
  if (
    current.KeyRotationEnabled &&
    (periodDays === undefined || current.RotationPeriodInDays === periodDays)
  ) {
    return;
  }
  await kms.send(
    new EnableKeyRotationCommand({
      KeyId: newKeyId,
      ...(periodDays !== undefined && { RotationPeriodInDays: periodDays }),
    }),
  );
  logger.info('enabled automatic rotation on the new key, like the old key', { newKeyId, periodDays });
};

/** A key with imported material has no automatic rotation: KMS answers UnsupportedOperationException. */
const rotationStatus = async (
  kms: KMSClient,
  keyId: string,
): Promise<{ KeyRotationEnabled?: boolean; RotationPeriodInDays?: number }> => {
  try {
    return await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
  } catch (error) {
    if (isAwsError(error, 'UnsupportedOperationException')) return { KeyRotationEnabled: false };
    throw error;
  }
};

/** CreateAlias, tolerating a concurrent attempt that created the same alias on the same key. */
const createAlias = async (kms: KMSClient, alias: string, key: KeyMetadata): Promise<void> => {
  try {
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
  } catch (error) {
    if (!isAwsError(error, 'AlreadyExistsException')) throw error;
    const target = await describeKeyOrNull(kms, alias);
    if (target?.KeyId !== key.KeyId) {
      throw new PreconditionFailedError(
        `The alias ${alias} appeared while this rotation was creating it, and points at key ${target?.Arn ?? '(unknown)'} ` +
          `instead of ${key.Arn}, the key this rotation created. Something else is using Rekey's alias name: ` +
          `find out what, delete the alias (aws kms delete-alias --alias-name ${alias}) and run the rotation again.`,
      );
    }
  }
};
