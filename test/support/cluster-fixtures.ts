import type { ClusterConfig, MemberConfig } from '#domain/cluster-config.js';

/**
 * The configuration of the Aurora PostgreSQL cluster `orders-aurora` the cluster step tests
 * rotate, and of its writer and reader members, as preflight captures them.
 */
export const CLUSTER_CONFIG: ClusterConfig = {
  engine: 'aurora-postgresql',
  engineVersion: '16.4',
  engineMode: 'provisioned',
  port: 5432,
  dbSubnetGroupName: 'orders-private',
  vpcSecurityGroupIds: ['sg-1', 'sg-2'],
  dbClusterParameterGroupName: 'orders-aurora-pg16',
  iamDatabaseAuthenticationEnabled: true,
  enabledCloudwatchLogsExports: ['postgresql'],
  backtrackWindow: 0,
  deletionProtection: true,
  copyTagsToSnapshot: true,
  backupRetentionPeriod: 7,
  preferredBackupWindow: '03:00-03:30',
  preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
  serverlessV2Scaling: null,
  storageType: 'aurora-iopt1',
  networkType: 'IPV4',
  tags: { team: 'orders' },
};
export const WRITER_CONFIG: MemberConfig = {
  dbInstanceClass: 'db.r6g.large',
  availabilityZone: 'us-east-1a',
  promotionTier: 0,
  dbParameterGroupName: 'orders-aurora-instance-pg16',
  monitoringInterval: 0,
  monitoringRoleArn: null,
  performanceInsightsEnabled: false,
  performanceInsightsRetentionPeriod: null,
  publiclyAccessible: false,
  autoMinorVersionUpgrade: false,
  caCertificateIdentifier: 'rds-ca-rsa2048-g1',
  preferredMaintenanceWindow: 'wed:06:38-wed:07:08',
  tags: {},
};
export const READER_CONFIG: MemberConfig = {
  ...WRITER_CONFIG,
  dbInstanceClass: 'db.r6g.xlarge',
  availabilityZone: 'us-east-1b',
  promotionTier: 1,
};
