import type { DBInstance } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance, findSnapshot } from '#aws/rds.js';
import { decideStrategy } from '#domain/decisions.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput } from '#domain/input.js';
import { captureInstanceConfig, capturePlacement, userTags } from '#domain/instance-config.js';
import { namesFor, type RotationNames, rotationIdFor } from '#domain/naming.js';
import type { InstancePlan } from '#domain/plan.js';
import { instanceBlueGreenIneligibility, replicaBlueGreenIneligibility } from '#domain/strategy.js';
import { logger } from '#runtime/logger.js';
import type { PreflightContext, PreflightOps } from '#targets/ops.js';
import {
  checkAliasIsFree,
  checkSnapshotQuota,
  describeSourceKey,
  MAX_USER_TAGS,
  parseArn,
  planCommon,
  planCutover,
  type SnapshotQuota,
} from '#targets/preflight-checks.js';

/**
 * Preflight of a DB instance: everything Rekey checks before it changes anything. Read-only: a
 * refusal here leaves AWS exactly as it was. The plan it returns (names, configuration, decisions)
 * drives every later step.
 */
export const instancePreflight: PreflightOps<'instance'> = {
  field: 'dbInstanceIdentifier',
  what: 'a DB instance',
  describe: (identifier) => findInstance(getClients().rds, identifier),
  notFound: (id) =>
    `dbInstanceIdentifier: no DB instance "${id}" in ${process.env.AWS_REGION ?? 'this Region'}. ` +
    'Check the identifier and the Region (aws rds describe-db-instances --query "DBInstances[].DBInstanceIdentifier").',
  partOf: (db) =>
    db.DBClusterIdentifier
      ? {
          kind: 'cluster',
          identifier: db.DBClusterIdentifier,
          why:
            `is a member of the Aurora cluster ${db.DBClusterIdentifier}. ` +
            'Its storage and key belong to the cluster; rotate the cluster, not the instance.',
        }
      : null,
  plan: (context) => planInstance(context),
};

const INSTANCE_SNAPSHOTS: SnapshotQuota = {
  name: 'ManualSnapshots',
  noun: '',
  serviceQuota: 'Manual DB instance snapshots',
  needed: 2,
};

const planInstance = async ({
  request,
  target,
  event,
  described: db,
}: PreflightContext<'instance'>): Promise<InstancePlan> => {
  const id = target.identifier;
  const arn = parseArn(db.DBInstanceArn ?? '');
  checkInstance(db);
  const replicas = await describeReplicas(db, arn.region);
  const strategy = decideStrategy(
    request.strategy,
    [...instanceBlueGreenIneligibility(db, arn.region), ...replicaBlueGreenIneligibility(replicas)],
    id,
  );
  if (strategy.used === 'snapshot') checkSnapshotStrategy(db, request);
  const key = await describeSourceKey(id, db.KmsKeyId, arn.region);
  const rotationId = rotationIdFor(event.executionId);
  const names = namesFor(rotationId, id);
  await checkNamesAreFree(rotationId, names, request);
  const quotaNote = strategy.used === 'snapshot' ? await checkSnapshotQuota(INSTANCE_SNAPSHOTS) : null;
  const endpointAddress = db.Endpoint?.Address ?? '';
  const cutover = await planCutover(request, strategy, endpointAddress, names.asideDbInstanceIdentifier);
  const common = planCommon({ event, request, target, strategy, arn, rotationId, key, quotaNote, cutover });

  const plan: InstancePlan = {
    ...common,
    kind: 'instance',
    source: {
      dbInstanceIdentifier: db.DBInstanceIdentifier ?? id,
      dbInstanceArn: db.DBInstanceArn ?? '',
      dbiResourceId: db.DbiResourceId ?? null,
      endpointAddress,
      port: db.Endpoint?.Port ?? null,
      kmsKeyArn: key.Arn ?? '',
      keyManager: key.KeyManager ?? 'CUSTOMER',
      config: captureInstanceConfig(db),
      placement: capturePlacement(db),
      readReplicas: replicas.map((replica) => ({
        dbInstanceIdentifier: replica.DBInstanceIdentifier ?? '',
        dbInstanceArn: replica.DBInstanceArn ?? '',
      })),
    },
    names,
    cutover,
  };
  logger.info('preflight passed', {
    rotationId,
    source: id,
    oldKey: key.Arn,
    strategy,
    decisions: common.decisions,
  });
  return plan;
};

/** The source must be a standalone (preflight.ts refused an Aurora member), encrypted, available instance whose writes can be frozen. */
const checkInstance = (db: DBInstance): void => {
  const id = db.DBInstanceIdentifier;
  if (db.ReadReplicaSourceDBInstanceIdentifier) {
    throw new PreconditionFailedError(
      `dbInstanceIdentifier: ${id} is a read replica of ${db.ReadReplicaSourceDBInstanceIdentifier}. ` +
        'Rotate the primary instead.',
    );
  }
  if (!db.StorageEncrypted || !db.KmsKeyId) {
    throw new PreconditionFailedError(
      `${id} is not encrypted, so there is no key to rotate. To encrypt it, copy a snapshot with a KMS key and restore from it.`,
    );
  }
  if (db.DBInstanceStatus !== 'available') {
    throw new PreconditionFailedError(
      `${id} is "${db.DBInstanceStatus}", not "available". Start the rotation once the instance is available.`,
    );
  }
  const pending = Object.entries(db.PendingModifiedValues ?? {}).filter(
    ([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0),
  );
  if (pending.length > 0) {
    throw new PreconditionFailedError(
      `${id} has pending modifications (${pending.map(([field]) => field).join(', ')}). ` +
        'Apply them (or wait for the maintenance window) first, so the new instance copies a settled configuration.',
    );
  }
  const userTagCount = Object.keys(userTags(db.TagList)).length;
  if (userTagCount > MAX_USER_TAGS) {
    throw new PreconditionFailedError(
      `${id} has ${userTagCount} tags; RDS allows 50 per resource and Rekey adds 3 of its own (rekey:*) to what it creates. ` +
        `Remove tags until at most ${MAX_USER_TAGS} remain, then start again.`,
    );
  }
  if (db.Engine?.startsWith('custom-')) {
    throw new PreconditionFailedError(
      `${id} is an RDS Custom instance (${db.Engine}), which Rekey does not rotate: RDS Custom manages its storage differently.`,
    );
  }
};

/** In-Region read replicas of the source (a cross-Region replica is listed by ARN and not described). */
const describeReplicas = async (db: DBInstance, region: string): Promise<DBInstance[]> => {
  const { rds } = getClients();
  const replicas: DBInstance[] = [];
  for (const replica of db.ReadReplicaDBInstanceIdentifiers ?? []) {
    if (replica.startsWith('arn:') && replica.split(':')[3] !== region) continue;
    const found = await findInstance(rds, replica);
    if (found) replicas.push(found);
  }
  return replicas;
};

/** What only the snapshot strategy cannot handle: it stops the source and restores a copy. */
const checkSnapshotStrategy = (db: DBInstance, request: RotationInput): void => {
  const id = db.DBInstanceIdentifier;
  if ((db.ReadReplicaDBInstanceIdentifiers ?? []).length > 0) {
    throw new PreconditionFailedError(
      `${id} has read replicas (${db.ReadReplicaDBInstanceIdentifiers?.join(', ')}), which a snapshot rotation does not carry over ` +
        'and which prevent stopping the source. Use "strategy": "blue-green" (it rotates the replicas too), ' +
        'or delete or promote the replicas first, then start the rotation again.',
    );
  }
  if (db.MasterUserSecret?.SecretArn) {
    throw new PreconditionFailedError(
      `${id} keeps its master password in Secrets Manager (${db.MasterUserSecret.SecretArn}). A restored instance does not ` +
        'take over that secret, and RDS deletes the secret with the old instance, so clients reading it would break. ' +
        'Rekey does not rotate such instances yet: turn off the managed master password first (aws rds modify-db-instance ' +
        '--no-manage-master-user-password --master-user-password ...), or rotate by hand.',
    );
  }
  if (db.Engine?.startsWith('sqlserver') && db.MultiAZ && request.writeFreeze === 'stop') {
    throw new PreconditionFailedError(
      `${id} is a Multi-AZ SQL Server instance, which RDS cannot stop, so writes cannot be frozen. ` +
        'Use writeFreeze "none" only if you accept losing writes made after the snapshot.',
    );
  }
};

/** The names this rotation will create must be free, or already carry this rotation's tag (a retry). */
const checkNamesAreFree = async (
  rotationId: string,
  names: RotationNames,
  request: RotationInput,
): Promise<void> => {
  const { rds } = getClients();
  // RDS refuses to rename onto an existing identifier (the emulator silently overwrites): refuse first.
  if (request.cutover.type === 'rename' && (await findInstance(rds, names.asideDbInstanceIdentifier))) {
    throw new PreconditionFailedError(
      `cutover: a rename cutover moves the source aside to ${names.asideDbInstanceIdentifier}, but a DB instance of that name ` +
        'already exists. Rename or delete it, or start the rotation under another execution name.',
    );
  }
  const existing = await findInstance(rds, names.newDbInstanceIdentifier);
  if (existing && !carriesRotationId(existing.TagList, rotationId)) {
    throw new PreconditionFailedError(
      `A DB instance named ${names.newDbInstanceIdentifier} already exists and does not belong to this rotation. ` +
        'Rename or delete it, or start the rotation under another execution name.',
    );
  }
  for (const snapshotId of [names.sourceSnapshotIdentifier, names.copySnapshotIdentifier]) {
    const snapshot = await findSnapshot(rds, snapshotId);
    if (snapshot && !carriesRotationId(snapshot.TagList, rotationId)) {
      throw new PreconditionFailedError(
        `A DB snapshot named ${snapshotId} already exists and does not belong to this rotation. ` +
          'Delete it, or start the rotation under another execution name.',
      );
    }
  }
  await checkAliasIsFree(rotationId, names.keyAlias);
};
