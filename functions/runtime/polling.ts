import { WaitTimeoutError } from '#domain/errors.js';
import { POLL_LIMITS, type Poll, type PollLimitName, waitSecondsFor } from '#domain/limits.js';

/**
 * Every long wait is a Task -> Choice -> Wait loop in the state machine. A reconciling step
 * returns `{ done: false, poll }`; the Wait state sleeps `poll.waitSeconds`, then the step runs
 * again and carries `poll.attempt` forward. The cap (POLL_LIMITS) turns a wait that never ends
 * into a `WaitTimeoutError`, which the state machine catches into rollback.
 */

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
