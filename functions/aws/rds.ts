import {
  type DBInstance,
  type DBSnapshot,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { isAwsError, ResourceFailedError } from '#domain/errors.js';

/** The instance, or `null` when it does not exist (any other error propagates). */
export const findInstance = async (
  rds: RDSClient,
  dbInstanceIdentifier: string,
): Promise<DBInstance | null> => {
  try {
    const { DBInstances } = await rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbInstanceIdentifier }),
    );
    return DBInstances?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, 'DBInstanceNotFoundFault', 'DBInstanceNotFound')) return null;
    throw error;
  }
};

/** The manual snapshot, or `null` when it does not exist. */
export const findSnapshot = async (
  rds: RDSClient,
  dbSnapshotIdentifier: string,
): Promise<DBSnapshot | null> => {
  try {
    const { DBSnapshots } = await rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: dbSnapshotIdentifier }),
    );
    return DBSnapshots?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, 'DBSnapshotNotFoundFault', 'DBSnapshotNotFound')) return null;
    throw error;
  }
};

/**
 * Instance statuses that will not become `available` (or `stopped`) on their own. A wait that
 * sees one fails at once instead of polling until its cap.
 * (docs/aws-facts.md#statuses)
 */
const TERMINAL_INSTANCE_STATUS = [
  /^failed$/,
  /^incompatible-/,
  /^inaccessible-encryption-credentials/,
  /^storage-full$/,
  /^restore-error$/,
  /^insufficient-capacity$/,
];

export const isTerminalInstanceStatus = (status: string): boolean =>
  TERMINAL_INSTANCE_STATUS.some((pattern) => pattern.test(status));

/** Throws `ResourceFailedError` if the instance is in a terminal status. */
export const assertInstanceHealthy = (db: DBInstance, role: string): void => {
  const status = db.DBInstanceStatus ?? 'unknown';
  if (isTerminalInstanceStatus(status)) {
    throw new ResourceFailedError(
      `The ${role} DB instance ${db.DBInstanceIdentifier} is in status "${status}", which RDS does not recover from by itself. ` +
        'See the RDS console events for the instance.',
    );
  }
};

/**
 * `available` with no modification still pending and no parameter or option group change being
 * applied: the point where the next change can be made, and where `pending-reboot` is final.
 */
export const isSettled = (db: DBInstance): boolean =>
  db.DBInstanceStatus === 'available' &&
  Object.values(db.PendingModifiedValues ?? {}).every(
    (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0),
  ) &&
  !(db.DBParameterGroups ?? []).some((g) => g.ParameterApplyStatus === 'applying') &&
  !(db.OptionGroupMemberships ?? []).some((g) => g.Status === 'pending-apply' || g.Status === 'applying');

/** Snapshot statuses that end a wait as a failure. */
export const assertSnapshotHealthy = (snapshot: DBSnapshot, role: string): void => {
  const status = snapshot.Status ?? 'unknown';
  if (status === 'failed' || status === 'error' || status === 'incompatible-restore') {
    throw new ResourceFailedError(
      `The ${role} snapshot ${snapshot.DBSnapshotIdentifier} is in status "${status}". ` +
        'Delete it in the RDS console (or let rollback do it) and start a new rotation.',
    );
  }
};

/** Tags in the RDS shape. */
export const rdsTags = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
