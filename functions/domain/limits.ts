/**
 * Every range, default and time budget Rekey relies on, defined once. The input schema, the steps
 * and the tests import them from here; the static tests check the state machine and the template
 * against them (test/static/asl.test.ts, test/static/limits.test.ts).
 */

const MINUTE_SECONDS = 60;
const HOUR_SECONDS = 60 * MINUTE_SECONDS;
export const DAY_SECONDS = 24 * HOUR_SECONDS;

/** KMS ScheduleKeyDeletion's waiting period for the old key: 7 to 30 whole days, default 30. */
export const KEY_PENDING_WINDOW_DAYS = { min: 7, max: 30, default: 30 } as const;

/** The waiting period for a new key that a failed rotation never used: the shortest KMS allows. */
export const UNUSED_KEY_PENDING_WINDOW_DAYS = KEY_PENDING_WINDOW_DAYS.min;

/** How long an approval gate waits for a decision (minutes): at least 5, at most 7 days, default 4 h. */
export const APPROVAL_MINUTES = { min: 5, max: 7 * 24 * 60, default: 4 * 60 } as const;

/** How long RDS may take for a Blue/Green switchover before it rolls it back (30 to 3,600 s; RDS's default). */
export const SWITCHOVER_TIMEOUT_SECONDS = 300;

/**
 * One check of a wait loop. A reconciling step returns `{ done: false, poll }`; the Wait state
 * sleeps `poll.waitSeconds`, then the step runs again and carries `poll.attempt` forward.
 */
export interface Poll {
  /** How many times the step has found the resource not ready yet. */
  attempt: number;
  /** How long the Wait state sleeps before the next check. */
  waitSeconds: number;
  /** The status seen last, for the execution history. */
  lastStatus: string;
  /** When the loop's first check found the resource not ready (ISO 8601): the time cap counts from it. */
  since?: string;
  /** RDS's PercentProgress at this check, where it reports one (snapshots and their copies). */
  percent?: number;
  /** How many checks in a row found the same percentage (the wait backs off again meanwhile). */
  stalls?: number;
  /**
   * The RDS event that says the awaited operation finished, where RDS publishes one: the wait
   * then ends at the event (AwaitRdsEvent, docs/waits.md), `waitSeconds` being only the fallback.
   */
  awaits?: AwaitedEvent;
  /** When this check ran (ISO 8601), with `awaits`: only an event after it wakes the wait. */
  checkedAt?: string;
  /**
   * How long the awaited operation is expected to take (domain/durations.ts), counted from `from`
   * (ISO 8601): where RDS reports no progress, the checks aim at that end (runtime/polling.ts).
   */
  expected?: { seconds: number; from: string };
  /** How many checks found the operation not done after its expected end (the backoff restarts there). */
  overdue?: number;
}

/** RDS event source types (EventBridge `detail.SourceType`) a wait can await. */
/** The RDS event source types a wait can await (EventBridge `detail.SourceType`). */
export const RDS_EVENT_SOURCE_TYPES = ['DB_INSTANCE', 'CLUSTER', 'SNAPSHOT', 'CLUSTER_SNAPSHOT'] as const;
export type RdsEventSourceType = (typeof RDS_EVENT_SOURCE_TYPES)[number];

/** An RDS event a wait awaits: any of `eventIds` from `sourceType` `sourceIdentifier`. */
export interface AwaitedEvent {
  sourceType: RdsEventSourceType;
  sourceIdentifier: string;
  eventIds: string[];
}

/**
 * Iteration caps per loop. Backoff is 15, 30, 60, 120, 240 s, then 300 s, so N attempts cover
 * about (465 + (N - 5) * 300) seconds. An execution takes one path: the snapshot loops (about
 * 84 hours together) or the Blue/Green loops (about 19 hours), plus the rollback and at most one
 * approval gate. EXECUTION_TIMEOUT_SECONDS is larger than either sum, so a loop's cap always fires
 * first and the rollback runs; an execution timeout would skip it (test/static/asl.test.ts).
 */
export const POLL_LIMITS = {
  stopSource: 40, // ~3 h; a stop usually takes minutes
  snapshotSource: 300, // ~24.5 h; first snapshot of a large database
  copySnapshot: 300, // ~24.5 h; the copy re-encrypts every block (DB instances only: Aurora has no copy)
  restoreInstance: 150, // ~12 h
  configureInstance: 80, // ~6.5 h; modify and reboot
  cutover: 40, // ~3 h; Route 53 is INSYNC within about a minute
  retireInstance: 60, // ~5 h
  startSource: 60, // ~5 h; used by the normal path (cutover "none") and by rollback
  // Blue/Green (an execution takes one path; the static test checks each path against the timeout).
  createGreen: 150, // ~12 h; RDS restores the database into the green environment and lets it catch up
  switchover: 10, // ~33 min; a switchover takes about a minute and RDS rolls it back after SWITCHOVER_TIMEOUT_SECONDS
  retireBlue: 20, // ~1.4 h; delete the deployment, then the old blue resources
  // Both paths. These loops continue a bounded scan, so they wait seconds, not the backoff; the
  // caps are still budgeted at the backoff (docs/budgets.md).
  createKey: 25, // one settling wait, then up to 24 x SCAN_BUDGETS.keyPagesPerInvocation pages of keys
  retireKey: 30, // up to 30 x SCAN_BUDGETS.rdsPagesPerInvocation pages of RDS resources
} as const;

export type PollLimitName = keyof typeof POLL_LIMITS;

/**
 * What one invocation of a scanning step (CreateKey's search for a key an earlier attempt left
 * without its alias, RetireKey's inventory of what is still encrypted under the old key) may do
 * before it returns its progress and lets the state machine call it again. Derived in
 * docs/budgets.md from the 60 s Lambda timeout (template.yaml Globals) and a per-call latency of
 * 250 ms for KMS and 1 s for an RDS Describe page of 100 records.
 */
export const SCAN_BUDGETS = {
  /** KMS ListKeys pages (of KEY_PAGE_SIZE keys, one ListResourceTags each) per invocation. */
  keyPagesPerInvocation: 5,
  /** ListKeys page size (KMS accepts 1 to 1,000). */
  keyPageSize: 100,
  /** ListResourceTags calls in flight at once (KMS: 100 per second per account and Region by default). */
  tagLookupConcurrency: 4,
  /** RDS Describe* pages (of RDS_PAGE_SIZE records) per invocation. */
  rdsPagesPerInvocation: 30,
  /** RDS Describe* MaxRecords: RDS accepts 20 to 100. */
  rdsPageSize: 100,
  /** No new page is started with less than this left of the Lambda's time. */
  reserveMs: 20_000,
  /** The Wait between two invocations of a scan (RDS refills 12 request tokens a second). */
  continueSeconds: 5,
  /**
   * Before CreateKey scans, an earlier attempt that may still run must have ended: the Lambda
   * timeout (60 s) plus a margin.
   */
  settleSeconds: 65,
} as const;

/**
 * KMS may take up to five minutes to authorize on a new tag, and the IAM of the steps that act on
 * a new key is conditioned on its tags: an AccessDeniedException on a key younger than this means
 * "not yet", later it is a real denial.
 */
export const TAG_PROPAGATION_WINDOW_MS = 10 * 60 * 1000;

const BACKOFF_SECONDS = [15, 30, 60, 120, 240] as const;
/** The longest a wait sleeps between two checks (the backoff's last step). */
export const MAX_WAIT_SECONDS = 300;

/** How long the Wait state sleeps after the check numbered `attempt` (0-based). */
export const waitSecondsFor = (attempt: number): number => BACKOFF_SECONDS[attempt] ?? MAX_WAIT_SECONDS;

/**
 * How long each loop may wait in all: its attempts at the backoff, which is what POLL_LIMITS were
 * sized for. A wait predicted from PercentProgress can be longer than the backoff's, so the loop is
 * capped by this time as well as by its attempts (the attempts still bound its history events).
 */
export const POLL_TIME_LIMIT_SECONDS = Object.fromEntries(
  Object.entries(POLL_LIMITS).map(([name, attempts]) => [
    name,
    Array.from({ length: attempts }, (_, attempt) => waitSecondsFor(attempt)).reduce((a, b) => a + b, 0),
  ]),
) as Record<PollLimitName, number>;

/**
 * Where a wait awaits an RDS event (Poll.awaits), the event ends it, so its fallback backoff starts
 * this many steps further up the ladder (at 60 s, not 15 s): fewer checks and history events, and a
 * lost event costs up to one longer fallback interval (docs/waits.md has the bench's figures).
 */
export const EVENT_FALLBACK_BACKOFF_SKIP = 2;

/**
 * The wait predicted from RDS's PercentProgress (snapshots and copies): a share of the remaining
 * time the progress so far implies, so each check lands nearer the end, within these bounds.
 */
export const PREDICTED_WAIT = { share: 0.9, minSeconds: 15, maxSeconds: 3_600 } as const;

/**
 * The rotation state machine's `TimeoutSeconds`: 11 days, the loop caps of the longer path plus
 * the longest approval, with margin. The ASL states the number (JSON cannot import it); a static
 * test fails when the two differ.
 */
export const EXECUTION_TIMEOUT_SECONDS = 11 * DAY_SECONDS;

/**
 * How long a lock item lives (DynamoDB TTL) after it is taken: the longest an execution can run
 * plus a day. Derived, so it can never again fall short of the execution timeout: a lock that
 * expired while its rotation still ran would let a second rotation of the same database, or of
 * another database under the same key, start beside it.
 */
export const LOCK_TTL_SECONDS = EXECUTION_TIMEOUT_SECONDS + DAY_SECONDS;

/** How long a delivered idempotency key is remembered: longer than a yearly schedule's period. */
export const IDEMPOTENCY_TTL_SECONDS = 400 * DAY_SECONDS;
