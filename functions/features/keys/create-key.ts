import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  type KeyMetadata,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { getClients } from '#aws/clients.js';
import { type KeyScanCursor, scanForKeyOfRotation } from '#aws/kms-key-scan.js';
import { describeKeyOrNull, isPendingDeletion, listKeyTags, userTagsOf } from '#aws/kms-keys.js';
import { isAwsError, PreconditionFailedError, TransientAwsError, WaitTimeoutError } from '#domain/errors.js';
import { keyAdministratorArnsFromEnv, keyPolicyFor } from '#domain/key-policy.js';
import { namesOfKind } from '#domain/kinds.js';
import { POLL_LIMITS, type Poll, SCAN_BUDGETS, TAG_PROPAGATION_WINDOW_MS } from '#domain/limits.js';
import { TAG_ROLE, TAG_ROTATION_ID, TAG_SOURCE_DB } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { NewKey } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { NO_DEADLINE, type StepContext } from '#runtime/handler.js';
import { logger } from '#runtime/logger.js';

/** KMS allows at most 50 tags per key; three of them are Rekey's own. */
const MAX_TAGS_PER_KEY = 50;

/**
 * Where CreateKey's search for a key an earlier attempt left without its alias stands:
 * `settling` waits until no earlier attempt can still be running, `scanning` reads the account's
 * keys a bounded share per call, `clear` read them all and found none of this rotation's.
 */
export type OrphanSearch =
  | { phase: 'settling' }
  | { phase: 'scanning'; cursor: KeyScanCursor }
  | { phase: 'clear'; scannedKeys: number };

/** CreateKey's result while it is still searching: no key yet, and when it looks again. */
export interface NewKeyPending {
  done: false;
  alias: string;
  poll: Poll;
  search: OrphanSearch;
}

/**
 * What the state machine passes to CreateKey: the execution state and `$$.State.RetryCount`, how
 * many times Step Functions has retried this state with this same input.
 */
export interface CreateKeyInput {
  state: RotationState;
  retryCount: number;
}

export interface CreateKeyOptions extends Partial<StepContext> {
  retryCount?: number;
}

/**
 * Create the new customer-managed key, or find the one this rotation already created.
 *
 * CreateKey has no idempotency token, and a key that lost its alias can only be found by reading
 * the tags of every key of the account. So the step checks before it acts, cheaply first:
 * 1. the alias `plan.names.keyAlias` exists and its key is tagged with this rotation id: reuse it;
 *    an alias on any other key is refused (it is not ours to use);
 * 2. no alias, and no earlier attempt with this input can have created a key (Step Functions'
 *    retry count is 0, and no earlier call of the step recorded anything): create the key and, at
 *    once, its alias, the durable record of the key;
 * 3. no alias after an attempt that may have created a key (a retry, or a re-run after a search
 *    found nothing and then created): wait until that attempt can no longer run, then search the
 *    account's keys for one tagged with this rotation id, a bounded share per call (key-scan.ts),
 *    returning `{ done: false, poll }` between calls. Adopt what it finds; create only after a
 *    search that found nothing, in a later call, so that a call that may have created a key is
 *    never resumed from the middle of a search.
 * On every path the old key's automatic rotation is mirrored onto the new key.
 */
export const createKey = async (
  state: RotationState,
  { retryCount = 0, remainingMs = NO_DEADLINE.remainingMs }: CreateKeyOptions = {},
): Promise<NewKey | NewKeyPending> => {
  const { kms } = getClients();
  const { plan } = state;
  const alias = plan.names.keyAlias;
  const slot = state.newKey as NewKey | NewKeyPending | undefined;
  const pending = slot && 'search' in slot ? slot : undefined;

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
    await mirrorRotation(kms, plan, aliased);
    logger.info('found the key this rotation created earlier', { keyArn: aliased.Arn, alias });
    return newKey(aliased, alias, false);
  }

  const search = pending?.search;
  if (search?.phase === 'settling' || search?.phase === 'scanning') {
    return searchOn(kms, plan, pending as NewKeyPending, { remainingMs });
  }
  // A retry, a re-run after a search that ended in a create, or a re-run after the step succeeded
  // (its slot holds a key) may follow an attempt that created a key whose alias is missing.
  if (retryCount > 0 || (slot && !pending)) {
    logger.warn('no alias after an attempt that may have created a key; searching by tag', {
      alias,
      retryCount,
    });
    return pendingResult(plan, pending, { phase: 'settling' });
  }
  return create(kms, plan);
};

/** One call's share of the search; adopts the key when found. */
const searchOn = async (
  kms: KMSClient,
  plan: RotationPlan,
  pending: NewKeyPending,
  context: StepContext,
): Promise<NewKey | NewKeyPending> => {
  const alias = plan.names.keyAlias;
  const cursor = pending.search.phase === 'scanning' ? pending.search.cursor : undefined;
  const step = await scanForKeyOfRotation(kms, plan.rotationId, cursor, context);
  if (step.status === 'found') {
    assertUsable(step.key, alias);
    await createAlias(kms, alias, step.key);
    await mirrorRotation(kms, plan, step.key);
    logger.info('found a key an earlier attempt created without its alias; alias added', {
      keyArn: step.key.Arn,
      alias,
      scannedKeys: step.cursor.scannedKeys,
    });
    return newKey(step.key, alias, false);
  }
  if (step.status === 'clear') {
    return pendingResult(plan, pending, { phase: 'clear', scannedKeys: step.cursor.scannedKeys });
  }
  return pendingResult(plan, pending, { phase: 'scanning', cursor: step.cursor });
};

const searchStatus = (search: OrphanSearch): string => {
  switch (search.phase) {
    case 'settling':
      return 'waiting until no earlier attempt can still be running';
    case 'scanning':
      return `read the tags of ${search.cursor.scannedKeys} keys so far`;
    case 'clear':
      return `none of ${search.scannedKeys} keys is this rotation's; creating the key next`;
  }
};

const pendingResult = (
  plan: RotationPlan,
  previous: NewKeyPending | undefined,
  search: OrphanSearch,
): NewKeyPending => {
  const attempt = (previous?.poll.attempt ?? 0) + 1;
  const cap = POLL_LIMITS.createKey;
  const lastStatus = searchStatus(search);
  if (attempt > cap) {
    throw new WaitTimeoutError(
      `CreateKey searched the account's KMS keys for one tagged ${TAG_ROTATION_ID}=${plan.rotationId} (an earlier ` +
        `attempt may have created it without its alias ${plan.names.keyAlias}) and did not finish in ${cap} calls ` +
        `(last: ${lastStatus}). The rotation rolls back; nothing else was changed. Look for a key with that tag ` +
        '(aws resourcegroupstaggingapi get-resources --resource-type-filters kms:key --tag-filters ' +
        `Key=${TAG_ROTATION_ID},Values=${plan.rotationId}) and schedule its deletion, then start a new rotation.`,
    );
  }
  const waitSeconds = search.phase === 'settling' ? SCAN_BUDGETS.settleSeconds : SCAN_BUDGETS.continueSeconds;
  return { done: false, alias: plan.names.keyAlias, poll: { attempt, waitSeconds, lastStatus }, search };
};

/** CreateKey, then at once the alias (so that a retry finds the key by it), then the rotation setting. */
const create = async (kms: KMSClient, plan: RotationPlan): Promise<NewKey> => {
  const alias = plan.names.keyAlias;
  const Tags = await tagsForNewKey(kms, plan);
  // Exactly one CreateKey request per attempt of this step (see kmsSingleAttempt).
  const { KeyMetadata: created } = await getClients().kmsSingleAttempt.send(
    new CreateKeyCommand({
      Description:
        `Rekey: encrypts RDS ${namesOfKind(plan.kind).noun} ${plan.target.identifier} ` +
        `(rotation ${plan.rotationId}, replaces ${plan.source.kmsKeyArn})`,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Policy: JSON.stringify(keyPolicyFor({ ...plan, keyAdministratorArns: keyAdministratorArnsFromEnv() })),
      Tags,
    }),
  );
  if (!created?.KeyId || !created.Arn) {
    throw new Error(
      `CreateKey answered without a key id for ${alias}; run the step again (it finds the key by its tag).`,
    );
  }
  logger.info('created the new key', { keyArn: created.Arn, alias });
  await createAlias(kms, alias, created);
  await mirrorRotation(kms, plan, created);
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
const mirrorRotation = async (kms: KMSClient, plan: RotationPlan, key: KeyMetadata): Promise<void> => {
  const newKeyId = key.KeyId as string;
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
  try {
    await kms.send(
      new EnableKeyRotationCommand({
        KeyId: newKeyId,
        ...(periodDays !== undefined && { RotationPeriodInDays: periodDays }),
      }),
    );
  } catch (error) {
    throw tagPropagationDenial(error, key, 'EnableKeyRotation') ?? error;
  }
  logger.info('enabled automatic rotation on the new key, like the old key', { newKeyId, periodDays });
};

/**
 * The IAM of this step allows EnableKeyRotation (and PutKeyPolicy) only on keys tagged as it
 * creates them, and KMS may take up to five minutes before a new key's tags count for
 * authorization. An AccessDeniedException on a key created less than TAG_PROPAGATION_WINDOW_MS
 * ago is that delay: a TransientAwsError, which the state machine retries with backoff. On an
 * older key it is a real denial, and the error keeps its name.
 */
export const tagPropagationDenial = (
  error: unknown,
  key: KeyMetadata,
  action: string,
  now: number = Date.now(),
): TransientAwsError | undefined => {
  if (!isAwsError(error, 'AccessDeniedException') || !key.CreationDate) return undefined;
  const ageMs = now - new Date(key.CreationDate).getTime();
  if (ageMs >= TAG_PROPAGATION_WINDOW_MS) return undefined;
  return new TransientAwsError(
    `KMS refused ${action} on the new key ${key.Arn}, created ${Math.round(ageMs / 1000)} s ago ` +
      `(AccessDeniedException). KMS can take up to five minutes to authorize on a new key's tags, which this ` +
      "step's permissions require; the state machine tries again.",
    { cause: error },
  );
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
