import { readFileSync } from 'node:fs';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXECUTION_TIMEOUT_SECONDS } from '#domain/limits.js';
import type { RotationState } from '#domain/state.js';
import { acquireLock } from '#features/lock/acquire-lock.js';
import { stepEvent } from '../../../support/events.js';

/**
 * A lock item must outlive the longest execution that can hold it: DynamoDB's TTL deletes an
 * expired item, and a second rotation of the same database (or of another database under the
 * same key) could then start while the first still runs. The execution's limit is read from the
 * state machine itself, so raising TimeoutSeconds without the lock following fails here.
 */
const asl = JSON.parse(
  readFileSync(new URL('../../../../state-machines/rotate-database.asl.json', import.meta.url), 'utf8'),
) as { TimeoutSeconds: number };

const dynamodb = mockClient(DynamoDBDocumentClient);

describe('the rotation lock lifetime', () => {
  beforeEach(() => {
    dynamodb.reset();
    vi.stubEnv('LOCK_TABLE_NAME', 'rekey-locks');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is stated once: the ASL times out after EXECUTION_TIMEOUT_SECONDS', () => {
    expect(asl.TimeoutSeconds).toBe(EXECUTION_TIMEOUT_SECONDS);
  });

  it('keeps every lock item alive longer than the state machine lets an execution run', async () => {
    // Prepare
    dynamodb.on(GetCommand).resolves({});
    dynamodb.on(TransactWriteCommand).resolves({});
    const state: RotationState = stepEvent('acquire-lock');

    // Act
    const result = await acquireLock(state);

    // Assess: every database and key lock expires after the execution would have timed out.
    const [call] = dynamodb.commandCalls(TransactWriteCommand);
    const items = (call?.args[0].input.TransactItems ?? []).map((entry) => entry.Put?.Item ?? {});
    const lockItems = items.filter((item) => result.lockKeys.includes(item.lockKey as string));
    expect(lockItems).toHaveLength(2);
    for (const item of lockItems) {
      const acquiredAt = Date.parse(item.acquiredAt as string) / 1000;
      expect(item.expiresAt as number).toBeGreaterThan(acquiredAt + asl.TimeoutSeconds);
    }
  });
});
