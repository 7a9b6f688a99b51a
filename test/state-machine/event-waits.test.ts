import { afterEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { Poll } from '#domain/limits.js';
import type { EventWait, RunResult, SimulatedRdsEvent } from '../../cli/runner.js';
import { seedSample } from '../../cli/seed.js';
import {
  type Durations,
  type RdsEvent,
  useVirtualDate,
  VirtualAws,
} from '../../scripts/bench/virtual-aws.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import { runRotation } from '../support/rotation.js';

/**
 * The event-driven waits in the real state machine: RDS on the bench's virtual clock (stop,
 * snapshot, copy and restore take minutes; nothing sleeps), the runner delivering simulated RDS
 * events through the real OnRdsEvent handler. An AwaitX Task that "succeeded" was woken by an
 * event; one that was "caught" timed out into its check (the polling fallback).
 */

const DURATIONS: Durations = {
  stopSeconds: 300,
  startSeconds: 300,
  snapshotSeconds: 600,
  copySeconds: 900,
  restoreSeconds: 1200,
  memberSeconds: 0,
  modifySeconds: 0,
  rebootSeconds: 0,
  dnsChangeSeconds: 0,
};

const asDelivered = (event: RdsEvent | SimulatedRdsEvent, time: Date): SimulatedRdsEvent => ({
  eventId: event.eventId,
  sourceType: event.sourceType,
  sourceIdentifier: event.sourceIdentifier,
  time,
});

/** The running operation whose end is the event this wait awaits. */
const awaitedOperation = (clock: VirtualAws, poll: Poll) =>
  clock.operations.find(
    (op) =>
      op.event !== null &&
      op.end > clock.now &&
      op.event.sourceIdentifier.toLowerCase() === poll.awaits?.sourceIdentifier.toLowerCase() &&
      poll.awaits.eventIds.includes(op.event.eventId),
  );

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
  for (const client of [getClients().rds, getClients().route53])
    client.middlewareStack.remove('rekeyBenchVirtualClock');
});

/**
 * A rotation of the break-glass sample on the virtual clock. `atWait` is called in each event
 * wait with the operation it awaits; it advances the clock and delivers what it wants.
 */
const rotate = async (
  name: string,
  atWait: (
    wait: EventWait,
    clock: VirtualAws,
    operation: ReturnType<typeof awaitedOperation>,
  ) => Promise<void>,
): Promise<{ result: RunResult; waits: Record<string, string[]> }> => {
  await seedSample();
  const clock = new VirtualAws(DURATIONS);
  clock.install(getClients());
  restore = useVirtualDate(clock);
  let pendingWait = 0;
  const result = await runRotation({
    input: executionInput('break-glass'),
    executionName: name,
    // A plain Wait (skipped by fastWaits) still moves the virtual clock by its seconds.
    wrapTask: (stateName, invoke) => async (input) => {
      if (!stateName.startsWith('Await')) clock.advance(pendingWait);
      pendingWait = 0;
      const output = (await invoke(input)) as { done?: boolean; poll?: Poll } | null;
      if (output?.done === false && output.poll) pendingWait = output.poll.waitSeconds;
      return output;
    },
    onEventWait: (wait) => atWait(wait, clock, awaitedOperation(clock, wait.poll)),
  });
  const waits: Record<string, string[]> = {};
  for (const timing of result.timings.filter((t) => t.state.startsWith('Await'))) {
    waits[timing.state] = [...(waits[timing.state] ?? []), timing.outcome];
  }
  return { result, waits };
};

describe('event-driven waits in the rotate-instance state machine', () => {
  useEmulator();

  it('ends each wait at the RDS event, long before its fallback', async () => {
    // Act: each event comes 5 s after the operation ends. A wait with no operation under way
    // (the check lifted deletion protection before the stop) has no event to wait for.
    const expected: string[] = [];
    const { result, waits } = await rotate('sm-events', async (wait, clock, operation) => {
      expected.push(operation?.event ? 'succeeded' : 'caught');
      if (!operation?.event) return;
      clock.advance(operation.end - clock.now + 5);
      await wait.deliver(asDelivered(operation.event, new Date()));
    });

    // Assess: woken by the event every time there was one; each operation checked once after it.
    expect(result.status).toBe('SUCCEEDED');
    const outcomes = result.timings.filter((t) => t.state.startsWith('Await')).map((t) => t.outcome);
    expect(outcomes).toEqual(expected);
    for (const state of [
      'AwaitStopSource',
      'AwaitSnapshotSource',
      'AwaitCopySnapshot',
      'AwaitRestoreInstance',
    ]) {
      expect(
        waits[state]?.filter((outcome) => outcome === 'succeeded'),
        state,
      ).toEqual(['succeeded']);
    }
    expect(result.timings.filter((t) => t.state === 'CopySnapshot')).toHaveLength(2);
  });

  it('falls back to the check when the event is lost, and an event for another resource wakes nothing', async () => {
    // Act: the awaited event never comes; the same event ID does, for another database.
    const delivered: unknown[] = [];
    const { result, waits } = await rotate('sm-lost', async (wait, clock) => {
      const awaits = wait.poll.awaits;
      if (!awaits) return;
      const other = { ...awaits, eventId: awaits.eventIds[0] ?? '', sourceIdentifier: 'billing-db' };
      delivered.push(await wait.deliver({ ...other, time: new Date(Date.now() + 1000) }));
      clock.advance(wait.poll.waitSeconds);
    });

    // Assess: every wait timed out into its check, and the rotation still finished.
    expect(result.status).toBe('SUCCEEDED');
    expect(Object.keys(waits).sort()).toEqual([
      'AwaitCopySnapshot',
      'AwaitRestoreInstance',
      'AwaitSnapshotSource',
      'AwaitStopSource',
    ]);
    expect(
      Object.values(waits)
        .flat()
        .every((outcome) => outcome === 'caught'),
    ).toBe(true);
    expect(delivered.every((d) => (d as { outcome: string }).outcome === 'no-wait')).toBe(true);
  });

  it('ignores a stale event that arrives after its wait was over, and it wakes no later wait', async () => {
    // Act: the stop's event is lost in its own wait (the check finds the source stopped), then
    // arrives late, during the snapshot's wait.
    let stopEvent: SimulatedRdsEvent | undefined;
    let late: unknown;
    const { result, waits } = await rotate('sm-stale', async (wait, clock, operation) => {
      if (wait.stateName === 'AwaitStopSource' && operation?.event) {
        // RDS publishes it when the stop ends.
        stopEvent = asDelivered(operation.event, new Date(Date.now() + (operation.end - clock.now) * 1000));
        clock.advance(wait.poll.waitSeconds);
        return;
      }
      if (wait.stateName === 'AwaitSnapshotSource' && stopEvent && late === undefined) {
        late = await wait.deliver(stopEvent);
        clock.advance(wait.poll.waitSeconds);
        return;
      }
      if (!operation?.event) return;
      clock.advance(operation.end - clock.now + 5);
      await wait.deliver(asDelivered(operation.event, new Date()));
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(late).toMatchObject({ outcome: 'stale' });
    expect(waits.AwaitStopSource?.[0]).toBe('caught');
    // The late stop event did not end the snapshot's wait: it timed out into its check.
    expect(waits.AwaitSnapshotSource?.[0]).toBe('caught');
  });
});
