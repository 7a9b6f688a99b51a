import { afterEach, describe, expect, it } from 'vitest';
import {
  type AwaitedEvent,
  POLL_LIMITS,
  POLL_TIME_LIMIT_SECONDS,
  type Poll,
  waitSecondsFor,
} from '#domain/limits.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * The wait loops' next check: the backoff (15, 30, 60, 120, 240, then 300 s), or, where RDS
 * reports PercentProgress (snapshots and copies), a wait predicted from it so the check lands near
 * the end instead of up to 300 s after it; capped by attempts and by time.
 */

const start = new Date('2027-03-09T06:00:00.000Z');
const at = (seconds: number) => new Date(start.getTime() + seconds * 1000);

/** Runs a loop on a simulated copy that advances linearly and ends at `endSeconds`: when is the end seen? */
const simulate = (endSeconds: number, percentAt: (s: number) => number | undefined) => {
  let now = 0;
  let poll: Poll | undefined = nextPoll(undefined, 'copySnapshot', 'creating', 'the copy', {
    percent: percentAt(0),
    now: at(0),
  });
  let checks = 1;
  for (;;) {
    now += poll.waitSeconds;
    checks += 1;
    if (now >= endSeconds) return { seenAt: now, checks };
    poll = nextPoll(poll, 'copySnapshot', 'creating', 'the copy', { percent: percentAt(now), now: at(now) });
  }
};

describe('nextPoll', () => {
  afterEach(() => {
    delete process.env.REKEY_WAIT_POLICY;
  });

  it('backs off 15, 30, 60, 120, 240, then 300 s where no progress is reported', () => {
    let poll: Poll | undefined;
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      poll = nextPoll(poll, 'restoreInstance', 'creating', 'the restore', { now: at(i) });
      waits.push(poll.waitSeconds);
    }
    expect(waits).toEqual([15, 30, 60, 120, 240, 300, 300]);
  });

  it('with PercentProgress, sees a 6,000 s copy end within 30 s and with fewer checks than the backoff', () => {
    // Act
    const linear = (s: number) => Math.floor((100 * s) / 6000);
    const predicted = simulate(6000, linear);
    process.env.REKEY_WAIT_POLICY = 'backoff';
    const backoff = simulate(6000, linear);

    // Assess
    expect(predicted.seenAt - 6000).toBeLessThanOrEqual(30);
    expect(predicted.checks).toBeLessThan(backoff.checks);
    expect(backoff.seenAt - 6000).toBeGreaterThan(30);
  });

  it('falls back to the backoff while the percentage stands still (a queued copy reports 0)', () => {
    const first = nextPoll(undefined, 'copySnapshot', 'creating', 'the copy', { percent: 0, now: at(0) });
    const second = nextPoll(first, 'copySnapshot', 'creating', 'the copy', { percent: 0, now: at(15) });
    expect([first.waitSeconds, second.waitSeconds]).toEqual([15, 30]);
    const moving = nextPoll(second, 'copySnapshot', 'creating', 'the copy', { percent: 10, now: at(600) });
    // 10 % after 600 s: at the fastest (11 %) about 4,850 s left, 90 % of which, capped at an hour.
    expect(moving.waitSeconds).toBe(3600);
    // Standing still at 10 %: the wait backs off again from 15 s, and the stall is counted.
    const stuck = nextPoll(moving, 'copySnapshot', 'creating', 'the copy', { percent: 10, now: at(4200) });
    const still = nextPoll(stuck, 'copySnapshot', 'creating', 'the copy', { percent: 10, now: at(4215) });
    expect([stuck.waitSeconds, still.waitSeconds]).toEqual([waitSecondsFor(0), waitSecondsFor(1)]);
    expect(still.stalls).toBe(2);
    // A long copy at 99 %: the backoff never waits past a quarter of one percent's time (10,000 s / 99 / 4).
    let poll = nextPoll(undefined, 'copySnapshot', 'creating', 'the copy', { percent: 98, now: at(0) });
    for (let i = 1; i <= 8; i++)
      poll = nextPoll(poll, 'copySnapshot', 'creating', 'the copy', { percent: 99, now: at(10_000 + i) });
    expect(poll.waitSeconds).toBe(25);
  });

  it('gives up after the loop’s attempts, or after its time even when the predicted waits were long', () => {
    // Attempts
    let poll: Poll | undefined;
    for (let i = 0; i < POLL_LIMITS.stopSource; i++)
      poll = nextPoll(poll, 'stopSource', 'stopping', 'Stopping orders-db');
    expect(() => nextPoll(poll, 'stopSource', 'stopping', 'Stopping orders-db')).toThrow(
      expect.objectContaining({
        name: 'WaitTimeoutError',
        message: expect.stringContaining(
          `Stopping orders-db did not finish after ${POLL_LIMITS.stopSource} checks`,
        ),
      }),
    );
    // Time: three checks an hour apart, past the copy's time limit.
    const first = nextPoll(undefined, 'copySnapshot', 'creating', 'the copy', { percent: 1, now: at(0) });
    expect(() =>
      nextPoll(first, 'copySnapshot', 'creating', 'the copy', {
        percent: 2,
        now: at(POLL_TIME_LIMIT_SECONDS.copySnapshot + 1),
      }),
    ).toThrow(
      expect.objectContaining({ name: 'WaitTimeoutError', message: expect.stringContaining('hours') }),
    );
  });

  it('sizes each loop’s time limit as its attempts at the backoff (about 24.5 h for a copy)', () => {
    expect(POLL_TIME_LIMIT_SECONDS.copySnapshot).toBe(465 + (POLL_LIMITS.copySnapshot - 5) * 300);
    expect(Math.round(POLL_TIME_LIMIT_SECONDS.copySnapshot / 360) / 10).toBe(24.7);
  });

  it('names the awaited RDS event and when it checked, and starts that fallback at 60 s (the event ends it sooner)', () => {
    // Prepare
    const awaits = {
      sourceType: 'DB_INSTANCE' as const,
      sourceIdentifier: 'orders-db',
      eventIds: ['RDS-EVENT-0087'],
    };

    // Act
    const first = nextPoll(undefined, 'stopSource', 'stopping', 'Stopping orders-db', { awaits, now: at(0) });
    const second = nextPoll(first, 'stopSource', 'stopping', 'Stopping orders-db', { awaits, now: at(60) });
    const plain = nextPoll(undefined, 'stopSource', 'stopping', 'Stopping orders-db', { now: at(0) });

    // Assess
    expect(first).toMatchObject({ waitSeconds: 60, awaits, checkedAt: at(0).toISOString() });
    expect(second).toMatchObject({ waitSeconds: 120, checkedAt: at(60).toISOString() });
    expect(plain.waitSeconds).toBe(15);
    expect(plain).not.toHaveProperty('awaits');
  });

  it('keeps the plain backoff for an awaited wait under the old policy (REKEY_WAIT_POLICY=backoff)', () => {
    process.env.REKEY_WAIT_POLICY = 'backoff';
    try {
      const awaits = { sourceType: 'SNAPSHOT' as const, sourceIdentifier: 's', eventIds: ['RDS-EVENT-0042'] };
      expect(nextPoll(undefined, 'snapshotSource', 'creating', 'the snapshot', { awaits }).waitSeconds).toBe(
        15,
      );
    } finally {
      delete process.env.REKEY_WAIT_POLICY;
    }
  });

  describe('aimed at the expected end, where RDS reports no progress', () => {
    /** A loop on an operation expected to take `expectedSeconds` that really ends at `endSeconds`. */
    const aim = (expectedSeconds: number, endSeconds: number, awaits?: AwaitedEvent) => {
      let now = 0;
      let poll = nextPoll(undefined, 'restoreInstance', 'creating', 'the restore', {
        expectedSeconds,
        awaits,
        now: at(0),
      });
      const waits = [poll.waitSeconds];
      while (now + poll.waitSeconds < endSeconds) {
        now += poll.waitSeconds;
        // Later checks do not repeat the expectation: the poll carries it.
        poll = nextPoll(poll, 'restoreInstance', 'creating', 'the restore', { awaits, now: at(now) });
        waits.push(poll.waitSeconds);
      }
      return { waits, seenAt: now + poll.waitSeconds };
    };

    it('checks at the expected end, in equal steps of at most 300 s, and sees an on-time end at once', () => {
      const onTime = aim(1000, 1000);
      expect(onTime.waits).toEqual([250, 250, 250, 250]);
      expect(onTime.seenAt).toBe(1000);
      // The backoff alone sees the same end at 1,065 s, after 8 checks.
      expect(aim(0, 1000).seenAt).toBe(1065);
    });

    it('restarts the backoff at the expected end when the operation runs over', () => {
      const late = aim(300, 400);
      expect(late.waits).toEqual([300, 15, 30, 60]);
      expect(late.seenAt).toBe(405);
    });

    it('starts that backoff two steps up where an RDS event is awaited (the event normally comes first)', () => {
      const awaits = {
        sourceType: 'DB_INSTANCE' as const,
        sourceIdentifier: 'db',
        eventIds: ['RDS-EVENT-0008'],
      };
      expect(aim(300, 400, awaits).waits).toEqual([300, 60, 120]);
    });

    it('never waits longer than 300 s, so an early end with a lost event costs at most the backoff’s longest step', () => {
      const early = aim(1000, 100);
      expect(early.seenAt - 100).toBeLessThanOrEqual(300);
    });

    it('counts a new expectation from the call that began it (configure: the modify, then the reboot)', () => {
      const modify = nextPoll(undefined, 'configureInstance', 'modifying', 'configure', {
        expectedSeconds: 600,
        started: true,
        now: at(0),
      });
      const reboot = nextPoll(modify, 'configureInstance', 'rebooting', 'configure', {
        expectedSeconds: 120,
        started: true,
        now: at(700),
      });
      expect(modify).toMatchObject({
        attempt: 1,
        waitSeconds: 300,
        expected: { seconds: 600, from: at(0).toISOString() },
      });
      // The attempts and the loop's time cap carry on; only the aim moves.
      expect(reboot).toMatchObject({
        attempt: 2,
        since: at(0).toISOString(),
        waitSeconds: 120,
        expected: { seconds: 120, from: at(700).toISOString() },
      });
    });

    it('lets PercentProgress, once RDS reports it, take over from the expectation', () => {
      const first = nextPoll(undefined, 'copySnapshot', 'creating', 'the copy', {
        expectedSeconds: 6000,
        percent: 0,
        now: at(0),
      });
      const predicted = nextPoll(first, 'copySnapshot', 'copying', 'the copy', { percent: 49, now: at(300) });
      expect(first.waitSeconds).toBe(300);
      // 50 % done (at the fastest) after 300 s: 300 s left, of which 90 % is waited.
      expect(predicted.waitSeconds).toBe(270);
    });

    it('is off under the old policy (REKEY_WAIT_POLICY=backoff)', () => {
      process.env.REKEY_WAIT_POLICY = 'backoff';
      try {
        expect(aim(1000, 1000).waits.slice(0, 3)).toEqual([15, 30, 60]);
      } finally {
        delete process.env.REKEY_WAIT_POLICY;
      }
    });
  });
});
