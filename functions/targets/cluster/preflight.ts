import type { DBCluster } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { planCname } from '#aws/cname-preflight.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { captureClusterConfig, captureMemberConfig } from '#domain/cluster-config.js';
import { decideStrategy } from '#domain/decisions.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput } from '#domain/input.js';
import { userTags } from '#domain/instance-config.js';
import { clusterNamesFor, rotationIdFor } from '#domain/naming.js';
import type { ClusterMemberDescription, ClusterPlan, CutoverPlan, StrategyDecision } from '#domain/plan.js';
import { clusterBlueGreenIneligibility } from '#domain/strategy.js';
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
import { findCluster, findClusterSnapshot } from './lookups.js';

/**
 * Preflight of an Aurora DB cluster. Read-only, like the instance preflight: a refusal leaves AWS
 * exactly as it was. Captures the cluster's and every member's configuration for the restore and
 * the validation, plans the names and the cutover.
 */
export const clusterPreflight: PreflightOps<'cluster'> = {
  field: 'dbClusterIdentifier',
  what: 'a DB cluster',
  describe: (identifier) => findCluster(getClients().rds, identifier),
  notFound: (id) =>
    `dbClusterIdentifier: no DB cluster "${id}" in ${process.env.AWS_REGION ?? 'this Region'}. ` +
    'Check the identifier and the Region (aws rds describe-db-clusters --query "DBClusters[].DBClusterIdentifier").',
  // A cluster is never part of another database Rekey rotates (a global database is refused below).
  partOf: () => null,
  plan: (context) => planCluster(context),
};

const CLUSTER_SNAPSHOTS: SnapshotQuota = {
  name: 'ManualClusterSnapshots',
  noun: 'cluster ',
  serviceQuota: 'Manual DB cluster snapshots',
  // The source snapshot only: the restore re-encrypts, so there is no copy.
  needed: 1,
};

const planCluster = async ({
  request,
  target,
  event,
  described: cluster,
}: PreflightContext<'cluster'>): Promise<ClusterPlan> => {
  const id = target.identifier;
  const arn = parseArn(cluster.DBClusterArn ?? '');
  const strategy = decideStrategy(request.strategy, clusterBlueGreenIneligibility(cluster), id);
  checkCluster(cluster, strategy);
  const members = await describeMembers(cluster);
  const key = await describeSourceKey(id, cluster.KmsKeyId, arn.region);
  const rotationId = rotationIdFor(event.executionId);
  const names = clusterNamesFor(
    rotationId,
    id,
    members.map((m) => m.dbInstanceIdentifier),
  );
  const endpointAddress = cluster.Endpoint ?? '';
  const readerEndpointAddress = cluster.ReaderEndpoint ?? null;
  await checkNamesAreFree(rotationId, names, request);
  const quotaNote = strategy.used === 'snapshot' ? await checkSnapshotQuota(CLUSTER_SNAPSHOTS) : null;
  const cutover = await planClusterCutover(
    request,
    strategy,
    endpointAddress,
    readerEndpointAddress,
    names.cluster.asideDbClusterIdentifier,
  );
  const common = planCommon({ event, request, target, strategy, arn, rotationId, key, quotaNote, cutover });

  const plan: ClusterPlan = {
    ...common,
    kind: 'cluster',
    source: {
      dbClusterIdentifier: cluster.DBClusterIdentifier ?? id,
      dbClusterArn: cluster.DBClusterArn ?? '',
      dbClusterResourceId: cluster.DbClusterResourceId ?? null,
      endpointAddress,
      readerEndpointAddress,
      port: cluster.Port ?? null,
      kmsKeyArn: key.Arn ?? '',
      keyManager: key.KeyManager ?? 'CUSTOMER',
      config: captureClusterConfig(cluster),
      members,
    },
    names,
    cutover,
  };
  logger.info('cluster preflight passed', {
    rotationId,
    source: id,
    oldKey: key.Arn,
    strategy,
    decisions: common.decisions,
  });
  return plan;
};

/** What no strategy can rotate, and what only the snapshot strategy cannot. */
const checkCluster = (cluster: DBCluster, strategy: StrategyDecision): void => {
  const id = cluster.DBClusterIdentifier;
  if (!cluster.Engine?.startsWith('aurora')) {
    throw new PreconditionFailedError(
      `dbClusterIdentifier: ${id} is a Multi-AZ DB cluster (${cluster.Engine}), not an Aurora cluster. ` +
        'Rekey does not rotate Multi-AZ DB clusters yet (they cannot be stopped and their members cannot be ' +
        'created one by one). Nothing was changed; rotate it by hand (snapshot, copy with a new KmsKeyId, restore).',
    );
  }
  if (cluster.EngineMode === 'serverless') {
    throw new PreconditionFailedError(
      `${id} is an Aurora Serverless v1 cluster (engine mode "serverless"), which Rekey does not rotate: it cannot be ` +
        'stopped, and AWS ends Serverless v1. Upgrade it to Serverless v2 or provisioned first.',
    );
  }
  if (cluster.GlobalClusterIdentifier) {
    throw new PreconditionFailedError(
      `${id} is part of the global database ${cluster.GlobalClusterIdentifier}. A restored cluster would not be part of it, ` +
        'and a cluster in a global database cannot be stopped. Remove it from the global database first, or rotate by hand.',
    );
  }
  if (cluster.ReplicationSourceIdentifier) {
    throw new PreconditionFailedError(
      `${id} is a replica of ${cluster.ReplicationSourceIdentifier}. Rotate the primary cluster instead.`,
    );
  }
  if (!cluster.StorageEncrypted || !cluster.KmsKeyId) {
    throw new PreconditionFailedError(
      `${id} is not encrypted, so there is no key to rotate. To encrypt it, copy a cluster snapshot with a KMS key and restore from it.`,
    );
  }
  if (cluster.Status !== 'available') {
    throw new PreconditionFailedError(
      `${id} is "${cluster.Status}", not "available". Start the rotation once the cluster is available.`,
    );
  }
  if ((cluster.DBClusterMembers ?? []).length === 0) {
    throw new PreconditionFailedError(
      `${id} has no DB instances, so there is nothing clients connect to. Add a writer instance or rotate by hand.`,
    );
  }
  const userTagCount = Object.keys(userTags(cluster.TagList)).length;
  if (userTagCount > MAX_USER_TAGS) {
    throw new PreconditionFailedError(
      `${id} has ${userTagCount} tags; RDS allows 50 per resource and Rekey adds 3 of its own (rekey:*). ` +
        `Remove tags until at most ${MAX_USER_TAGS} remain, then start again.`,
    );
  }
  if (strategy.used === 'snapshot' && cluster.MasterUserSecret?.SecretArn) {
    throw new PreconditionFailedError(
      `${id} keeps its master password in Secrets Manager (${cluster.MasterUserSecret.SecretArn}). A restored cluster does not ` +
        'take over that secret, and RDS deletes the secret with the old cluster, so clients reading it would break. ' +
        'Rekey does not rotate such clusters yet: turn off the managed master password first (aws rds modify-db-cluster ' +
        '--no-manage-master-user-password --master-user-password ...), or rotate by hand.',
    );
  }
};

/** Every member: available, described, with its configuration. */
const describeMembers = async (cluster: DBCluster): Promise<ClusterMemberDescription[]> => {
  const { rds } = getClients();
  const members: ClusterMemberDescription[] = [];
  for (const member of cluster.DBClusterMembers ?? []) {
    const memberId = member.DBInstanceIdentifier ?? '';
    const db = await findInstance(rds, memberId);
    if (!db) {
      throw new PreconditionFailedError(
        `The member ${memberId} of ${cluster.DBClusterIdentifier} could not be described. Start again once the cluster is settled.`,
      );
    }
    if (db.DBInstanceStatus !== 'available') {
      throw new PreconditionFailedError(
        `The member ${memberId} of ${cluster.DBClusterIdentifier} is "${db.DBInstanceStatus}", not "available". ` +
          'Start the rotation once every member is available.',
      );
    }
    members.push({
      dbInstanceIdentifier: memberId,
      dbInstanceArn: db.DBInstanceArn ?? '',
      isWriter: member.IsClusterWriter ?? false,
      config: captureMemberConfig(db),
    });
  }
  if (!members.some((m) => m.isWriter)) {
    throw new PreconditionFailedError(
      `${cluster.DBClusterIdentifier} has no writer instance right now (a failover in progress?). Start again once it has one.`,
    );
  }
  return members;
};

const checkNamesAreFree = async (
  rotationId: string,
  names: ReturnType<typeof clusterNamesFor>,
  request: RotationInput,
): Promise<void> => {
  const { rds } = getClients();
  const refuse = (what: string) =>
    new PreconditionFailedError(
      `${what} already exists and does not belong to this rotation. Rename or delete it, or start the rotation under another execution name.`,
    );
  // RDS refuses to rename onto an existing identifier (the emulator silently overwrites): refuse first.
  if (request.cutover.type === 'rename' && (await findCluster(rds, names.cluster.asideDbClusterIdentifier))) {
    throw new PreconditionFailedError(
      `cutover: a rename cutover moves the source cluster aside to ${names.cluster.asideDbClusterIdentifier}, but a DB cluster ` +
        'of that name already exists. Rename or delete it, or start the rotation under another execution name.',
    );
  }
  const existing = await findCluster(rds, names.cluster.newDbClusterIdentifier);
  if (existing && !carriesRotationId(existing.TagList, rotationId)) {
    throw refuse(`A DB cluster named ${names.cluster.newDbClusterIdentifier}`);
  }
  for (const memberId of Object.values(names.cluster.newMemberIdentifiers)) {
    const member = await findInstance(rds, memberId);
    if (member && !carriesRotationId(member.TagList, rotationId))
      throw refuse(`A DB instance named ${memberId}`);
  }
  // The source snapshot is the only snapshot a cluster rotation creates (no copy).
  const snapshotId = names.sourceSnapshotIdentifier;
  const snapshot = await findClusterSnapshot(rds, snapshotId);
  if (snapshot && !carriesRotationId(snapshot.TagList, rotationId)) {
    throw refuse(`A DB cluster snapshot named ${snapshotId}`);
  }
  await checkAliasIsFree(rotationId, names.keyAlias);
};

/** The writer record must point at the writer endpoint, the reader record (if any) at the reader endpoint. */
const planClusterCutover = async (
  request: RotationInput,
  strategy: StrategyDecision,
  endpointAddress: string,
  readerEndpointAddress: string | null,
  asideIdentifier: string,
): Promise<CutoverPlan> => {
  const cutover = request.cutover;
  if (cutover.type !== 'cname') return planCutover(request, strategy, endpointAddress, asideIdentifier);
  const { route53 } = getClients();
  const writer = await planCname(route53, cutover, endpointAddress);
  if (!cutover.readerRecordName) return { ...writer, reader: null };
  if (!readerEndpointAddress) {
    throw new PreconditionFailedError(
      'cutover.readerRecordName: the cluster reports no reader endpoint, so there is nothing to move the reader record to.',
    );
  }
  const reader = await planCname(
    route53,
    { hostedZoneId: cutover.hostedZoneId, recordName: cutover.readerRecordName, ttl: cutover.ttl },
    readerEndpointAddress,
    'cutover.readerRecordName',
  );
  const notes = [...(writer.notes ?? []), ...(reader.notes ?? [])];
  return {
    ...writer,
    ...(notes.length > 0 ? { notes } : {}),
    reader: {
      hostedZoneId: reader.hostedZoneId,
      recordName: reader.recordName,
      previousValue: reader.previousValue,
    },
  };
};
