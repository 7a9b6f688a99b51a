import {
  type DBCluster,
  type DBClusterSnapshot,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { ClusterNames } from '#domain/naming.js';
import type { ClusterPlan } from '#domain/plan.js';

/**
 * Where a rotation's Aurora clusters are and what they are called: RDS lookups, the plan's cluster
 * names and members, and where the source cluster is now (a rename cutover moves it aside).
 */

/** The cluster, or `null` when it does not exist (any other error propagates). */
export const findCluster = async (rds: RDSClient, dbClusterIdentifier: string): Promise<DBCluster | null> => {
  try {
    const { DBClusters } = await rds.send(
      new DescribeDBClustersCommand({ DBClusterIdentifier: dbClusterIdentifier }),
    );
    return DBClusters?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.cluster.notFound)) return null;
    throw error;
  }
};

/** The manual cluster snapshot, or `null` when it does not exist. */
export const findClusterSnapshot = async (
  rds: RDSClient,
  identifier: string,
): Promise<DBClusterSnapshot | null> => {
  try {
    const { DBClusterSnapshots } = await rds.send(
      new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }),
    );
    return DBClusterSnapshots?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.notFound)) return null;
    throw error;
  }
};

/** The cluster names of a cluster plan (preflight always sets them). */
export const clusterNames = (plan: ClusterPlan): ClusterNames => {
  if (!plan.names.cluster) {
    throw new PreconditionFailedError(
      'The rotation plan has no cluster names. This is a bug in preflight: report it with the execution ARN.',
    );
  }
  return plan.names.cluster;
};

/** The aside identifier when the plan renames, else `null`. */
export const asideIdentifier = (plan: ClusterPlan): string | null =>
  plan.cutover.type === 'rename' ? plan.cutover.asideIdentifier : null;

/** True when `cluster` is the source this plan described (not a new cluster that now has its name). */
export const isSourceCluster = (cluster: DBCluster, plan: ClusterPlan): boolean => {
  if (carriesRotationId(cluster.TagList, plan.rotationId)) return false;
  const expected = plan.source.dbClusterResourceId;
  return !expected || !cluster.DbClusterResourceId || cluster.DbClusterResourceId === expected;
};

/**
 * Where the source cluster is now. A rename cutover moves it aside before the freeze, so the aside
 * name wins when it exists; after the cutover the original name holds the NEW cluster, which
 * `isSourceCluster` tells apart.
 */
export const locateSource = async (
  rds: RDSClient,
  plan: ClusterPlan,
): Promise<{ cluster: DBCluster; identifier: string; aside: boolean } | null> => {
  const aside = asideIdentifier(plan);
  if (aside) {
    const found = await findCluster(rds, aside);
    if (found && isSourceCluster(found, plan)) return { cluster: found, identifier: aside, aside: true };
  }
  const original = await findCluster(rds, plan.source.dbClusterIdentifier);
  if (original && isSourceCluster(original, plan)) {
    return { cluster: original, identifier: plan.source.dbClusterIdentifier, aside: false };
  }
  return null;
};

/** Source members, writer first: the writer is created first so it becomes the new cluster's writer. */
export const membersWriterFirst = (plan: ClusterPlan) =>
  [...plan.source.members].sort((a, b) => Number(b.isWriter) - Number(a.isWriter));
