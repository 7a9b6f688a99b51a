import {
  CreateDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  RestoreDBClusterFromSnapshotCommand,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { rotationTags } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import {
  captureClusterConfig,
  captureMemberConfig,
  createMemberParameters,
  diffFields,
  restoreClusterParameters,
} from '#domain/cluster-config.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { AwaitedEvent } from '#domain/limits.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { RestoredMember, RestoreResult } from '#domain/results.js';
import { type ClusterState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertNotBeingDeleted } from '#targets/new-database.js';
import {
  assertClusterHealthy,
  assertClusterSnapshotOwned,
  assertMemberHealthy,
  assertOwned,
} from './checks.js';
import { clusterNames, findCluster, findClusterSnapshot, membersWriterFirst } from './lookups.js';

/** Faults that mean the restore or a member creation cannot succeed as asked (SDK names and wire codes). */
const REFUSALS = [
  'DBClusterParameterGroupNotFoundFault',
  'DBParameterGroupNotFoundFault',
  'DBSubnetGroupNotFoundFault',
  'DBSubnetGroupDoesNotCoverEnoughAZs',
  'DBClusterSnapshotNotFoundFault',
  'InvalidDBClusterSnapshotStateFault',
  'InsufficientDBClusterCapacityFault',
  'InsufficientDBInstanceCapacityFault',
  'InsufficientStorageClusterCapacityFault',
  'DBClusterQuotaExceededFault',
  'InstanceQuotaExceededFault',
  'StorageQuotaExceededFault',
  'InvalidRestoreFault',
  'InvalidSubnet',
  'InvalidVPCNetworkStateFault',
  'KMSKeyNotAccessibleFault',
  'CertificateNotFoundFault',
  'NetworkTypeNotSupported',
  'StorageTypeNotSupportedFault',
  'InvalidParameterCombination',
  'InvalidParameterValue',
];
const REFUSAL_NAMES = [...REFUSALS, ...REFUSALS.map((name) => name.replace(/Fault$/, ''))];

/**
 * Restore the new cluster straight from the source cluster snapshot (under the old key) with
 * `KmsKeyId` = the new key: the restore re-encrypts, so there is no copy (docs/aws-facts.md#restore).
 * Reconciles in phases:
 * 1. RestoreDBClusterFromSnapshot with `KmsKeyId` = the new key and every setting it accepts; wait
 *    until the cluster is `available` (a cluster restore creates no instances: docs/aws-facts.md#restore);
 * 2. CreateDBInstance for the source writer's counterpart first (the first instance of a cluster is
 *    its writer), wait until it is `available`;
 * 3. CreateDBInstance for every reader, then wait until all are `available`.
 * Everything carries this rotation's tags; a re-run adopts only what carries them.
 */
export const restoreCluster = async (state: ClusterState): Promise<RestoreResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const names = clusterNames(plan);
  const id = names.newDbClusterIdentifier;
  const snapshotId = plan.names.sourceSnapshotIdentifier;
  const members: RestoredMember[] = [];
  const fields = (status: string, cluster?: DBCluster | null) => ({
    dbInstanceIdentifier: id,
    dbClusterIdentifier: id,
    dbInstanceArn: cluster?.DBClusterArn ?? null,
    status,
    members,
    restoredFrom: { snapshotIdentifier: snapshotId, reencryptedBy: 'restore' as const },
  });
  // Phase 1 awaits the restored cluster's "created" event; the member phases the first member
  // still being created ("instance created"); a member waiting for the writer has no event yet.
  // Each phase expects its own time: the cluster's restore, then a member's creation from the call
  // that created it.
  const waiting = (
    status: string,
    cluster?: DBCluster | null,
    awaits: AwaitedEvent = awaiting('CLUSTER', id, RDS_EVENTS.clusterCreated),
    expected: { expectedSeconds: number; started?: boolean } = {
      expectedSeconds: EXPECTED_SECONDS.restore(null),
    },
  ): RestoreResult => ({
    done: false,
    poll: nextPoll(
      state.restore?.poll,
      'restoreInstance',
      status,
      `Restoring the cluster ${id} from ${snapshotId} under the new key`,
      { awaits, ...expected },
    ),
    ...fields(status, cluster),
  });
  // RDS's own error name (the README's error table promises SDK names; the Catch takes any name).
  const refused = (what: string, error: Error) =>
    Object.assign(
      new Error(
        `RDS refused to ${what}: ${error.name}: ${error.message}. The source ${plan.source.dbClusterIdentifier} is untouched. ` +
          "Fix what RDS names (the new cluster copies the source's parameter groups, subnet group, security groups, " +
          'instance classes and Availability Zones), then start a new rotation.',
        { cause: error },
      ),
      { name: error.name },
    );

  let cluster = await findCluster(rds, id);
  if (!cluster) {
    // What CopySnapshot checked when a cluster was copied: the snapshot is still there, and ours.
    const source = await findClusterSnapshot(rds, snapshotId);
    if (!source) {
      throw new PreconditionFailedError(
        `The source cluster snapshot ${snapshotId} no longer exists, so the new cluster cannot be restored from it. ` +
          'Someone deleted it while the rotation ran; start a new rotation.',
      );
    }
    assertClusterSnapshotOwned(source, plan, 'source snapshot');
    try {
      const { DBCluster: created } = await rds.send(
        new RestoreDBClusterFromSnapshotCommand(
          restoreClusterParameters(plan.source.config, {
            dbClusterIdentifier: id,
            snapshotIdentifier: snapshotId,
            kmsKeyId: newKey.keyArn,
            tags: rotationTags(plan, 'new-cluster', plan.source.config.tags),
          }),
        ),
      );
      logger.info('restoring the new cluster under the new key', {
        dbClusterIdentifier: id,
        from: snapshotId,
        kmsKeyId: newKey.keyArn,
      });
      if (!created) return waiting('creating');
      cluster = created;
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.cluster.alreadyExists)) return waiting('creating');
      if (isAwsError(error, ...RDS_ERRORS.kms.keyNotAccessible)) {
        // The restore decrypts under the old key and encrypts under the new one: RDS needs both.
        throw refused(
          `restore the cluster ${id} from ${snapshotId} under the new key ${newKey.keyArn} (check that the old key ` +
            `${plan.source.kmsKeyArn} and the new key are Enabled and that their key policies let this role use them through RDS)`,
          error,
        );
      }
      if (isAwsError(error, ...REFUSAL_NAMES)) {
        throw refused(
          `restore the cluster ${id} from the source snapshot ${snapshotId} under the new key`,
          error,
        );
      }
      throw error;
    }
  }
  assertOwned(cluster.TagList, `DB cluster named ${id}`, plan);
  assertClusterHealthy(cluster, 'new');
  const status = cluster.Status ?? 'unknown';
  assertNotBeingDeleted(status, 'DB cluster', id);
  if (status !== 'available') return waiting(status, cluster);

  let createdNow = false;
  for (const source of membersWriterFirst(plan)) {
    const memberId = names.newMemberIdentifiers[source.dbInstanceIdentifier] ?? '';
    let db: DBInstance | null = await findInstance(rds, memberId);
    // Readers wait for the writer: the first instance created in a cluster becomes its writer.
    const writerPending = members.some((m) => m.isWriter && m.status !== 'available');
    if (!db && writerPending) {
      members.push({
        sourceDbInstanceIdentifier: source.dbInstanceIdentifier,
        dbInstanceIdentifier: memberId,
        isWriter: source.isWriter,
        status: 'waiting-for-writer',
      });
      continue;
    }
    if (!db) {
      try {
        const { DBInstance: created } = await rds.send(
          new CreateDBInstanceCommand(
            createMemberParameters(source.config, {
              dbInstanceIdentifier: memberId,
              dbClusterIdentifier: id,
              engine: plan.source.config.engine,
              newKeyArn: newKey.keyArn,
              tags: rotationTags(plan, 'new-instance', source.config.tags),
            }),
          ),
        );
        logger.info('creating a member of the new cluster', {
          dbInstanceIdentifier: memberId,
          writer: source.isWriter,
        });
        db = created ?? null;
        createdNow = true;
      } catch (error) {
        if (!isAwsError(error, ...RDS_ERRORS.instance.alreadyExists)) {
          if (isAwsError(error, ...REFUSAL_NAMES))
            throw refused(`create the member ${memberId} in ${id}`, error);
          throw error;
        }
      }
    }
    if (db) {
      assertOwned(db.TagList, `DB instance named ${memberId}`, plan);
      if (db.DBClusterIdentifier && db.DBClusterIdentifier !== id) {
        throw new PreconditionFailedError(
          `The DB instance ${memberId} belongs to the cluster ${db.DBClusterIdentifier}, not to the new cluster ${id}. Nothing was changed; start a new rotation.`,
        );
      }
      assertMemberHealthy(db.DBInstanceStatus ?? 'unknown', memberId, 'new');
    }
    members.push({
      sourceDbInstanceIdentifier: source.dbInstanceIdentifier,
      dbInstanceIdentifier: memberId,
      isWriter: source.isWriter,
      status: db?.DBInstanceStatus ?? 'creating',
    });
  }
  const pending = members.filter((m) => m.status !== 'available');
  if (pending.length > 0) {
    const creating = pending.find((m) => m.status !== 'waiting-for-writer') ?? pending[0];
    return waiting(
      pending.map((m) => `${m.dbInstanceIdentifier}:${m.status}`).join(','),
      cluster,
      awaiting('DB_INSTANCE', creating?.dbInstanceIdentifier ?? id, RDS_EVENTS.instanceCreated),
      { expectedSeconds: EXPECTED_SECONDS.member(), started: createdNow },
    );
  }

  logger.info('the new cluster and its members are available', { dbClusterIdentifier: id });
  // Read once, before ConfigureInstance changes anything, so a re-run gives the same list.
  const differencesAfterRestore =
    state.restore?.differencesAfterRestore ?? (await differences(state, cluster));
  return { done: true, ...fields(status, cluster), differencesAfterRestore };
};

/** What differs from the source right after the restore: `cluster.<field>` and `<new member>.<field>`. */
const differences = async (state: ClusterState, cluster: DBCluster): Promise<string[]> => {
  const { plan } = state;
  const names = clusterNames(plan);
  const found = diffFields(plan.source.config, captureClusterConfig(cluster)).map(
    (d) => `cluster.${d.field}`,
  );
  for (const source of plan.source.members) {
    const memberId = names.newMemberIdentifiers[source.dbInstanceIdentifier] ?? '';
    const db = await findInstance(getClients().rds, memberId);
    if (!db) continue;
    found.push(...diffFields(source.config, captureMemberConfig(db)).map((d) => `${memberId}.${d.field}`));
  }
  return found;
};
