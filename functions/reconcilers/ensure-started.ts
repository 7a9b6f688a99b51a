import { type DBInstance, type RDSClient, StartDBInstanceCommand } from '@aws-sdk/client-rds';
import { findInstance, isTerminalInstanceStatus } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError, ResourceFailedError } from '#domain/errors.js';
import type { Poll, PollLimitName } from '#domain/limits.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

export interface EnsureStartedResult {
  /** True once the database is `available`. */
  done: boolean;
  /** Set when not done: how long the state machine waits before the next check. */
  poll?: Poll;
  status: string;
  /** True when this call issued the start. */
  started: boolean;
}

/** What "ensure started" needs to know of a kind of database (DB instances here; clusters have theirs). */
export interface StartAdapter<R> {
  /** For messages: "DB instance" or "DB cluster". */
  noun: string;
  find: (rds: RDSClient, identifier: string) => Promise<R | null>;
  statusOf: (resource: R) => string | undefined;
  /** Throws when the database is in a status RDS does not recover from by itself. */
  assertRecoverable: (resource: R, identifier: string, what: string) => void;
  start: (rds: RDSClient, identifier: string) => Promise<void>;
  /** Where its error names are in RDS_ERRORS ("busy now": a start already under way). */
  errors: 'instance' | 'cluster';
}

export interface EnsureStarted<R> {
  identifier: string;
  /** The caller's previous `poll`, so the attempt count carries on. */
  previousPoll: Poll | undefined;
  /** The caller's iteration cap in `POLL_LIMITS`. */
  limitName: PollLimitName;
  /** What the caller is waiting for, for messages, e.g. "Starting orders-db". */
  what: string;
  /** The database, when the caller has just described it (saves a call). */
  found?: R | null;
}

/**
 * Reconciles a database towards `available`, one check per call: starts it when `stopped`, waits
 * through `starting` (and through any other transient status, such as `stopping`, after which
 * the next call starts it), and is done once it is `available`. Safe to call again at any point:
 * a start that a lost earlier attempt already issued makes RDS answer "invalid state", which only
 * means "keep waiting".
 */
export const ensureStarted = async <R>(
  adapter: StartAdapter<R>,
  rds: RDSClient,
  target: EnsureStarted<R>,
): Promise<EnsureStartedResult> => {
  const { identifier, what } = target;
  const resource = target.found === undefined ? await adapter.find(rds, identifier) : target.found;
  if (!resource) {
    throw new PreconditionFailedError(
      `${what}: ${adapter.noun} ${identifier} does not exist, so it cannot be started. ` +
        'Someone deleted it while the rotation ran. Check the RDS console (and its recent events) for what happened to it.',
    );
  }
  adapter.assertRecoverable(resource, identifier, what);
  const status = adapter.statusOf(resource) ?? 'unknown';
  if (status === 'available') return { done: true, status, started: false };
  const awaits =
    adapter.errors === 'cluster'
      ? awaiting('CLUSTER', identifier, RDS_EVENTS.clusterStarted)
      : awaiting('DB_INSTANCE', identifier, RDS_EVENTS.instanceStarted);
  const poll = (seen: string) =>
    nextPoll(target.previousPoll, target.limitName, seen, what, {
      awaits,
      expectedSeconds: EXPECTED_SECONDS.start(),
    });
  if (status !== 'stopped') return { done: false, status, started: false, poll: poll(status) };
  let started = false;
  try {
    await adapter.start(rds, identifier);
    started = true;
    logger.info(`starting ${adapter.noun}`, { identifier });
  } catch (error) {
    // A racing attempt (a lost response, a person in the console) already started it: keep waiting.
    if (!isAwsError(error, ...RDS_ERRORS[adapter.errors].invalidState)) throw error;
    logger.info(`${adapter.noun} is already starting`, { identifier });
  }
  return { done: false, status: 'starting', started, poll: poll('starting') };
};

/** DB instances, for "ensure started". */
export const instanceStarts: StartAdapter<DBInstance> = {
  noun: 'DB instance',
  find: findInstance,
  statusOf: (db) => db.DBInstanceStatus,
  assertRecoverable: (db, identifier, what) => {
    const status = db.DBInstanceStatus ?? 'unknown';
    if (!isTerminalInstanceStatus(status)) return;
    throw new ResourceFailedError(
      `${what}: DB instance ${identifier} is in status "${status}", which RDS does not recover from by itself, ` +
        'so it cannot be started. See the events of the instance in the RDS console; ' +
        'if it is encrypted under a disabled KMS key, enable the key and start the instance by hand.',
    );
  },
  start: async (rds, identifier) => {
    await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: identifier }));
  },
  errors: 'instance',
};

/**
 * Ensure a DB instance is started (see ensureStarted). Used by `start-source` (cutover "none"), by
 * `retire-database` (a stopped instance must run before its deletion protection can be lifted)
 * and by `rollback`.
 */
export const ensureInstanceStarted = (
  rds: RDSClient,
  dbInstanceIdentifier: string,
  previousPoll: Poll | undefined,
  limitName: PollLimitName,
  what: string,
): Promise<EnsureStartedResult> =>
  ensureStarted(instanceStarts, rds, { identifier: dbInstanceIdentifier, previousPoll, limitName, what });
