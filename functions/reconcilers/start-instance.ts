import { type RDSClient, StartDBInstanceCommand } from '@aws-sdk/client-rds';
import { findInstance, isTerminalInstanceStatus } from '#aws/rds.js';
import { isAwsError, PreconditionFailedError, ResourceFailedError } from '#domain/errors.js';
import type { Poll, PollLimitName } from '#domain/limits.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

export interface EnsureStartedResult {
  /** True once the instance is `available`. */
  done: boolean;
  /** Set when not done: how long the state machine waits before the next check. */
  poll?: Poll;
  status: string;
  /** True when this call issued StartDBInstance. */
  started: boolean;
}

/**
 * Reconciles a DB instance towards `available`, one check per call: starts it when `stopped`,
 * waits through `starting` (and through any other transient status, such as `stopping`, after
 * which the next call starts it), and is done once it is `available`. Safe to call again at any
 * point: a start that a lost earlier attempt already issued makes StartDBInstance answer
 * InvalidDBInstanceState, which only means "keep waiting".
 *
 * Used by `start-source` (cutover "none"), by `retire-database` (a stopped instance must run
 * before its deletion protection can be lifted) and by `rollback`.
 *
 * @param previousPoll the `poll` of the caller's previous result, so the attempt count carries on
 * @param limitName the caller's iteration cap in `POLL_LIMITS`
 * @param what what the caller is waiting for, for the timeout message, e.g. "Starting orders-db"
 */
export const ensureInstanceStarted = async (
  rds: RDSClient,
  dbInstanceIdentifier: string,
  previousPoll: Poll | undefined,
  limitName: PollLimitName,
  what: string,
): Promise<EnsureStartedResult> => {
  const db = await findInstance(rds, dbInstanceIdentifier);
  if (!db) {
    throw new PreconditionFailedError(
      `${what}: DB instance ${dbInstanceIdentifier} does not exist, so it cannot be started. ` +
        'Someone deleted it while the rotation ran. Check the RDS console (and its recent events) for what happened to it.',
    );
  }
  const status = db.DBInstanceStatus ?? 'unknown';
  if (isTerminalInstanceStatus(status)) {
    throw new ResourceFailedError(
      `${what}: DB instance ${dbInstanceIdentifier} is in status "${status}", which RDS does not recover from by itself, ` +
        'so it cannot be started. See the events of the instance in the RDS console; ' +
        'if it is encrypted under a disabled KMS key, enable the key and start the instance by hand.',
    );
  }
  if (status === 'available') {
    return { done: true, status, started: false };
  }
  if (status === 'stopped') {
    let started = false;
    try {
      await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: dbInstanceIdentifier }));
      started = true;
      logger.info('starting DB instance', { dbInstanceIdentifier });
    } catch (error) {
      // A racing attempt (a lost response, a person in the console) already started it: keep waiting.
      if (!isAwsError(error, 'InvalidDBInstanceStateFault', 'InvalidDBInstanceState')) throw error;
      logger.info('DB instance is already starting', { dbInstanceIdentifier });
    }
    return {
      done: false,
      status: 'starting',
      started,
      poll: nextPoll(previousPoll, limitName, 'starting', what),
    };
  }
  return { done: false, status, started: false, poll: nextPoll(previousPoll, limitName, status, what) };
};
