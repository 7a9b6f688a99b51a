import type { DBCluster, DBInstance } from '@aws-sdk/client-rds';

/**
 * Can RDS Blue/Green deployments rotate this database? Each reason is one sentence a person can
 * act on. RDS has the last word (CreateBlueGreenDeployment may still refuse, e.g. an engine
 * version or a parameter RDS requires); these are the limits known before asking.
 */
const UNSUPPORTED_ENGINES: [prefix: string, name: string][] = [
  ['sqlserver', 'RDS for SQL Server'],
  ['oracle', 'RDS for Oracle'],
  ['db2', 'RDS for Db2'],
  ['custom-', 'RDS Custom'],
];

export const instanceBlueGreenIneligibility = (db: DBInstance, region: string): string[] => {
  const reasons: string[] = [];
  const id = db.DBInstanceIdentifier;
  const engine = UNSUPPORTED_ENGINES.find(([prefix]) => db.Engine?.startsWith(prefix));
  if (engine) reasons.push(`${engine[1]} (${db.Engine}) does not support Blue/Green deployments.`);
  if (db.MasterUserSecret?.SecretArn) {
    reasons.push(
      `${id} keeps its master password in Secrets Manager, which Blue/Green deployments do not support.`,
    );
  }
  if (db.ReadReplicaSourceDBInstanceIdentifier) {
    reasons.push(`${id} is itself a read replica of ${db.ReadReplicaSourceDBInstanceIdentifier}.`);
  }
  const crossRegion = (db.ReadReplicaDBInstanceIdentifiers ?? []).filter(
    (replica) => replica.startsWith('arn:') && replica.split(':')[3] !== region,
  );
  if (crossRegion.length > 0) {
    reasons.push(
      `${id} has cross-Region read replicas (${crossRegion.join(', ')}), which Blue/Green deployments do not support.`,
    );
  }
  if ((db.ReadReplicaDBClusterIdentifiers ?? []).length > 0) {
    reasons.push(
      `${id} replicates to the Aurora cluster ${db.ReadReplicaDBClusterIdentifiers?.join(', ')}, which Blue/Green deployments do not support.`,
    );
  }
  return reasons;
};

/** Cascading replicas (a replica with replicas of its own) are not supported by Blue/Green. */
export const replicaBlueGreenIneligibility = (replicas: DBInstance[]): string[] =>
  replicas
    .filter((replica) => (replica.ReadReplicaDBInstanceIdentifiers ?? []).length > 0)
    .map(
      (replica) =>
        `the read replica ${replica.DBInstanceIdentifier} has replicas of its own (cascading replicas), which Blue/Green deployments do not support.`,
    );

export const clusterBlueGreenIneligibility = (cluster: DBCluster): string[] => {
  const reasons: string[] = [];
  const id = cluster.DBClusterIdentifier;
  if (!cluster.Engine?.startsWith('aurora')) {
    reasons.push(
      `${id} is a Multi-AZ DB cluster (${cluster.Engine}), which Blue/Green deployments do not support.`,
    );
  }
  if (cluster.EngineMode && cluster.EngineMode !== 'provisioned') {
    reasons.push(
      `${id} uses engine mode "${cluster.EngineMode}"; Blue/Green deployments need a provisioned cluster.`,
    );
  }
  if (cluster.MasterUserSecret?.SecretArn) {
    reasons.push(
      `${id} keeps its master password in Secrets Manager, which Blue/Green deployments do not support.`,
    );
  }
  if (cluster.ReplicationSourceIdentifier) {
    reasons.push(`${id} is a cross-Region replica of ${cluster.ReplicationSourceIdentifier}.`);
  }
  if (cluster.GlobalClusterIdentifier) {
    reasons.push(
      `${id} is part of the global database ${cluster.GlobalClusterIdentifier}; Rekey does not rotate global databases with Blue/Green.`,
    );
  }
  return reasons;
};
