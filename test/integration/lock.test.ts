import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { rotationIdFor } from '#domain/naming.js';
import type { RotationState } from '#domain/state.js';
import { acquireLock } from '#features/lock/acquire-lock.js';
import { checkStart } from '#features/lock/check-start.js';
import { releaseLock } from '#features/lock/release-lock.js';
import { ensureLockTable, LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { useEmulator } from '../support/emulator.js';
import { checkStartEvent, stepEvent } from '../support/events.js';

/** The state AcquireLock receives: after preflight, before any lock. */
const rotation = (
  rotationId: string,
  overrides: { db?: string; idempotencyKey?: string } = {},
): RotationState => {
  const state = stepEvent('acquire-lock');
  state.plan.rotationId = rotationId;
  state.plan.executionId = `arn:aws:states:us-east-1:123456789012:execution:rekey:${rotationId}`;
  if (overrides.db) {
    state.plan.source.dbInstanceIdentifier = overrides.db;
    state.plan.target.identifier = overrides.db;
  }
  if (overrides.idempotencyKey) state.plan.request.idempotencyKey = overrides.idempotencyKey;
  return state;
};

const lockItems = async () => {
  const { Items } = await getClients().dynamodb.send(new ScanCommand({ TableName: LOCAL_LOCK_TABLE }));
  return (Items ?? []).map((item) => `${item.lockKey} -> ${item.rotationId}`).sort();
};

describe('the rotation lock on the emulator', () => {
  useEmulator();

  beforeEach(async () => {
    process.env.LOCK_TABLE_NAME = LOCAL_LOCK_TABLE;
    await ensureLockTable(LOCAL_LOCK_TABLE);
  });

  it('lets one rotation in and refuses a second one for the same database, naming the first', async () => {
    // Act
    const first = await acquireLock(rotation('rk0000000001'));
    const second = acquireLock(rotation('rk0000000002'));

    // Assess
    expect(first).toMatchObject({ acquired: true });
    await expect(second).rejects.toMatchObject({
      name: 'RotationInProgressError',
      message: expect.stringMatching(
        /^rotation rk0000000001 is already in progress for orders-db \(execution arn:aws:states:.*:rk0000000001, since /,
      ),
    });
    expect(await lockItems()).toEqual([
      expect.stringMatching(/^db#orders-db -> rk0000000001$/),
      expect.stringMatching(/^key#arn:aws:kms:.* -> rk0000000001$/),
    ]);
  });

  it('refuses a rotation of another database under the same key', async () => {
    // Prepare
    await acquireLock(rotation('rk0000000001'));

    // Act / Assess
    await expect(acquireLock(rotation('rk0000000002', { db: 'billing-db' }))).rejects.toMatchObject({
      name: 'RotationInProgressError',
      message: expect.stringContaining('for orders-db, which shares the key'),
    });
    expect(await lockItems()).toHaveLength(2);
  });

  it('is re-entrant: a retried acquire of the same rotation finds its own lock', async () => {
    // Act
    await acquireLock(rotation('rk0000000001'));
    const again = await acquireLock(rotation('rk0000000001'));

    // Assess
    expect(again).toMatchObject({ acquired: true });
    expect(await lockItems()).toHaveLength(2);
  });

  it('releases only its own lock, so the next rotation can start', async () => {
    // Prepare
    await acquireLock(rotation('rk0000000001'));

    // Act
    const byStranger = await releaseLock(rotation('rk0000000002'));
    const byOwner = await releaseLock(rotation('rk0000000001'));
    const releasedTwice = await releaseLock(rotation('rk0000000001'));
    const next = await acquireLock(rotation('rk0000000003'));

    // Assess
    expect(byStranger.released).toEqual([]);
    expect(byOwner.released).toHaveLength(2);
    expect(releasedTwice.released).toEqual([]);
    expect(next.acquired).toBe(true);
  });

  it('makes a second delivery of the same scheduled start a no-op, during and after the first', async () => {
    // Prepare
    const scheduled = '2027-03-09T06:00:00Z';
    await acquireLock(rotation('rk0000000001', { idempotencyKey: scheduled }));

    // Act
    const whileRunning = await acquireLock(rotation('rk0000000002', { idempotencyKey: scheduled }));
    await releaseLock(rotation('rk0000000001', { idempotencyKey: scheduled }));
    const afterwards = await acquireLock(rotation('rk0000000003', { idempotencyKey: scheduled }));
    const nextYear = await acquireLock(rotation('rk0000000004', { idempotencyKey: '2028-03-14T06:00:00Z' }));

    // Assess
    expect(whileRunning).toMatchObject({ acquired: false, duplicateOf: 'rk0000000001' });
    expect(afterwards).toMatchObject({ acquired: false, duplicateOf: 'rk0000000001' });
    expect(afterwards.skipped).toContain('Nothing was done');
    expect(whileRunning.skipped).toContain('has not finished: it holds the lock on orders-db');
    expect(afterwards.skipped).toContain(
      'already rotated orders-db with idempotencyKey "2027-03-09T06:00:00Z": it SUCCEEDED',
    );
    expect(nextYear.acquired).toBe(true);
  });

  it.each([
    [
      'failed and was rolled back',
      (state: RotationState) =>
        releaseLock({ ...state, failure: { Error: 'ValidationFailedError', Cause: 'key differs' } }),
      'ended FAILED (ValidationFailedError)',
    ],
    [
      'was stopped by a person',
      (state: RotationState) =>
        releaseLock({
          source: 'aws.states',
          'detail-type': 'Step Functions Execution Status Change',
          detail: { executionArn: state.plan.executionId, status: 'ABORTED' },
        }),
      'ended ABORTED (execution ABORTED)',
    ],
    [
      'timed out',
      (state: RotationState) =>
        releaseLock({
          source: 'aws.states',
          'detail-type': 'Step Functions Execution Status Change',
          detail: { executionArn: state.plan.executionId, status: 'TIMED_OUT' },
        }),
      'ended TIMED_OUT (execution TIMED_OUT)',
    ],
  ])(
    'refuses a start with the idempotencyKey of an attempt that %s, naming it; never a no-op success',
    async (_case, end, ended) => {
      // Prepare
      const first = rotation('rk0000000001', { idempotencyKey: 'slot-1' });
      await acquireLock(first);
      await end(first);
      const input = { ...(stepEvent('acquire-lock').input as object), idempotencyKey: 'slot-1' };

      // Act
      const checked = checkStart({ input, executionId: 'arn:aws:states:::execution:rekey:repeat' }).catch(
        (error: Error) => error,
      );
      const locked = acquireLock(rotation('rk0000000002', { idempotencyKey: 'slot-1' })).catch(
        (error: Error) => error,
      );

      // Assess
      for (const refusal of [await checked, await locked]) {
        expect(refusal).toMatchObject({
          name: 'PreconditionFailedError',
          message: expect.stringContaining(
            `idempotencyKey: an earlier attempt with idempotencyKey "slot-1", rotation rk0000000001 (execution ${first.plan.executionId}), ${ended}`,
          ),
        });
      }
      expect(await lockItems()).toEqual([expect.stringMatching(/^once#.*#slot-1 -> rk0000000001$/)]);
    },
  );

  it('keeps a SUCCEEDED outcome when a later step of the same rotation fails and its rollback releases again', async () => {
    // Prepare
    const state = rotation('rk0000000001', { idempotencyKey: 'slot-1' });
    await acquireLock(state);
    await releaseLock(state);

    // Act: Summarize failed after the release; the failure path releases once more.
    await releaseLock({ ...state, failure: { Error: 'Lambda.Unknown', Cause: 'x' } });
    const repeat = await acquireLock(rotation('rk0000000002', { idempotencyKey: 'slot-1' }));

    // Assess
    expect(repeat).toMatchObject({ acquired: false, skipped: expect.stringContaining('it SUCCEEDED') });
  });

  it('releases the locks of an execution that was aborted, from the EventBridge status change', async () => {
    // Prepare
    const state = rotation('rk0000000001', { idempotencyKey: 'k1' });
    await acquireLock(state);

    // Act
    const result = await releaseLock({
      source: 'aws.states',
      'detail-type': 'Step Functions Execution Status Change',
      detail: { executionArn: state.plan.executionId, status: 'ABORTED' },
    });

    // Assess
    expect(result.released).toHaveLength(2);
    // The idempotency record stays: the aborted scheduled start must not run again by itself.
    expect(await lockItems()).toEqual([expect.stringMatching(/^once#.*#k1 -> rk0000000001$/)]);
  });

  it('CheckStart fails fast, before preflight, when another rotation holds the database', async () => {
    // Prepare
    await acquireLock(rotation('rk0000000001'));

    // Act
    const attempt = checkStart(checkStartEvent());

    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'RotationInProgressError',
      message: expect.stringContaining('rotation rk0000000001 is already in progress for orders-db'),
    });
  });

  it('CheckStart lets the holder itself through (a retry of the same execution), and anyone once the lock is gone', async () => {
    // Prepare
    const executionId = 'arn:aws:states:us-east-1:123456789012:execution:rekey:holder';
    const state = rotation(rotationIdFor(executionId));
    await acquireLock(state);

    // Act
    const holderRetry = await checkStart({ input: state.input, executionId });
    const other = await checkStart({ input: state.input, executionId: `${executionId}-2` }).catch(
      (error: Error) => error,
    );
    await releaseLock(state);
    const afterRelease = await checkStart({ input: state.input, executionId: `${executionId}-2` });

    // Assess
    expect(holderRetry).toEqual({ duplicateOf: null });
    expect(other).toMatchObject({ name: 'RotationInProgressError' });
    expect(afterRelease).toEqual({ duplicateOf: null });
  });

  it('CheckStart ends a duplicate scheduled start as a no-op and refuses bad input first', async () => {
    // Prepare
    await acquireLock(rotation('rk0000000001', { idempotencyKey: 'slot-1' }));
    const input = { ...(stepEvent('acquire-lock').input as object), idempotencyKey: 'slot-1' };

    // Act
    const duplicate = await checkStart({
      input,
      executionId: 'arn:aws:states:::execution:rekey:second-delivery',
    });
    const invalid = checkStart({ input: { ...input, reason: '' }, executionId: 'x' });

    // Assess
    expect(duplicate).toMatchObject({
      duplicateOf: 'rk0000000001',
      skipped: expect.stringContaining('Nothing was done'),
    });
    await expect(invalid).rejects.toMatchObject({ name: 'InvalidInputError' });
  });

  it('releases the lock of the sample rotation from its sample event (events/steps/release-lock.json)', async () => {
    // Prepare
    const state = stepEvent('release-lock');
    await acquireLock(state);

    // Act
    const result = await releaseLock(state);

    // Assess
    expect(result.released).toEqual(['db#orders-db', `key#${state.plan.source.kmsKeyArn}`]);
    expect(await lockItems()).toEqual([]);
  });
});
