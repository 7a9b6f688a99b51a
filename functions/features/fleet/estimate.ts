/**
 * The estimated writer downtime of one rotation (docs/fleet.md#downtime-estimate). An estimate,
 * not a promise: the rates below are assumptions, kept here in one place so the documentation and
 * the plan say the same numbers. Real times depend on the instance class, the storage type and how
 * much of the storage is written.
 */
export const DOWNTIME_ASSUMPTIONS = {
  /** Stopping the source (writes frozen from here). */
  stopSeconds: 300,
  /** The source snapshot of a stopped database, per GiB of allocated storage. */
  snapshotSecondsPerGiB: 6,
  /** The re-encrypting snapshot copy, per GiB. */
  copySecondsPerGiB: 12,
  /** Restoring the copy: a fixed part (the instance or cluster comes up) plus a part per GiB. */
  restoreSeconds: 900,
  restoreSecondsPerGiB: 2,
  /** Configuring and validating the new database (parameter groups, reboot, checks). */
  configureSeconds: 600,
  /** Moving clients: the CNAME or the rename. */
  cutoverSeconds: 120,
  /** A Blue/Green switchover blocks writes for about a minute. */
  switchoverSeconds: 60,
} as const;

export const estimateWriterDowntimeSeconds = (args: {
  strategy: 'snapshot' | 'blue-green';
  writeFreeze: 'stop' | 'none';
  allocatedStorageGiB: number | null;
}): number => {
  const a = DOWNTIME_ASSUMPTIONS;
  if (args.strategy === 'blue-green') return a.switchoverSeconds;
  if (args.writeFreeze === 'none') return a.cutoverSeconds;
  const gib = args.allocatedStorageGiB ?? 0;
  return Math.round(
    a.stopSeconds +
      gib * a.snapshotSecondsPerGiB +
      gib * a.copySecondsPerGiB +
      a.restoreSeconds +
      gib * a.restoreSecondsPerGiB +
      a.configureSeconds +
      a.cutoverSeconds,
  );
};
