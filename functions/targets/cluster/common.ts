import { RDS_ERRORS } from '#aws/rds-errors.js';

/**
 * Compatibility only: the names cutover.ts, rollback.ts and start.ts import. Their helpers live in
 * lookups.ts and checks.ts, the error names in RDS_ERRORS; delete this file once those three
 * import from there.
 */
export { assertClusterHealthy, carriesOurTag } from './checks.js';
export { clusterNames, findCluster, findClusterSnapshot, isSourceCluster, locateSource } from './lookups.js';

export const CLUSTER_NOT_FOUND = RDS_ERRORS.cluster.notFound;
export const CLUSTER_NOT_NOW = RDS_ERRORS.cluster.invalidState;
export const INSTANCE_NOT_NOW = RDS_ERRORS.instance.invalidState;
export const INSTANCE_NOT_FOUND = RDS_ERRORS.instance.notFound;
export const CLUSTER_SNAPSHOT_NOT_FOUND = RDS_ERRORS.clusterSnapshot.notFound;
