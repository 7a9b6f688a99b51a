import type { BlueGreenOps } from '#targets/ops.js';

/**
 * A Blue/Green deployment of a DB instance starts from the instance and gives it and every
 * in-Region read replica a green counterpart: each needs its own TargetResourceConfiguration, or
 * RDS gives the replica's green the blue replica's key.
 */
export const instanceBlueGreen: BlueGreenOps<'instance'> = {
  sourceArn: (plan) => plan.source.dbInstanceArn,
  blueArns: (plan) => [plan.source.dbInstanceArn, ...plan.source.readReplicas.map((r) => r.dbInstanceArn)],
  isPrimary: (resource) => resource.kind === 'db-instance' && !resource.replicaOf,
  primaryResourceId: (plan) => plan.source.dbiResourceId,
};
