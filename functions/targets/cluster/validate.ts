import { getClients } from '#aws/clients.js';
import { canonicalKeyArn, isSameKey } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import {
  captureClusterConfig,
  captureMemberConfig,
  diffFields,
  formatDifferences,
} from '#domain/cluster-config.js';
import { ValidationFailedError } from '#domain/errors.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { ValidationResult } from '#domain/results.js';
import { type ClusterState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { clusterNames, findCluster } from './lookups.js';

/**
 * The gate before clients are switched: the new cluster and every member `available`, the cluster
 * (and each member, where RDS reports a key) under the new key, compared as canonical key ARNs, and
 * the source's configuration field by field, for the cluster and for each member against the source
 * member it was created from; the source writer's counterpart is the writer. Read-only; every
 * problem is reported at once.
 */
export const validateCluster = async (state: ClusterState): Promise<ValidationResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const names = clusterNames(plan);
  const id = names.newDbClusterIdentifier;
  const sourceId = plan.source.dbClusterIdentifier;
  const expectedKey = canonicalKeyArn(newKey.keyArn, plan);

  const cluster = await findCluster(rds, id);
  if (!cluster) {
    throw new ValidationFailedError(
      `The new DB cluster ${id} does not exist, so there is nothing to switch clients to. Clients still use ${sourceId}; start a new rotation.`,
    );
  }
  const problems: string[] = [];
  const keyProblem = (what: string, reported: string | undefined) => {
    if (!reported) return `${what} reports no KMS key`;
    if (isSameKey(reported, newKey.keyArn, plan)) return null;
    const old = isSameKey(reported, plan.source.kmsKeyArn, plan) ? ' (the OLD key)' : '';
    return `${what} is encrypted with ${reported}${old}, not with the new key ${expectedKey}`;
  };
  if (cluster.Status !== 'available') problems.push(`the cluster is "${cluster.Status}", not "available"`);
  if (!cluster.StorageEncrypted) problems.push('the cluster storage is not encrypted');
  if (!cluster.Endpoint) problems.push('the cluster has no writer endpoint');
  if (!carriesRotationId(cluster.TagList, plan.rotationId)) {
    problems.push(`the cluster does not carry the tag ${TAG_ROTATION_ID}=${plan.rotationId}`);
  }
  const clusterKey = keyProblem('the cluster', cluster.KmsKeyId);
  if (clusterKey) problems.push(clusterKey);
  const clusterDiffs = diffFields(plan.source.config, captureClusterConfig(cluster));
  if (clusterDiffs.length > 0) {
    problems.push(`the cluster's configuration differs from ${sourceId}: ${formatDifferences(clusterDiffs)}`);
  }

  const writers = new Set(
    (cluster.DBClusterMembers ?? []).filter((m) => m.IsClusterWriter).map((m) => m.DBInstanceIdentifier),
  );
  const members: NonNullable<ValidationResult['members']> = [];
  for (const source of plan.source.members) {
    const memberId = names.newMemberIdentifiers[source.dbInstanceIdentifier] ?? '';
    const db = await findInstance(rds, memberId);
    if (!db) {
      problems.push(`the member ${memberId} (for ${source.dbInstanceIdentifier}) does not exist`);
      continue;
    }
    if (db.DBInstanceStatus !== 'available')
      problems.push(`the member ${memberId} is "${db.DBInstanceStatus}"`);
    if (db.DBClusterIdentifier !== id) {
      problems.push(
        `the member ${memberId} belongs to ${db.DBClusterIdentifier ?? 'no cluster'}, not to ${id}`,
      );
    }
    if (!carriesRotationId(db.TagList, plan.rotationId)) {
      problems.push(`the member ${memberId} does not carry the tag ${TAG_ROTATION_ID}=${plan.rotationId}`);
    }
    // Aurora members share the cluster volume; RDS reports the cluster's key on them, if any.
    if (db.KmsKeyId) {
      const memberKey = keyProblem(`the member ${memberId}`, db.KmsKeyId);
      if (memberKey) problems.push(memberKey);
    }
    const memberDiffs = diffFields(source.config, captureMemberConfig(db));
    if (memberDiffs.length > 0) {
      problems.push(
        `the member ${memberId} differs from ${source.dbInstanceIdentifier}: ${formatDifferences(memberDiffs)}`,
      );
    }
    if (source.isWriter && writers.size > 0 && !writers.has(memberId)) {
      problems.push(
        `the writer is ${[...writers].join(', ')}, not ${memberId} (the counterpart of the source writer)`,
      );
    }
    members.push({
      sourceDbInstanceIdentifier: source.dbInstanceIdentifier,
      dbInstanceIdentifier: memberId,
      isWriter: source.isWriter,
    });
  }

  if (problems.length > 0) {
    logger.error('the new cluster failed validation', { dbClusterIdentifier: id, problems });
    throw new ValidationFailedError(
      `The new DB cluster ${id} is not fit to replace ${sourceId}, so clients were not switched to it. ` +
        `Problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}. ` +
        `Clients still use ${sourceId}. Fix the cause (compare both clusters in the RDS console), then start a new rotation.`,
    );
  }
  logger.info('the new cluster is valid', { dbClusterIdentifier: id });
  return {
    dbInstanceIdentifier: id,
    dbInstanceArn: cluster.DBClusterArn ?? '',
    endpointAddress: cluster.Endpoint as string,
    readerEndpointAddress: cluster.ReaderEndpoint ?? null,
    port: cluster.Port ?? null,
    kmsKeyArn: expectedKey,
    status: cluster.Status ?? 'available',
    differences: [],
    checkedAt: new Date().toISOString(),
    dbClusterResourceId: cluster.DbClusterResourceId ?? null,
    members,
  };
};
