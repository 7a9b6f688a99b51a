import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EnableKeyRotationCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  ListKeysCommand,
  type ListKeysCommandOutput,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { NewKey } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { createKey as createKeyStep, type NewKeyPending } from '#features/keys/create-key.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { createKeyEvent } from '../support/events.js';

/** Ids of every key in the emulator tagged rekey:rotation-id = rotationId (ListKeys + ListResourceTags). */
const keysTaggedWith = async (rotationId: string): Promise<string[]> => {
  const { kms } = getClients();
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const page: ListKeysCommandOutput = await kms.send(new ListKeysCommand({ Marker: marker }));
    for (const key of page.Keys ?? []) {
      const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }));
      if (Tags?.some((t) => t.TagKey === 'rekey:rotation-id' && t.TagValue === rotationId)) {
        ids.push(key.KeyId as string);
      }
    }
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  return ids;
};

/** The sample event, pointed at the key the seed created (moto gives it a random id). */
const stateFor = (oldKeyArn: string): RotationState => {
  const { state } = createKeyEvent();
  state.plan.source.kmsKeyArn = oldKeyArn;
  return state;
};

/** CreateKey as the state machine runs it: called again (after its Wait) until it is done. */
const createKey = async (state: RotationState, retryCount = 0): Promise<NewKey> => {
  let current = state;
  for (let call = 1; call <= 10; call += 1) {
    const result = await createKeyStep(current, { retryCount: call === 1 ? retryCount : 0 });
    if (!('done' in result)) return result;
    current = { ...current, newKey: result as unknown as NewKey };
  }
  throw new Error('CreateKey did not finish within 10 calls');
};

describe('create-key on the emulator', () => {
  useEmulator();

  it('creates one key; a second run returns the same key and still only one key carries the rotation id', async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();
    const state = stateFor(oldKeyArn);

    // Act
    const first = await createKey(state);
    const second = await createKey(state);

    // Assess
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(await keysTaggedWith(state.plan.rotationId)).toEqual([first.keyId]);
    const { kms } = getClients();
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: state.plan.names.keyAlias }));
    expect(KeyMetadata).toMatchObject({
      KeyId: first.keyId,
      Arn: first.keyArn,
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyState: 'Enabled',
      Description: expect.stringContaining(`replaces ${oldKeyArn}`),
    });
  });

  it('tags the key for the rotation and with the old key tags, and limits its use to RDS', async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();

    // Act
    const { keyId } = await createKey(stateFor(oldKeyArn));

    // Assess
    const { kms } = getClients();
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    expect(Object.fromEntries((Tags ?? []).map((t) => [t.TagKey, t.TagValue]))).toEqual({
      'rekey:rotation-id': 'rk05e5c03bc0',
      'rekey:source-db': 'orders-db',
      'rekey:role': 'new-key',
      team: 'orders',
    });
    const { Policy } = await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    expect(JSON.parse(Policy ?? '{}').Statement).toContainEqual(
      expect.objectContaining({
        Sid: 'Allow use of the key through RDS only',
        Condition: {
          StringEquals: {
            'kms:ViaService': 'rds.us-east-1.amazonaws.com',
            'kms:CallerAccount': '123456789012',
          },
        },
      }),
    );
    const { KeyRotationEnabled } = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(KeyRotationEnabled).toBe(false);
  });

  it('turns automatic rotation on when the old key rotates', async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();
    const { kms } = getClients();
    await kms.send(new EnableKeyRotationCommand({ KeyId: oldKeyArn.split('/').pop() }));

    // Act
    const { keyId } = await createKey(stateFor(oldKeyArn));

    // Assess
    const { KeyRotationEnabled } = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    expect(KeyRotationEnabled).toBe(true);
  });

  it('on a retry, adopts the key an attempt created before it died, instead of creating a second one', async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();
    const state = stateFor(oldKeyArn);
    const { kms } = getClients();
    const { KeyMetadata: orphan } = await kms.send(
      new CreateKeyCommand({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: state.plan.rotationId }] }),
    );

    // Act: Step Functions retries the step (its $$.State.RetryCount is 1).
    const result = await createKey(state, 1);

    // Assess
    expect(result).toEqual({
      keyId: orphan?.KeyId,
      keyArn: orphan?.Arn,
      alias: state.plan.names.keyAlias,
      created: false,
    });
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: state.plan.names.keyAlias }));
    expect(KeyMetadata?.KeyId).toBe(orphan?.KeyId);
    expect(await keysTaggedWith(state.plan.rotationId)).toEqual([orphan?.KeyId]);
  });

  it('on a retry, first waits until the earlier attempt can no longer run, then searches by tag', async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();

    // Act
    const first = (await createKeyStep(stateFor(oldKeyArn), { retryCount: 1 })) as NewKeyPending;

    // Assess
    expect(first).toMatchObject({ done: false, search: { phase: 'settling' }, poll: { waitSeconds: 65 } });
    expect(await keysTaggedWith('rk05e5c03bc0')).toEqual([]);
  });

  it("refuses the rotation's alias when it already points at a key that is not this rotation's", async () => {
    // Prepare
    const { oldKeyArn } = await seedSample();
    const state = stateFor(oldKeyArn);
    const { kms } = getClients();
    await kms.send(new CreateAliasCommand({ AliasName: state.plan.names.keyAlias, TargetKeyId: oldKeyArn }));

    // Act / Assess
    await expect(createKey(state)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(state.plan.names.keyAlias),
    });
    expect(await keysTaggedWith(state.plan.rotationId)).toEqual([]);
  });
});
