import { WaitTimeoutError } from '#domain/errors.js';

/**
 * Every long wait is a Task -> Choice -> Wait loop in the state machine. A reconciling step
 * returns `{ done: false, poll }`; the Wait state sleeps `poll.waitSeconds`, then the step runs
 * again and carries `poll.attempt` forward. The cap turns a wait that never ends into a
 * `WaitTimeoutError`, which the state machine catches into rollback.
 */
export interface Poll {
  /** How many times the step has found the resource not ready yet. */
  attempt: number;
  /** How long the Wait state sleeps before the next check. */
  waitSeconds: number;
  /** The status seen last, for the execution history. */
  lastStatus: string;
}

/**
 * Iteration caps per loop. Backoff is 15, 30, 60, 120, 240 s, then 300 s, so N attempts cover
 * about (465 + (N - 5) * 300) seconds. An execution takes one path: the snapshot loops (about
 * 84 hours together) or the Blue/Green loops (about 19 hours), plus the rollback. The state
 * machine's own TimeoutSeconds (4 days) is larger than either sum, so a loop's cap always fires
 * first and the rollback runs; an execution timeout would skip it.
 */
export const POLL_LIMITS = {
  stopSource: 40, // ~3 h; a stop usually takes minutes
  snapshotSource: 300, // ~24.5 h; first snapshot of a large database
  copySnapshot: 300, // ~24.5 h; the copy re-encrypts every block
  restoreInstance: 150, // ~12 h
  configureInstance: 80, // ~6.5 h; modify and reboot
  cutover: 40, // ~3 h; Route 53 is INSYNC within about a minute
  retireInstance: 60, // ~5 h
  startSource: 60, // ~5 h; used by the normal path (cutover "none") and by rollback
  // Blue/Green (an execution takes one path; the static test checks each path against TimeoutSeconds).
  createGreen: 150, // ~12 h; RDS restores the database into the green environment and lets it catch up
  switchover: 10, // ~33 min; a switchover takes about a minute and RDS rolls it back after SwitchoverTimeout (300 s)
  retireBlue: 20, // ~1.4 h; delete the deployment, then the old blue resources
} as const;

export type PollLimitName = keyof typeof POLL_LIMITS;

const BACKOFF_SECONDS = [15, 30, 60, 120, 240] as const;
const MAX_WAIT_SECONDS = 300;

export const waitSecondsFor = (attempt: number): number => BACKOFF_SECONDS[attempt] ?? MAX_WAIT_SECONDS;

/**
 * The next poll after `previous`, or a `WaitTimeoutError` naming what was awaited once the cap
 * is reached.
 */
export const nextPoll = (
  previous: Poll | undefined,
  limit: PollLimitName,
  lastStatus: string,
  what: string,
): Poll => {
  const attempt = (previous?.attempt ?? 0) + 1;
  const maxAttempts = POLL_LIMITS[limit];
  if (attempt > maxAttempts) {
    throw new WaitTimeoutError(
      `${what} did not finish after ${maxAttempts} checks (last status "${lastStatus}"). ` +
        'Look at the resource in the RDS console; if it is still progressing, start a new rotation once it is done.',
    );
  }
  return { attempt, waitSeconds: waitSecondsFor(attempt - 1), lastStatus };
};
