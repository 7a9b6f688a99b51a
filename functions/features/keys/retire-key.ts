import { type KeyMetadata, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterAutomatedBackupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { describeKeyOrNull, isPendingDeletion, isSameKey, type KeyScope } from '#aws/kms-keys.js';
import { InvalidInputError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RotationPlan } from '#domain/plan.js';
import type { OldKeyOutcome } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

/** RDS Describe* pages: 100 is the largest MaxRecords RDS accepts. */
const PAGE_SIZE = 100;
/** How many blocking resources the reason names before it says "and N more". */
const NAMED_IN_REASON = 5;

export const AWS_MANAGED_KEY_REASON =
  'The old key is the AWS-managed aws/rds key, which can never be scheduled for deletion; it stays.';

type ResourceKind =
  | 'db-instance'
  | 'db-cluster'
  | 'db-snapshot'
  | 'db-cluster-snapshot'
  | 'db-instance-automated-backup'
  | 'db-cluster-automated-backup';

/** An RDS resource whose data (or Performance Insights data) is encrypted under the old key. */
interface EncryptedResource {
  kind: ResourceKind;
  id: string;
  /** What a person needs to know beyond the id, e.g. "Performance Insights" or "automated". */
  detail?: string;
}

const label = (r: EncryptedResource): string => `${r.kind}:${r.id}`;
const describe = (r: EncryptedResource): string => (r.detail ? `${label(r)} (${r.detail})` : label(r));

/**
 * Retire the old key: schedule its deletion only when nothing but this rotation's own disposable
 * artifact (the source snapshot, superseded by the re-encrypted copy) is still encrypted under it
 * in RDS. Otherwise keep it and say which resources keep it alive. Runs last, after the old
 * instance was deleted (or retained).
 *
 * Re-runnable: a key already pending deletion is reported as it is; the source snapshot is deleted
 * only when it is the last thing under the key, tolerating that an earlier attempt deleted it.
 */
export const retireKey = async (state: RotationState): Promise<OldKeyOutcome> => {
  const { plan } = state;
  const keyArn = plan.source.kmsKeyArn;

  if (!plan.decisions.retireOldKey) {
    return retained(keyArn, plan.decisions.keepOldKeyReason ?? 'The rotation plan keeps the old key.');
  }
  if (plan.source.keyManager === 'AWS') return retained(keyArn, AWS_MANAGED_KEY_REASON);
  if (state.retireInstance?.outcome !== 'deleted') {
    const why = state.retireInstance?.reason ? ` (${state.retireInstance.reason})` : '';
    return retained(
      keyArn,
      `The old ${plan.kind === 'cluster' ? 'cluster' : 'instance'} ${plan.target.identifier} was not deleted${why} and is still encrypted under the old key, so the key stays.`,
    );
  }
  const pendingWindowDays = validPendingWindow(plan.request.oldKeyPendingWindowDays, keyArn);

  const { kms, rds } = getClients();
  const key = await describeKeyOrNull(kms, keyArn);
  if (!key?.KeyId) {
    throw new PreconditionFailedError(
      `The old key ${keyArn} no longer exists (KMS DescribeKey: not found), so there is nothing to retire. ` +
        'The new database is in service; check in CloudTrail who deleted the key and when.',
    );
  }
  if (key.KeyManager === 'AWS') return retained(keyArn, AWS_MANAGED_KEY_REASON);
  if (isPendingDeletion(key)) {
    logger.info('the old key is already pending deletion', { keyArn, deletionDate: key.DeletionDate });
    return pendingDeletion(keyArn, key, pendingWindowDays);
  }

  const encrypted = await resourcesEncryptedUnder(rds, keyArn, plan);
  // A cluster rotation's source snapshot is a DB cluster snapshot with the same name pattern.
  const ownKind: ResourceKind = plan.kind === 'cluster' ? 'db-cluster-snapshot' : 'db-snapshot';
  const isOwnArtifact = (r: EncryptedResource) =>
    r.kind === ownKind && r.id === plan.names.sourceSnapshotIdentifier;
  const blocking = encrypted.filter((r) => !isOwnArtifact(r));
  if (blocking.length > 0) {
    logger.warn('the old key is still in use; it is kept', {
      keyArn,
      encryptedResources: encrypted.map(label),
    });
    return {
      state: 'Retained',
      keyArn,
      reason: blockingReason(
        keyArn,
        key.KeyId,
        pendingWindowDays,
        blocking,
        encrypted.some(isOwnArtifact),
        plan,
      ),
      encryptedResources: encrypted.map(label),
    };
  }

  if (encrypted.some(isOwnArtifact)) {
    await deleteSourceSnapshot(rds, plan.names.sourceSnapshotIdentifier, plan.kind === 'cluster');
  }
  return scheduleDeletion(keyArn, key.KeyId, pendingWindowDays);
};

const retained = (keyArn: string, reason: string): OldKeyOutcome => ({
  state: 'Retained',
  keyArn,
  reason,
  encryptedResources: [],
});

const pendingDeletion = (keyArn: string, key: KeyMetadata, pendingWindowDays: number): OldKeyOutcome => ({
  state: 'PendingDeletion',
  keyArn,
  deletionDate: toIso(key.DeletionDate),
  pendingWindowDays,
});

const toIso = (date: Date | string | undefined): string =>
  date ? new Date(date).toISOString() : 'unknown (see the key in the KMS console)';

/** KMS takes 7 to 30 whole days; moto silently ignores anything else, so check it here. */
const validPendingWindow = (days: unknown, keyArn: string): number => {
  if (typeof days === 'number' && Number.isInteger(days) && days >= 7 && days <= 30) return days;
  throw new InvalidInputError(
    `plan.request.oldKeyPendingWindowDays is ${JSON.stringify(days)}: the KMS waiting period must be a whole number ` +
      `of days from 7 to 30. The old key ${keyArn} was not scheduled for deletion; schedule it by hand with ` +
      `aws kms schedule-key-deletion --key-id ${keyArn.split('/').pop()} --pending-window-in-days 30 (or 7 to 30).`,
  );
};

const scheduleDeletion = async (
  keyArn: string,
  keyId: string,
  pendingWindowDays: number,
): Promise<OldKeyOutcome> => {
  const { kms } = getClients();
  try {
    // The key id, not the ARN: valid on AWS, and moto answers HTTP 500 for an ARN.
    const result = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: pendingWindowDays }),
    );
    logger.info('scheduled the old key for deletion', { keyArn, deletionDate: result.DeletionDate });
    return {
      state: 'PendingDeletion',
      keyArn,
      deletionDate: toIso(result.DeletionDate),
      pendingWindowDays: result.PendingWindowInDays ?? pendingWindowDays,
    };
  } catch (error) {
    // A concurrent attempt scheduled it first: KMS refuses a second schedule with KMSInvalidStateException.
    if (!isAwsError(error, 'KMSInvalidStateException')) throw error;
    const key = await describeKeyOrNull(kms, keyId);
    if (!key || !isPendingDeletion(key)) throw error;
    return pendingDeletion(keyArn, key, pendingWindowDays);
  }
};

const deleteSourceSnapshot = async (
  rds: RDSClient,
  snapshotIdentifier: string,
  clusterSnapshot = false,
): Promise<void> => {
  try {
    if (clusterSnapshot) {
      await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotIdentifier }));
      logger.info('deleted the source cluster snapshot (superseded by the re-encrypted copy)', {
        snapshotIdentifier,
      });
      return;
    }
    await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshotIdentifier }));
    logger.info('deleted the source snapshot (superseded by the re-encrypted copy)', { snapshotIdentifier });
  } catch (error) {
    if (
      !isAwsError(
        error,
        'DBSnapshotNotFoundFault',
        'DBSnapshotNotFound',
        'DBClusterSnapshotNotFoundFault',
        'DBClusterSnapshotNotFound',
      )
    )
      throw error;
  }
};

const blockingReason = (
  keyArn: string,
  keyId: string,
  pendingWindowDays: number,
  blocking: EncryptedResource[],
  sourceSnapshotKept: boolean,
  plan: RotationPlan,
): string => {
  const named = blocking.slice(0, NAMED_IN_REASON).map(describe).join(', ');
  const more = blocking.length > NAMED_IN_REASON ? ` and ${blocking.length - NAMED_IN_REASON} more` : '';
  const count =
    blocking.length === 1 ? '1 other RDS resource is' : `${blocking.length} other RDS resources are`;
  const kept = sourceSnapshotKept
    ? ` This rotation's source snapshot ${plan.names.sourceSnapshotIdentifier} was kept as well; delete it once you no longer need it.`
    : '';
  return (
    `The old key ${keyArn} is kept because ${count} still encrypted under it: ${named}${more}. ` +
    'Deleting the key would make them unreadable. Re-encrypt them under another key (copy snapshots with a new ' +
    'KmsKeyId, or run Rekey for each instance) or delete those you no longer need, then schedule the deletion ' +
    `yourself: aws kms schedule-key-deletion --key-id ${keyId} --pending-window-in-days ${pendingWindowDays}.${kept}`
  );
};

/** Every page of an RDS Describe* call (Marker pagination). */
const allPages = async <T>(
  fetch: (marker: string | undefined) => Promise<{ items: T[] | undefined; marker: string | undefined }>,
): Promise<T[]> => {
  const items: T[] = [];
  let marker: string | undefined;
  do {
    const page = await fetch(marker);
    items.push(...(page.items ?? []));
    marker = page.marker;
  } while (marker);
  return items;
};

/**
 * Everything in this account and Region that RDS keeps encrypted under the key (DOMAIN.md fact 5):
 * DB instances (storage and Performance Insights, read replicas included), DB clusters (storage and
 * Performance Insights; Aurora, Multi-AZ clusters, Neptune and DocumentDB share this API), manual,
 * automated and AWS Backup DB snapshots, DB cluster snapshots, and retained automated backups.
 */
const resourcesEncryptedUnder = async (
  rds: RDSClient,
  keyArn: string,
  plan: RotationPlan,
): Promise<EncryptedResource[]> => {
  const scope: KeyScope = plan;
  const under = (keyId: string | undefined) => isSameKey(keyId, keyArn, scope);
  const found = new Map<string, EncryptedResource>();
  const add = (resource: EncryptedResource) => {
    if (!found.has(label(resource))) found.set(label(resource), resource);
  };

  const instances = await allPages(async (Marker) => {
    const page = await rds.send(new DescribeDBInstancesCommand({ MaxRecords: PAGE_SIZE, Marker }));
    return { items: page.DBInstances, marker: page.Marker };
  });
  for (const db of instances) {
    const id = db.DBInstanceIdentifier ?? db.DBInstanceArn ?? '(unnamed)';
    if (under(db.KmsKeyId)) add({ kind: 'db-instance', id });
    else if (under(db.PerformanceInsightsKMSKeyId))
      add({ kind: 'db-instance', id, detail: 'Performance Insights' });
  }

  const clusters = await allPages(async (Marker) => {
    const page = await rds.send(new DescribeDBClustersCommand({ MaxRecords: PAGE_SIZE, Marker }));
    return { items: page.DBClusters, marker: page.Marker };
  });
  for (const cluster of clusters) {
    const id = cluster.DBClusterIdentifier ?? cluster.DBClusterArn ?? '(unnamed)';
    if (under(cluster.KmsKeyId)) add({ kind: 'db-cluster', id });
    else if (under(cluster.PerformanceInsightsKMSKeyId))
      add({ kind: 'db-cluster', id, detail: 'Performance Insights' });
  }

  // Without a SnapshotType, RDS returns manual and automated snapshots but not AWS Backup's: ask for each.
  for (const SnapshotType of ['manual', 'automated', 'awsbackup']) {
    const snapshots = await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBSnapshotsCommand({ SnapshotType, MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBSnapshots, marker: page.Marker };
    });
    for (const snapshot of snapshots) {
      if (!under(snapshot.KmsKeyId)) continue;
      const type = snapshot.SnapshotType ?? SnapshotType;
      add({
        kind: 'db-snapshot',
        id: snapshot.DBSnapshotIdentifier ?? snapshot.DBSnapshotArn ?? '(unnamed)',
        ...(type !== 'manual' && { detail: type }),
      });
    }
  }

  for (const SnapshotType of ['manual', 'automated']) {
    const snapshots = await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBClusterSnapshotsCommand({ SnapshotType, MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBClusterSnapshots, marker: page.Marker };
    });
    for (const snapshot of snapshots) {
      if (!under(snapshot.KmsKeyId)) continue;
      const type = snapshot.SnapshotType ?? SnapshotType;
      add({
        kind: 'db-cluster-snapshot',
        id: snapshot.DBClusterSnapshotIdentifier ?? snapshot.DBClusterSnapshotArn ?? '(unnamed)',
        ...(type !== 'manual' && { detail: type }),
      });
    }
  }

  const backups = await allPages(async (Marker) => {
    const page = await rds.send(
      new DescribeDBInstanceAutomatedBackupsCommand({ MaxRecords: PAGE_SIZE, Marker }),
    );
    return { items: page.DBInstanceAutomatedBackups, marker: page.Marker };
  });
  for (const backup of backups) {
    // A backup of the source instance is under the old key even when the response leaves the key out (moto does).
    const ofSource =
      plan.kind === 'instance' &&
      (backup.DbiResourceId
        ? backup.DbiResourceId === plan.source.dbiResourceId
        : backup.DBInstanceIdentifier === plan.source.dbInstanceIdentifier);
    if (!under(backup.KmsKeyId) && !(ofSource && !backup.KmsKeyId)) continue;
    add({
      kind: 'db-instance-automated-backup',
      id:
        backup.DBInstanceIdentifier ??
        backup.DbiResourceId ??
        backup.DBInstanceAutomatedBackupsArn ??
        '(unnamed)',
      ...(backup.Status && { detail: backup.Status }),
    });
  }

  for (const backup of await clusterAutomatedBackups(rds)) {
    if (!under(backup.KmsKeyId)) continue;
    add({
      kind: 'db-cluster-automated-backup',
      id: backup.DBClusterIdentifier ?? backup.DbClusterResourceId ?? '(unnamed)',
      ...(backup.Status && { detail: backup.Status }),
    });
  }

  return [...found.values()];
};

/**
 * Retained automated backups of deleted DB clusters. moto 5.2.1 does not implement this action
 * (HTTP 500 with an HTML page); against an emulator endpoint only, that answer counts as "none".
 * Against AWS every error propagates.
 */
const clusterAutomatedBackups = async (rds: RDSClient) => {
  try {
    return await allPages(async (Marker) => {
      const page = await rds.send(
        new DescribeDBClusterAutomatedBackupsCommand({ MaxRecords: PAGE_SIZE, Marker }),
      );
      return { items: page.DBClusterAutomatedBackups, marker: page.Marker };
    });
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (process.env.AWS_ENDPOINT_URL && status === 500) {
      logger.warn('the emulator does not implement DescribeDBClusterAutomatedBackups; treated as none', {
        endpoint: process.env.AWS_ENDPOINT_URL,
      });
      return [];
    }
    throw error;
  }
};
