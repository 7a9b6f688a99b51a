import { readFileSync } from 'node:fs';
import {
  AlreadyExistsException,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
  type KeyState,
  KMSClient,
  KMSServiceException,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { POLL_LIMITS } from '#domain/limits.js';
import type { NewKey } from '#domain/results.js';
import { createKey, type NewKeyPending } from '#features/keys/create-key.js';
import { createKeyEvent } from '../../../support/events.js';

const kms = mockClient(KMSClient);

const ROTATION_ID = 'rk05e5c03bc0';
const ALIAS = 'alias/rekey/orders-db/rk05e5c03bc0';
const OLD_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const NEW_KEY_ID = '7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const NEW_KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${NEW_KEY_ID}`;
const OTHER_KEY_ID = '0a0b0c0d-1111-4222-8333-444455556666';
const OTHER_KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${OTHER_KEY_ID}`;

const metadata = (keyId: string, keyState: KeyState = 'Enabled') => ({
  KeyId: keyId,
  Arn: `arn:aws:kms:us-east-1:123456789012:key/${keyId}`,
  KeyState: keyState,
});
const tags = (entries: Record<string, string>) => ({
  Tags: Object.entries(entries).map(([TagKey, TagValue]) => ({ TagKey, TagValue })),
  Truncated: false,
});
const aliasNotFound = () =>
  new NotFoundException({
    message: `Alias arn:aws:kms:us-east-1:123456789012:${ALIAS} is not found.`,
    $metadata: {},
  });

/** No alias, no key tagged with the rotation id: the step must create the key. */
const nothingCreatedYet = () => {
  kms.on(DescribeKeyCommand, { KeyId: ALIAS }).rejects(aliasNotFound());
  kms
    .on(ListKeysCommand)
    .resolves({ Keys: [{ KeyId: OTHER_KEY_ID, KeyArn: OTHER_KEY_ARN }], Truncated: false });
  kms
    .on(ListResourceTagsCommand, { KeyId: OTHER_KEY_ID })
    .resolves(tags({ 'rekey:rotation-id': 'rk9999999999' }));
  kms.on(CreateKeyCommand).resolves({ KeyMetadata: metadata(NEW_KEY_ID) });
  kms.on(CreateAliasCommand).resolves({});
  kms.on(EnableKeyRotationCommand).resolves({});
  kms.on(GetKeyRotationStatusCommand, { KeyId: NEW_KEY_ID }).resolves({ KeyRotationEnabled: false });
};

const accessDenied = () =>
  new KMSServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    message: 'not authorized to perform kms:EnableKeyRotation',
    $metadata: {},
  });

/** The state a later call of CreateKey gets: the pending result of the call before in `newKey`. */
const laterCall = (pending: NewKey | NewKeyPending) => ({
  ...createKeyEvent().state,
  newKey: pending as unknown as NewKey,
});

const createKeyInput = () => {
  const input = kms.commandCalls(CreateKeyCommand)[0]?.args[0].input;
  if (!input) throw new Error('CreateKey was not called');
  return input;
};

describe('create-key', () => {
  beforeEach(() => {
    kms.reset();
  });

  it('creates a symmetric key for RDS with description, tags, policy, mirrored rotation and the alias', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(
      tags({
        team: 'orders',
        'cost-center': 'cc-1234',
        'rekey:rotation-id': 'rk1111111111',
        'aws:cloudformation:stack-name': 'orders',
      }),
    );
    kms
      .on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN })
      .resolves({ KeyRotationEnabled: true, RotationPeriodInDays: 180 });

    // Act
    const result = await createKey(createKeyEvent().state);

    // Assess
    expect(result).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: true });
    const input = createKeyInput();
    expect(input).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    expect(input.Description).toBe(
      `Rekey: encrypts RDS instance orders-db (rotation ${ROTATION_ID}, replaces ${OLD_KEY_ARN})`,
    );
    expect(input.Tags).toEqual([
      { TagKey: 'rekey:rotation-id', TagValue: ROTATION_ID },
      { TagKey: 'rekey:source-db', TagValue: 'orders-db' },
      { TagKey: 'rekey:role', TagValue: 'new-key' },
      { TagKey: 'team', TagValue: 'orders' },
      { TagKey: 'cost-center', TagValue: 'cc-1234' },
    ]);
    const policy = JSON.parse(input.Policy ?? '{}');
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'Allow RDS to create grants',
        Condition: expect.objectContaining({
          StringEquals: {
            'kms:ViaService': 'rds.us-east-1.amazonaws.com',
            'kms:CallerAccount': '123456789012',
          },
        }),
      }),
    );
    expect(kms).toHaveReceivedCommandWith(EnableKeyRotationCommand, {
      KeyId: NEW_KEY_ID,
      RotationPeriodInDays: 180,
    });
    expect(kms).toHaveReceivedCommandWith(CreateAliasCommand, { AliasName: ALIAS, TargetKeyId: NEW_KEY_ID });
  });

  it('gives the key administrators of the stack (KEY_ADMINISTRATOR_ARNS) administration but no use of the key', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({ team: 'orders' }));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });
    const admin = 'arn:aws:iam::123456789012:role/key-admins';
    process.env.KEY_ADMINISTRATOR_ARNS = admin;

    // Act
    try {
      await createKey(createKeyEvent().state);
    } finally {
      delete process.env.KEY_ADMINISTRATOR_ARNS;
    }

    // Assess
    const policy = JSON.parse(createKeyInput().Policy ?? '{}') as {
      Statement: { Principal?: { AWS?: string | string[] }; Action: string | string[] }[];
    };
    const forAdmins = policy.Statement.filter((s) => [s.Principal?.AWS].flat().includes(admin));
    expect(forAdmins).toHaveLength(1);
    expect(forAdmins[0]?.Action).toContain('kms:ScheduleKeyDeletion');
    expect(forAdmins[0]?.Action).not.toContain('kms:Decrypt');
  });

  it('leaves automatic rotation off when the old key does not rotate', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });

    // Act
    const result = await createKey(createKeyEvent().state);

    // Assess
    expect(result).toMatchObject({ created: true });
    expect(kms).not.toHaveReceivedCommand(EnableKeyRotationCommand);
  });

  it('copies no tags from an AWS-managed old key and turns rotation on, as aws/rds rotates yearly', async () => {
    // Prepare
    nothingCreatedYet();
    const state = createKeyEvent().state;
    state.plan.source.keyManager = 'AWS';

    // Act
    await createKey(state);

    // Assess
    expect(kms).not.toHaveReceivedCommandWith(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN });
    expect(kms).not.toHaveReceivedCommandWith(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN });
    expect(createKeyInput().Tags?.map((t) => t.TagKey)).toEqual([
      'rekey:rotation-id',
      'rekey:source-db',
      'rekey:role',
    ]);
    expect(kms).toHaveReceivedCommandWith(EnableKeyRotationCommand, { KeyId: NEW_KEY_ID });
  });

  it('keeps within the 50-tag limit of KMS, Rekey tags first, when the old key has many tags', async () => {
    // Prepare
    nothingCreatedYet();
    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`tag-${i}`, `value-${i}`]));
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags(many));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });

    // Act
    await createKey(createKeyEvent().state);

    // Assess
    const sent = createKeyInput().Tags ?? [];
    expect(sent).toHaveLength(50);
    expect(sent[0]).toEqual({ TagKey: 'rekey:rotation-id', TagValue: ROTATION_ID });
  });

  it('on a re-run, returns the key behind the alias without creating another', async () => {
    // Prepare
    kms.on(DescribeKeyCommand, { KeyId: ALIAS }).resolves({ KeyMetadata: metadata(NEW_KEY_ID) });
    kms
      .on(ListResourceTagsCommand, { KeyId: NEW_KEY_ID })
      .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: true });
    kms.on(GetKeyRotationStatusCommand, { KeyId: NEW_KEY_ID }).resolves({ KeyRotationEnabled: true });

    // Act
    const result = await createKey(createKeyEvent().state);

    // Assess
    expect(result).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: false });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
    expect(kms).not.toHaveReceivedCommand(CreateAliasCommand);
    expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
    expect(kms).not.toHaveReceivedCommand(EnableKeyRotationCommand);
  });

  it('on a re-run, finishes the rotation mirroring an earlier attempt did not get to', async () => {
    // Prepare
    kms.on(DescribeKeyCommand, { KeyId: ALIAS }).resolves({ KeyMetadata: metadata(NEW_KEY_ID) });
    kms
      .on(ListResourceTagsCommand, { KeyId: NEW_KEY_ID })
      .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: true });
    kms.on(GetKeyRotationStatusCommand, { KeyId: NEW_KEY_ID }).resolves({ KeyRotationEnabled: false });
    kms.on(EnableKeyRotationCommand).resolves({});

    // Act
    await createKey(createKeyEvent().state);

    // Assess
    expect(kms).toHaveReceivedCommandWith(EnableKeyRotationCommand, { KeyId: NEW_KEY_ID });
  });

  it('on a retry, adopts a key an earlier attempt created but did not alias, skipping keys pending deletion', async () => {
    // Prepare
    const abandoned = '11111111-2222-4333-8444-555566667777';
    const unreadable = '99999999-8888-4777-8666-555544443333';
    kms.on(DescribeKeyCommand, { KeyId: ALIAS }).rejects(aliasNotFound());
    kms.on(ListKeysCommand).resolves({
      Keys: [{ KeyId: abandoned }, { KeyId: unreadable }],
      Truncated: true,
      NextMarker: 'page-2',
    });
    kms
      .on(ListKeysCommand, { Marker: 'page-2' })
      .resolves({ Keys: [{ KeyId: NEW_KEY_ID }], Truncated: false });
    kms
      .on(ListResourceTagsCommand, { KeyId: abandoned })
      .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));
    kms.on(ListResourceTagsCommand, { KeyId: unreadable }).rejects(
      new KMSServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform kms:ListResourceTags',
        $metadata: {},
      }),
    );
    kms
      .on(ListResourceTagsCommand, { KeyId: NEW_KEY_ID })
      .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));
    kms
      .on(DescribeKeyCommand, { KeyId: abandoned })
      .resolves({ KeyMetadata: metadata(abandoned, 'PendingDeletion') });
    kms.on(DescribeKeyCommand, { KeyId: NEW_KEY_ID }).resolves({ KeyMetadata: metadata(NEW_KEY_ID) });
    kms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: false });
    kms.on(CreateAliasCommand).resolves({});

    // Act: the retry settles, then the next call searches.
    const settling = await createKey(createKeyEvent().state, { retryCount: 1 });
    const result = await createKey(laterCall(settling));

    // Assess
    expect(settling).toMatchObject({ done: false, search: { phase: 'settling' } });
    expect(result).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: false });
    expect(kms).toHaveReceivedCommandWith(CreateAliasCommand, { AliasName: ALIAS, TargetKeyId: NEW_KEY_ID });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
  });

  it('on a first call (no retry, nothing recorded), creates the key without listing the keys of the account', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });

    // Act
    const result = await createKey(createKeyEvent().state, { retryCount: 0 });

    // Assess
    expect(result).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: true });
    expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
    expect(kms).not.toHaveReceivedCommandWith(ListResourceTagsCommand, { KeyId: OTHER_KEY_ID });
  });

  it('gives the key its alias right after CreateKey, before anything else can fail', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: true });

    // Act
    await createKey(createKeyEvent().state);

    // Assess
    const order = kms.calls().map((call) => (call.args[0] as object).constructor.name);
    const created = order.indexOf('CreateKeyCommand');
    expect(order.slice(created, created + 2)).toEqual(['CreateKeyCommand', 'CreateAliasCommand']);
    expect(order.indexOf('EnableKeyRotationCommand')).toBeGreaterThan(created + 1);
  });

  it('on a retry without the alias, creates nothing and waits until the earlier attempt can no longer run', async () => {
    // Prepare
    nothingCreatedYet();

    // Act
    const result = await createKey(createKeyEvent().state, { retryCount: 2 });

    // Assess
    expect(result).toEqual({
      done: false,
      alias: ALIAS,
      search: { phase: 'settling' },
      poll: { attempt: 1, waitSeconds: 65, lastStatus: expect.stringContaining('earlier attempt') },
    });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
    expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
  });

  it('creates the key in the call after a search that found none, and searches again if that call is retried', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });
    const settling = await createKey(createKeyEvent().state, { retryCount: 1 });
    const clear = await createKey(laterCall(settling));

    // Act
    const retried = await createKey(laterCall(clear), { retryCount: 1 });
    kms.resetHistory();
    const created = await createKey(laterCall(clear), { retryCount: 0 });

    // Assess
    expect(clear).toMatchObject({
      done: false,
      search: { phase: 'clear', scannedKeys: 1 },
      poll: { attempt: 2 },
    });
    expect(retried).toMatchObject({ done: false, search: { phase: 'settling' }, poll: { attempt: 3 } });
    expect(created).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: true });
    expect(kms).toHaveReceivedCommandTimes(CreateKeyCommand, 1);
    expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
  });

  it('searches rather than creates when its slot already holds a key whose alias is gone', async () => {
    // Prepare
    nothingCreatedYet();
    const state = {
      ...createKeyEvent().state,
      newKey: { keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: true },
    };

    // Act
    const result = await createKey(state, { retryCount: 0 });

    // Assess
    expect(result).toMatchObject({ done: false, search: { phase: 'settling' } });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
  });

  it(`gives up with WaitTimeoutError after ${POLL_LIMITS.createKey} calls of a search, naming the tag to look for`, async () => {
    // Prepare
    nothingCreatedYet();
    kms
      .on(ListKeysCommand)
      .resolves({ Keys: [{ KeyId: OTHER_KEY_ID }], Truncated: true, NextMarker: 'more' });
    const last: NewKeyPending = {
      done: false,
      alias: ALIAS,
      search: { phase: 'scanning', cursor: { marker: 'more', scannedKeys: 12_000 } },
      poll: {
        attempt: POLL_LIMITS.createKey,
        waitSeconds: 5,
        lastStatus: 'read the tags of 12000 keys so far',
      },
    };

    // Act / Assess
    await expect(createKey(laterCall(last))).rejects.toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringContaining(`Key=rekey:rotation-id,Values=${ROTATION_ID}`),
    });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
  });

  describe('EnableKeyRotation refused while KMS does not yet authorize on the new tags', () => {
    const rotatingOldKey = () => {
      kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
      kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: true });
      kms.on(EnableKeyRotationCommand).rejects(accessDenied());
    };

    it('is a TransientAwsError on a key created minutes ago (the state machine retries it)', async () => {
      // Prepare
      nothingCreatedYet();
      rotatingOldKey();
      kms.on(CreateKeyCommand).resolves({
        KeyMetadata: { ...metadata(NEW_KEY_ID), CreationDate: new Date(Date.now() - 2 * 60_000) },
      });

      // Act / Assess
      await expect(createKey(createKeyEvent().state)).rejects.toMatchObject({
        name: 'TransientAwsError',
        message: expect.stringMatching(/EnableKeyRotation.*created 1[12]\d s ago.*five minutes/),
      });
      expect(kms).toHaveReceivedCommandWith(CreateAliasCommand, {
        AliasName: ALIAS,
        TargetKeyId: NEW_KEY_ID,
      });
    });

    it("is retried by the state machine long enough to outlast KMS's five minutes, even with full jitter", () => {
      // Prepare: CreateKey's retrier of TransientAwsError. FULL jitter sleeps a random time up to
      // each delay, so on average half of it; twice the five minutes on average makes a run of
      // retries shorter than five minutes a rare draw (docs/budgets.md).
      const asl = JSON.parse(
        readFileSync(new URL('../../../../state-machines/rotate-database.asl.json', import.meta.url), 'utf8'),
      );
      const retrier = asl.States.CreateKey.Retry.find((r: { ErrorEquals: string[] }) =>
        r.ErrorEquals.includes('TransientAwsError'),
      );

      // Act
      const delays = Array.from({ length: retrier.MaxAttempts }, (_, k) =>
        Math.min(retrier.IntervalSeconds * retrier.BackoffRate ** k, retrier.MaxDelaySeconds),
      );
      const averageSeconds = delays.reduce((a, b) => a + b, 0) / 2;

      // Assess
      expect(retrier.JitterStrategy).toBe('FULL');
      expect(averageSeconds).toBeGreaterThanOrEqual(2 * 5 * 60);
    });

    it('is a real AccessDeniedException on a key older than ten minutes', async () => {
      // Prepare: a re-run finds the key behind the alias, created eleven minutes ago.
      rotatingOldKey();
      kms.on(DescribeKeyCommand, { KeyId: ALIAS }).resolves({
        KeyMetadata: { ...metadata(NEW_KEY_ID), CreationDate: new Date(Date.now() - 11 * 60_000) },
      });
      kms
        .on(ListResourceTagsCommand, { KeyId: NEW_KEY_ID })
        .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));
      kms.on(GetKeyRotationStatusCommand, { KeyId: NEW_KEY_ID }).resolves({ KeyRotationEnabled: false });

      // Act / Assess
      await expect(createKey(createKeyEvent().state)).rejects.toMatchObject({
        name: 'AccessDeniedException',
      });
    });
  });

  it('refuses an alias that points at a key not tagged with this rotation id, and creates nothing', async () => {
    // Prepare
    kms.on(DescribeKeyCommand, { KeyId: ALIAS }).resolves({ KeyMetadata: metadata(OTHER_KEY_ID) });
    kms.on(ListResourceTagsCommand, { KeyId: OTHER_KEY_ID }).resolves(tags({ team: 'payments' }));

    // Act / Assess
    await expect(createKey(createKeyEvent().state)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringMatching(
        new RegExp(`alias ${ALIAS}.*${OTHER_KEY_ARN}.*aws kms delete-alias --alias-name ${ALIAS}`),
      ),
    });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
    expect(kms).not.toHaveReceivedCommand(CreateAliasCommand);
  });

  it('refuses its own key when someone scheduled it for deletion, saying how to recover it', async () => {
    // Prepare
    kms
      .on(DescribeKeyCommand, { KeyId: ALIAS })
      .resolves({ KeyMetadata: metadata(NEW_KEY_ID, 'PendingDeletion') });
    kms
      .on(ListResourceTagsCommand, { KeyId: NEW_KEY_ID })
      .resolves(tags({ 'rekey:rotation-id': ROTATION_ID }));

    // Act / Assess
    await expect(createKey(createKeyEvent().state)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(`aws kms cancel-key-deletion --key-id ${NEW_KEY_ID}`),
    });
    expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
  });

  it('accepts an AlreadyExists from CreateAlias when a concurrent attempt aliased the same key', async () => {
    // Prepare
    nothingCreatedYet();
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(GetKeyRotationStatusCommand, { KeyId: OLD_KEY_ARN }).resolves({ KeyRotationEnabled: false });
    kms.on(CreateAliasCommand).rejects(
      new AlreadyExistsException({
        message: `An alias with the name ${ALIAS} already exists`,
        $metadata: {},
      }),
    );
    kms
      .on(DescribeKeyCommand, { KeyId: ALIAS })
      .rejectsOnce(aliasNotFound())
      .resolves({ KeyMetadata: metadata(NEW_KEY_ID) });

    // Act
    const result = await createKey(createKeyEvent().state);

    // Assess
    expect(result).toEqual({ keyId: NEW_KEY_ID, keyArn: NEW_KEY_ARN, alias: ALIAS, created: true });
  });

  it('lets an unexpected KMS error through with its own name', async () => {
    // Prepare
    kms.on(DescribeKeyCommand, { KeyId: ALIAS }).rejects(aliasNotFound());
    kms.on(ListKeysCommand).resolves({ Keys: [], Truncated: false });
    kms.on(ListResourceTagsCommand, { KeyId: OLD_KEY_ARN }).resolves(tags({}));
    kms.on(CreateKeyCommand).rejects(
      new KMSServiceException({
        name: 'LimitExceededException',
        $fault: 'client',
        message: 'too many keys',
        $metadata: {},
      }),
    );

    // Act / Assess
    await expect(createKey(createKeyEvent().state)).rejects.toMatchObject({
      name: 'LimitExceededException',
    });
    expect(kms).not.toHaveReceivedCommand(CreateAliasCommand);
  });
});
