import { WaitTimeoutError } from '#domain/errors.js';
import {
  type AwaitedEvent,
  EVENT_FALLBACK_BACKOFF_SKIP,
  MAX_WAIT_SECONDS,
  POLL_LIMITS,
  POLL_TIME_LIMIT_SECONDS,
  type Poll,
  type PollLimitName,
  PREDICTED_WAIT,
  waitSecondsFor,
} from '#domain/limits.js';

/**
 * Every long wait is a Task -> Choice -> Wait loop in the state machine. A reconciling step
 * returns `{ done: false, poll }`; the Wait state sleeps `poll.waitSeconds`, then the step runs
 * again and carries `poll.attempt` forward. The cap (POLL_LIMITS) turns a wait that never ends
 * into a `WaitTimeoutError`, which the state machine catches into rollback.
 */

/**
 * What a waiting step saw of the operation's progress: RDS's PercentProgress, where it reports one.
 * `now` is the time of this check (default: the clock).
 */
export interface Progress {
  percent?: number | undefined;
  now?: Date;
  /** The RDS event that ends this wait, where RDS publishes one (features/waits/events.ts). */
  awaits?: AwaitedEvent | undefined;
  /**
   * How long the awaited operation should take (EXPECTED_SECONDS in domain/durations.ts), from the
   * loop's first check, or from this check with `started`. Later checks carry it on by themselves.
   */
  expectedSeconds?: number | undefined;
  /** This check began a new operation of the same loop (configure: the modify, then the reboot). */
  started?: boolean;
}

/**
 * The wait until the next check, predicted from the progress, or null (use the backoff). RDS reports
 * whole percents, so the estimate takes the fastest progress the figure allows (percent + 1 done
 * by now) and waits a share of what that leaves: a check never lands after the end of a copy that
 * goes at a steady rate. A percentage that stands still backs off again from 15 s, never past a
 * quarter of the time one percent has taken (a copy can sit at 99 % while RDS finishes it). A queued copy reports 0 until it starts: the backoff then.
 * REKEY_WAIT_POLICY=backoff turns the prediction off (npm run bench compares both).
 */
const predictedWait = (
  percent: number | undefined,
  previous: Poll | undefined,
  elapsedSeconds: number,
): { waitSeconds: number; stalls: number } | null => {
  if (process.env.REKEY_WAIT_POLICY === 'backoff') return null;
  if (percent === undefined || percent <= 0 || percent >= 100 || elapsedSeconds <= 0) return null;
  if (previous?.percent === percent) {
    // Backing off again, but never past a quarter of the time one percent has taken so far.
    const stalls = (previous.stalls ?? 0) + 1;
    const quarterPercent = Math.max(PREDICTED_WAIT.minSeconds, Math.round(elapsedSeconds / percent / 4));
    return { waitSeconds: Math.min(waitSecondsFor(stalls - 1), quarterPercent), stalls };
  }
  const fastest = percent + 1;
  const remaining = (elapsedSeconds * (100 - fastest)) / fastest;
  const waitSeconds = Math.min(
    PREDICTED_WAIT.maxSeconds,
    Math.max(PREDICTED_WAIT.minSeconds, Math.round(remaining * PREDICTED_WAIT.share)),
  );
  return { waitSeconds, stalls: 0 };
};

/**
 * The wait aimed at the operation's expected end, where RDS reports no progress: the time left
 * until then, in equal steps of at most MAX_WAIT_SECONDS (so a lost event never costs more than
 * the backoff's longest step). Past the expected end the backoff starts again: from 15 s, or two
 * steps up where an event is awaited (it normally ends the wait first). Null without an
 * expectation or with REKEY_WAIT_POLICY=backoff.
 */
const expectedWait = (
  expected: Poll['expected'],
  previous: Poll | undefined,
  now: Date,
  awaits: AwaitedEvent | undefined,
): { waitSeconds: number; overdue: number } | null => {
  if (process.env.REKEY_WAIT_POLICY === 'backoff' || !expected) return null;
  const remaining = expected.seconds - (now.getTime() - Date.parse(expected.from)) / 1000;
  if (remaining > 0) {
    const steps = Math.ceil(remaining / MAX_WAIT_SECONDS);
    return { waitSeconds: Math.max(PREDICTED_WAIT.minSeconds, Math.ceil(remaining / steps)), overdue: 0 };
  }
  const overdue = previous?.expected?.from === expected.from ? (previous.overdue ?? 0) : 0;
  return { waitSeconds: waitSecondsFor(overdue + fallbackSkip(awaits)), overdue: overdue + 1 };
};

/** An awaited event ends the wait, so its fallback starts further up the backoff (not with the old policy). */
const fallbackSkip = (awaits: AwaitedEvent | undefined): number =>
  awaits && process.env.REKEY_WAIT_POLICY !== 'backoff' ? EVENT_FALLBACK_BACKOFF_SKIP : 0;

/**
 * The next poll after `previous`, or a `WaitTimeoutError` naming what was awaited once the cap
 * is reached: POLL_LIMITS attempts, or POLL_TIME_LIMIT_SECONDS since the first check.
 */
export const nextPoll = (
  previous: Poll | undefined,
  limit: PollLimitName,
  lastStatus: string,
  what: string,
  progress: Progress = {},
): Poll => {
  const attempt = (previous?.attempt ?? 0) + 1;
  const maxAttempts = POLL_LIMITS[limit];
  const timeout = (after: string) =>
    new WaitTimeoutError(
      `${what} did not finish after ${after} (last status "${lastStatus}"). ` +
        'Look at the resource in the RDS console; if it is still progressing, start a new rotation once it is done.',
    );
  if (attempt > maxAttempts) throw timeout(`${maxAttempts} checks`);
  const now = progress.now ?? new Date();
  const since = previous?.since ?? now.toISOString();
  const elapsedSeconds = (now.getTime() - Date.parse(since)) / 1000;
  if (elapsedSeconds > POLL_TIME_LIMIT_SECONDS[limit]) {
    throw timeout(`${Math.round(POLL_TIME_LIMIT_SECONDS[limit] / 3600)} hours`);
  }
  const predicted = predictedWait(progress.percent, previous, elapsedSeconds);
  const expected = expectationOf(previous, progress, now);
  const aimed = predicted ? null : expectedWait(expected, previous, now, progress.awaits);
  return {
    attempt,
    waitSeconds:
      predicted?.waitSeconds ??
      aimed?.waitSeconds ??
      waitSecondsFor(attempt - 1 + fallbackSkip(progress.awaits)),
    lastStatus,
    since,
    ...(progress.percent !== undefined ? { percent: progress.percent } : {}),
    ...(predicted?.stalls ? { stalls: predicted.stalls } : {}),
    ...(progress.awaits ? { awaits: progress.awaits, checkedAt: now.toISOString() } : {}),
    ...(expected ? { expected } : {}),
    ...(aimed?.overdue ? { overdue: aimed.overdue } : {}),
  };
};

/** The expectation this check goes by: a new one where the step gives it, else the loop's so far. */
const expectationOf = (previous: Poll | undefined, progress: Progress, now: Date): Poll['expected'] => {
  if (progress.expectedSeconds === undefined || progress.expectedSeconds <= 0) {
    return progress.started ? undefined : previous?.expected;
  }
  const carried = previous?.expected;
  if (carried && !progress.started && carried.seconds === progress.expectedSeconds) return carried;
  return { seconds: progress.expectedSeconds, from: now.toISOString() };
};
