/**
 * How long Rekey expects each RDS operation of a rotation to take: assumptions, not AWS figures
 * (AWS publishes no stop, snapshot, copy or restore throughput). Real times depend on the instance
 * class, the storage type and how much of the storage is written. Kept in one place because three
 * things read them and must agree:
 * - the fleet plan's downtime estimate (features/fleet/estimate.ts, docs/fleet.md#downtime-estimate);
 * - a wait's fallback checks where RDS reports no progress (runtime/polling.ts, docs/waits.md): the
 *   check lands near the expected end rather than on the backoff;
 * - the simulated operation times of `npm run bench` (docs/benchmark.md).
 */
export const DOWNTIME_ASSUMPTIONS = {
  /** Stopping the source (writes frozen from here). */
  stopSeconds: 300,
  /** Starting a stopped database again (the `none` cutover, rollback). */
  startSeconds: 300,
  /** The source snapshot of a stopped database, per GiB of allocated storage. */
  snapshotSecondsPerGiB: 6,
  /** The re-encrypting snapshot copy, per GiB. */
  copySecondsPerGiB: 12,
  /** Restoring the copy: a fixed part (the instance or cluster comes up) plus a part per GiB. */
  restoreSeconds: 900,
  restoreSecondsPerGiB: 2,
  /**
   * Configuring and validating the new database: the ModifyDBInstance of what the restore could not
   * take, and an Aurora cluster's member instances coming up.
   */
  configureSeconds: 600,
  /** A reboot that applies a parameter group. */
  rebootSeconds: 120,
  /** Moving clients: the CNAME or the rename. */
  cutoverSeconds: 120,
  /** A Blue/Green switchover blocks writes for about a minute. */
  switchoverSeconds: 60,
} as const;

const A = DOWNTIME_ASSUMPTIONS;

/** A DB instance's allocated storage for the per-GiB times; null for Aurora, whose figure is no dependable size. */
type GiB = number | null | undefined;

/** The expected seconds of each operation a wait awaits (undefined: no expectation, use the backoff). */
export const EXPECTED_SECONDS = {
  stop: () => A.stopSeconds,
  start: () => A.startSeconds,
  snapshot: (gib: GiB) => (gib ? gib * A.snapshotSecondsPerGiB : undefined),
  copy: (gib: GiB) => (gib ? gib * A.copySecondsPerGiB : undefined),
  /** Without a size (Aurora), the fixed part: a lower bound. */
  restore: (gib: GiB) => A.restoreSeconds + (gib ?? 0) * A.restoreSecondsPerGiB,
  modify: () => A.configureSeconds,
  /** An Aurora cluster's member instance, from its CreateDBInstance. */
  member: () => A.configureSeconds,
  reboot: () => A.rebootSeconds,
} as const;
