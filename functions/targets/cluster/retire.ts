import { DeleteDBClusterCommand, DeleteDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RetireInstanceResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { setDeletionProtection } from '#reconcilers/deletion-protection.js';
import { isRetiredBy, notMarkedRetired } from '#reconcilers/retirement.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { locateSource } from './lookups.js';

/**
 * Retire the old cluster once clients use the new one (a verified cutover), or record why it is
 * kept. Members first (DeleteDBInstance), then the cluster (RDS refuses to delete a cluster that
 * still has instances); waits until both are gone.
 *
 * DeleteDBCluster skips the final snapshot: the data is in the new cluster (restored from this
 * rotation's source cluster snapshot under the new key; there is no copy), and that source
 * snapshot already holds the old data until RetireKey deletes it with the old key; a final
 * snapshot now would be one more copy under the old key and keep that key from being retired.
 * Members are found by their identifiers from the plan and deleted only when they do not carry this
 * rotation's tag (so a new member can never be taken for an old one).
 */
export const retireCluster = async (state: ClusterState): Promise<RetireInstanceResult> => {
  const { plan } = state;
  const { rds } = getClients();
  const sourceId = plan.source.dbClusterIdentifier;

  if (!plan.decisions.deleteOldInstance) {
    const located = await locateSource(rds, plan);
    const reason = plan.decisions.keepOldInstanceReason ?? 'the rotation plan keeps the old cluster.';
    return { done: true, outcome: 'retained', status: located?.cluster.Status ?? 'unknown', reason };
  }
  if (state.cutover?.verified !== true) {
    throw new PreconditionFailedError(
      `Refusing to delete the old DB cluster ${sourceId}: the cutover was not verified, so clients may still use it. ` +
        'Nothing was deleted. Check where clients connect, then delete the old cluster by hand if you are sure.',
    );
  }
  const previous = state.retireInstance;
  const waiting = (status: string): RetireInstanceResult => ({
    done: false,
    outcome: 'deleted',
    status,
    poll: nextPoll(
      previous?.poll,
      'retireInstance',
      status,
      `Deleting the old DB cluster ${sourceId} and its members`,
    ),
  });

  const remaining: string[] = [];
  for (const member of plan.source.members) {
    const db = await findInstance(rds, member.dbInstanceIdentifier);
    if (!db || carriesRotationId(db.TagList, plan.rotationId)) continue;
    if (db.DBInstanceStatus !== 'deleting' && !isRetiredBy(db.TagList, plan.rotationId)) {
      return notMarkedRetired(member.dbInstanceIdentifier, plan.rotationId, db.DBInstanceStatus ?? 'unknown');
    }
    remaining.push(member.dbInstanceIdentifier);
    if (db.DBInstanceStatus === 'deleting') continue;
    try {
      await rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: member.dbInstanceIdentifier,
          SkipFinalSnapshot: true,
        }),
      );
      logger.info('deleting an old member', { dbInstanceIdentifier: member.dbInstanceIdentifier });
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.instance.notFound)) continue;
      if (!isAwsError(error, ...RDS_ERRORS.instance.invalidState, ...RDS_ERRORS.cluster.invalidState))
        throw error;
      if (db.DBInstanceStatus === 'stopped') {
        // Unverified on AWS: if RDS refuses to delete members of a stopped cluster, keep it and say how to finish.
        return stoppedRefusal(state, (error as Error).message);
      }
    }
  }
  if (remaining.length > 0) return waiting(`deleting members ${remaining.join(', ')}`);

  const located = await locateSource(rds, plan);
  if (!located) {
    logger.info('the old cluster is gone', { dbClusterIdentifier: sourceId });
    return { done: true, outcome: 'deleted', status: 'deleted' };
  }
  const { cluster, identifier } = located;
  const status = cluster.Status ?? 'unknown';
  if (status === 'deleting') return waiting(status);
  if (!isRetiredBy(cluster.TagList, plan.rotationId))
    return notMarkedRetired(identifier, plan.rotationId, status);
  if (cluster.DeletionProtection) {
    if (status === 'stopped' || status === 'stopping') {
      return {
        done: true,
        outcome: 'retained',
        status,
        reason:
          `deletion protection was turned on again while ${identifier} was stopped, and RDS cannot modify a stopped cluster. ` +
          `The rotation is complete; to retire it: aws rds start-db-cluster --db-cluster-identifier ${identifier}, then ` +
          `aws rds modify-db-cluster --db-cluster-identifier ${identifier} --no-deletion-protection --apply-immediately, then delete it.`,
      };
    }
    if (status !== 'available') return waiting(status);
    try {
      await setDeletionProtection(rds, 'db-cluster', identifier, false);
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.cluster.invalidState, ...RDS_ERRORS.cluster.notFound)) throw error;
    }
    return waiting('modifying');
  }
  try {
    await rds.send(
      new DeleteDBClusterCommand({
        DBClusterIdentifier: identifier,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      }),
    );
    logger.info('deleting the old cluster', { dbClusterIdentifier: identifier });
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.cluster.notFound))
      return { done: true, outcome: 'deleted', status: 'deleted' };
    if (!isAwsError(error, ...RDS_ERRORS.cluster.invalidState, 'InvalidParameterCombination')) throw error;
  }
  return waiting('deleting');
};

const stoppedRefusal = (state: ClusterState, message: string): RetireInstanceResult => {
  const id =
    state.plan.cutover.type === 'rename'
      ? state.plan.cutover.asideIdentifier
      : state.plan.source.dbClusterIdentifier;
  return {
    done: true,
    outcome: 'retained',
    status: 'stopped',
    reason:
      `RDS refused to delete the members of the stopped cluster ${id} (${message}). Starting it again could let clients with a ` +
      `stale DNS answer write to it, so Rekey kept it. To retire it: aws rds start-db-cluster --db-cluster-identifier ${id}, ` +
      'then delete its instances and the cluster.',
  };
};
