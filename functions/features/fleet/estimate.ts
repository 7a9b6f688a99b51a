import { DOWNTIME_ASSUMPTIONS } from '#domain/durations.js';

/**
 * The estimated writer downtime of one rotation (docs/fleet.md#downtime-estimate). An estimate,
 * not a promise: the rates are Rekey's assumptions (domain/durations.ts).
 */
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
