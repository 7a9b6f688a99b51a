import { StopDBClusterCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { FreezeResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { setDeletionProtection } from '#reconcilers/deletion-protection.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertClusterHealthy } from './checks.js';
import { asideIdentifier, isSourceCluster, locateSource } from './lookups.js';
import { reconcileClusterRename } from './rename.js';

/**
 * Freeze writes on an Aurora cluster: StopDBCluster, then wait until `stopped`. RDS cannot modify a
 * stopped cluster, so first, in one ModifyDBCluster while it runs:
 * - with a rename cutover, rename the source aside (`<cluster>-old-<rotation id>`), freeing the
 *   original identifier for the new cluster; clients lose the old endpoint name at once, which is
 *   fine: writes are being frozen anyway;
 * - when the plan deletes the old cluster, lift its deletion protection (rollback turns it on again).
 * Then wait until the cluster is `available` under its new name, and stop it.
 */
export const stopCluster = async (state: ClusterState): Promise<FreezeResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const previous = state.freeze;
  const located = await locateSource(rds, plan);
  if (!located) {
    throw new PreconditionFailedError(
      `The source DB cluster ${plan.source.dbClusterIdentifier} no longer exists. It was deleted while the rotation ran; nothing else was changed.`,
    );
  }
  const { cluster, identifier } = located;
  assertClusterHealthy(cluster, 'source');
  const status = cluster.Status ?? 'unknown';
  const lifted = previous?.deletionProtectionLifted ?? false;
  const renamedAside = located.aside || (previous?.renamedAside ?? false);
  // Only a stop under way awaits its event and expects its time (from the call that issued it); the
  // rename aside and lifting the deletion protection before it are checked on the backoff.
  const waiting = (seen: string, fields: Partial<FreezeResult> = {}, stopIssued = false): FreezeResult => ({
    done: false,
    stoppedByRekey: true,
    deletionProtectionLifted: lifted,
    renamedAside,
    status: seen,
    poll: nextPoll(
      previous?.poll,
      'stopSource',
      seen,
      `Stopping the cluster ${identifier}`,
      seen === 'stopping'
        ? {
            awaits: awaiting('CLUSTER', identifier, RDS_EVENTS.clusterStopped),
            expectedSeconds: EXPECTED_SECONDS.stop(),
            started: stopIssued,
          }
        : {},
    ),
    ...fields,
  });

  if (status === 'stopped') {
    logger.info('source cluster is stopped', { dbClusterIdentifier: identifier });
    return { done: true, stoppedByRekey: true, deletionProtectionLifted: lifted, renamedAside, status };
  }
  if (status !== 'available') return waiting(status);

  const aside = asideIdentifier(plan);
  const renameNow = aside !== null && !located.aside;
  const liftNow = plan.decisions.deleteOldInstance && cluster.DeletionProtection === true;
  if (renameNow) {
    // The rename and the lifted protection go in one ModifyDBCluster, with the shared rename rules.
    const moving = await reconcileClusterRename(rds, {
      from: identifier,
      to: aside,
      expectedAtTarget: (found) => isSourceCluster(found, plan),
      expectedAtSource: (found) => isSourceCluster(found, plan),
      requested: renamedAside,
      ...(liftNow && { alsoModify: { DeletionProtection: false } }),
      what: `Moving ${identifier} aside to ${aside} before the stop (rename cutover)`,
    });
    return waiting(moving.status, {
      deletionProtectionLifted: lifted || (liftNow && moving.requested),
      renamedAside: renamedAside || moving.requested,
    });
  }
  if (liftNow) {
    try {
      await setDeletionProtection(rds, 'db-cluster', identifier, false);
      logger.info("lifted the source cluster's deletion protection before the stop", {
        dbClusterIdentifier: identifier,
      });
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.cluster.invalidState)) throw error;
    }
    return waiting('modifying', { deletionProtectionLifted: true });
  }

  try {
    await rds.send(new StopDBClusterCommand({ DBClusterIdentifier: identifier }));
    logger.info('stopping the source cluster', { dbClusterIdentifier: identifier });
  } catch (error) {
    // Another attempt already asked for the stop, or a member is busy: keep waiting.
    if (!isAwsError(error, ...RDS_ERRORS.cluster.invalidState, ...RDS_ERRORS.instance.invalidState))
      throw error;
  }
  return waiting('stopping', {}, true);
};
