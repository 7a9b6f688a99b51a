import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { awaitRdsEvent } from '#features/waits/await-event.js';
import { registerLocalCompleter } from '#features/waits/local-completer.js';
import { onRdsEvent } from '#features/waits/on-event.js';
import { completeTask } from '#features/waits/tokens.js';
import { ensureLockTable, LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { eventBridgeRdsEvent, type SimulatedRdsEvent } from '../../cli/runner.js';
import { useEmulator } from '../support/emulator.js';

/**
 * AwaitRdsEvent and OnRdsEvent on the emulator's lock table: whichever of (register, event) comes
 * first, the wait is woken once; an event for something else, or older than the check, wakes
 * nothing; a token whose Task is over is stale, not an error.
 */

const CHECKED = new Date('2026-11-22T16:41:15.000Z');
const at = (seconds: number) => new Date(CHECKED.getTime() + seconds * 1000);

const waitFor = (token: string, overrides: Record<string, unknown> = {}) => ({
  taskToken: token,
  poll: {
    attempt: 1,
    waitSeconds: 15,
    lastStatus: 'stopping',
    checkedAt: CHECKED.toISOString(),
    awaits: { sourceType: 'DB_INSTANCE', sourceIdentifier: 'orders-db', eventIds: ['RDS-EVENT-0087'] },
    ...overrides,
  },
});

const rdsEvent = (event: Partial<SimulatedRdsEvent> = {}) =>
  eventBridgeRdsEvent(
    {
      eventId: 'RDS-EVENT-0087',
      sourceType: 'DB_INSTANCE',
      sourceIdentifier: 'orders-db',
      time: at(40),
      ...event,
    },
    'us-east-1',
  );

const item = async (lockKey: string) =>
  (await getClients().dynamodb.send(new GetCommand({ TableName: LOCAL_LOCK_TABLE, Key: { lockKey } }))).Item;

describe('event-driven waits: AwaitRdsEvent and OnRdsEvent', () => {
  useEmulator();
  /** Tokens the "Step Functions" below was asked to complete, and which of them are still waiting. */
  let completed: string[];
  let waiting: Set<string>;
  let unregister: () => void;

  beforeEach(async () => {
    process.env.LOCK_TABLE_NAME = LOCAL_LOCK_TABLE;
    await ensureLockTable(LOCAL_LOCK_TABLE);
    completed = [];
    waiting = new Set(['token-1', 'token-2']);
    unregister = registerLocalCompleter((token) => {
      if (!waiting.delete(token)) return false;
      completed.push(token);
      return true;
    });
  });
  afterEach(() => unregister());

  it('wakes a registered wait when its event arrives, and removes the registration', async () => {
    // Prepare
    const registered = await awaitRdsEvent(waitFor('token-1'));

    // Act
    const result = await onRdsEvent(rdsEvent());

    // Assess
    expect(registered).toEqual({ registered: 'wait#DB_INSTANCE#orders-db', alreadyArrived: false });
    expect(result).toEqual({ outcome: 'woken', key: 'wait#DB_INSTANCE#orders-db' });
    expect(completed).toEqual(['token-1']);
    expect(await item('wait#DB_INSTANCE#orders-db')).toBeUndefined();
    expect(await item('event#DB_INSTANCE#orders-db')).toMatchObject({ eventId: 'RDS-EVENT-0087' });
  });

  it('wakes the wait at once when the event came before the wait registered (the race)', async () => {
    // Prepare: the event arrives between the check and the registration.
    const early = await onRdsEvent(rdsEvent({ time: at(2) }));

    // Act
    const registered = await awaitRdsEvent(waitFor('token-1'));

    // Assess
    expect(early.outcome).toBe('no-wait');
    expect(registered.alreadyArrived).toBe(true);
    expect(completed).toEqual(['token-1']);
  });

  it('wakes nothing for another resource, another event, or an event older than the check', async () => {
    // Prepare
    await awaitRdsEvent(waitFor('token-1'));

    // Act
    const other = await onRdsEvent(rdsEvent({ sourceIdentifier: 'billing-db' }));
    const started = await onRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0088' }));
    const older = await onRdsEvent(rdsEvent({ time: at(-60) }));
    const unrelated = await onRdsEvent(rdsEvent({ eventId: 'RDS-EVENT-0006' }));

    // Assess
    expect([other.outcome, started.outcome, older.outcome, unrelated.outcome]).toEqual([
      'no-wait',
      'not-this-event',
      'not-this-event',
      'not-awaited',
    ]);
    expect(completed).toEqual([]);
    expect(await item('wait#DB_INSTANCE#orders-db')).toMatchObject({ taskToken: 'token-1' });
  });

  it('does not wake a new wait with the event of an earlier one (registered before its check)', async () => {
    // Prepare: an earlier wait's event is on record; the next wait checked after it.
    await onRdsEvent(rdsEvent({ time: at(-30) }));

    // Act
    const registered = await awaitRdsEvent(waitFor('token-1'));

    // Assess
    expect(registered.alreadyArrived).toBe(false);
    expect(completed).toEqual([]);
  });

  it('treats a duplicate event for a wait that is over as stale', async () => {
    // Prepare: the wait timed out into its check, which found the instance stopped.
    await awaitRdsEvent(waitFor('token-1'));
    waiting.delete('token-1');

    // Act
    const result = await onRdsEvent(rdsEvent());

    // Assess
    expect(result.outcome).toBe('stale');
    expect(completed).toEqual([]);
    expect(await item('wait#DB_INSTANCE#orders-db')).toBeUndefined();
  });

  it('registers nothing for a check that awaits no event (the Task timeout is the wait)', async () => {
    // Act
    const result = await awaitRdsEvent({ taskToken: 'token-1', poll: { attempt: 1, waitSeconds: 15 } });

    // Assess
    expect(result).toEqual({ registered: null, alreadyArrived: false });
  });

  it('refuses a wait without a token, naming the field', async () => {
    await expect(awaitRdsEvent({ poll: waitFor('x').poll })).rejects.toThrow(
      /taskToken: must be the Task token/,
    );
  });
});

describe('completing a token on Step Functions', () => {
  const sfn = mockClient(SFNClient);
  beforeEach(() => sfn.reset());

  it('sends the wake-up as the Task output', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).resolves({});

    // Act
    const result = await completeTask('aws-token', { wokenBy: 'RDS-EVENT-0087' });

    // Assess
    expect(result).toBe('completed');
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'aws-token',
      output: '{"wokenBy":"RDS-EVENT-0087"}',
    });
  });

  it.each(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'])(
    'ignores %s: the wait is over',
    async (name) => {
      // Prepare
      sfn.on(SendTaskSuccessCommand).rejects(Object.assign(new Error('over'), { name }));

      // Act / Assess
      await expect(completeTask('aws-token', {})).resolves.toBe('stale');
    },
  );

  it('lets any other error through (the rule retries the event)', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(completeTask('aws-token', {})).rejects.toThrow('denied');
  });
});
