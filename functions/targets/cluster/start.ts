import { type RDSClient, StartDBClusterCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { Poll } from '#domain/limits.js';
import type { ClusterPlan } from '#domain/plan.js';
import type { StartSourceResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertClusterHealthy, CLUSTER_NOT_NOW, locateSource } from './common.js';

/** Starts the source cluster if it is stopped and waits until it is `available`. */
export const ensureClusterStarted = async (
  rds: RDSClient,
  plan: ClusterPlan,
  previousPoll: Poll | undefined,
  what: string,
): Promise<{ done: boolean; status: string; started: boolean; identifier: string; poll?: Poll }> => {
  const located = await locateSource(rds, plan);
  if (!located) {
    throw new PreconditionFailedError(
      `${what}: the source DB cluster ${plan.source.dbClusterIdentifier} no longer exists, so it cannot be started. ` +
        'Someone deleted it while the rotation ran; check the RDS console events.',
    );
  }
  const { cluster, identifier } = located;
  assertClusterHealthy(cluster, 'source');
  const status = cluster.Status ?? 'unknown';
  if (status === 'available') return { done: true, status, started: false, identifier };
  let started = false;
  if (status === 'stopped') {
    try {
      await rds.send(new StartDBClusterCommand({ DBClusterIdentifier: identifier }));
      started = true;
      logger.info('starting the source cluster', { dbClusterIdentifier: identifier });
    } catch (error) {
      if (!isAwsError(error, ...CLUSTER_NOT_NOW)) throw error;
    }
  }
  const seen = started ? 'starting' : status;
  return {
    done: false,
    status: seen,
    started,
    identifier,
    poll: nextPoll(previousPoll, 'startSource', seen, what),
  };
};

/** Cutover "none": start the source cluster again if Rekey stopped it; clients keep using it. */
export const startCluster = async (state: ClusterState): Promise<StartSourceResult> => {
  const { plan } = state;
  if (plan.cutover.type !== 'none') {
    throw new PreconditionFailedError(
      `StartSource runs only when cutover is "none", but this rotation's cutover is "${plan.cutover.type}". ` +
        `The source ${plan.source.dbClusterIdentifier} was left as it is. This is a state machine wiring error: report it with the execution ARN.`,
    );
  }
  const { rds } = getClients();
  if (!plan.decisions.stopSource) {
    const located = await locateSource(rds, plan);
    return { done: true, status: located?.cluster.Status ?? 'unknown', started: false };
  }
  const previous = state.startSource;
  const result = await ensureClusterStarted(
    rds,
    plan,
    previous?.poll,
    `Starting the source cluster ${plan.source.dbClusterIdentifier} again (cutover "none": clients still use it)`,
  );
  const started = result.started || previous?.started === true;
  return result.done
    ? { done: true, status: result.status, started }
    : { done: false, status: result.status, started, ...(result.poll && { poll: result.poll }) };
};
