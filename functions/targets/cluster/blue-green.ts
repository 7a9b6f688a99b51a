import type { BlueGreenOps } from '#targets/ops.js';

/**
 * A Blue/Green deployment of an Aurora cluster starts from the cluster: one TargetResourceConfiguration
 * for the cluster ARN covers its members, which share the cluster volume and its key.
 */
export const clusterBlueGreen: BlueGreenOps<'cluster'> = {
  sourceArn: (plan) => plan.source.dbClusterArn,
  blueArns: (plan) => [plan.source.dbClusterArn],
  isPrimary: (resource) => resource.kind === 'db-cluster',
  primaryResourceId: (plan) => plan.source.dbClusterResourceId ?? null,
};
