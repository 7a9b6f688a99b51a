import { type DBCluster, type RDSClient, StartDBClusterCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { Poll } from '#domain/limits.js';
import type { ClusterPlan } from '#domain/plan.js';
import type { StartSourceResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { type EnsureStartedResult, ensureStarted, type StartAdapter } from '#reconcilers/ensure-started.js';
import { assertClusterHealthy } from './checks.js';
import { findCluster, locateSource } from './lookups.js';

/** Aurora clusters, for "ensure started". */
export const clusterStarts: StartAdapter<DBCluster> = {
  noun: 'DB cluster',
  find: findCluster,
  statusOf: (cluster) => cluster.Status,
  assertRecoverable: (cluster) => assertClusterHealthy(cluster, 'source'),
  start: async (rds, identifier) => {
    await rds.send(new StartDBClusterCommand({ DBClusterIdentifier: identifier }));
  },
  errors: 'cluster',
};

/** Starts the source cluster (aside or under its own name) if it is stopped and waits until it is `available`. */
export const ensureClusterStarted = async (
  rds: RDSClient,
  plan: ClusterPlan,
  previousPoll: Poll | undefined,
  what: string,
): Promise<EnsureStartedResult & { identifier: string }> => {
  const located = await locateSource(rds, plan);
  if (!located) {
    throw new PreconditionFailedError(
      `${what}: the source DB cluster ${plan.source.dbClusterIdentifier} no longer exists, so it cannot be started. ` +
        'Someone deleted it while the rotation ran; check the RDS console events.',
    );
  }
  const { cluster, identifier } = located;
  const result = await ensureStarted(clusterStarts, rds, {
    identifier,
    previousPoll,
    limitName: 'startSource',
    what,
    found: cluster,
  });
  return { ...result, identifier };
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
