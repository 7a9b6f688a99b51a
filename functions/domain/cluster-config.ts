import type {
  CreateDBInstanceMessage,
  DBCluster,
  DBInstance,
  ModifyDBClusterMessage,
  ModifyDBInstanceMessage,
  RestoreDBClusterFromSnapshotMessage,
  Tag,
} from '@aws-sdk/client-rds';
import type { Difference } from './config-diff.js';
import { monitoringParameters, userTags } from './instance-config.js';

/**
 * The configuration of an Aurora DB cluster and of its member instances, as captured in preflight
 * and compared in validation, normalised so that two compare field by field. Identifiers,
 * endpoints, ARNs, resource ids and the KMS key are not configuration: they are what changes.
 */
export interface ClusterConfig {
  engine: string;
  engineVersion: string | null;
  engineMode: string | null;
  port: number | null;
  dbSubnetGroupName: string | null;
  vpcSecurityGroupIds: string[];
  dbClusterParameterGroupName: string | null;
  iamDatabaseAuthenticationEnabled: boolean;
  enabledCloudwatchLogsExports: string[];
  /** Aurora MySQL only; 0 when off. */
  backtrackWindow: number;
  deletionProtection: boolean;
  copyTagsToSnapshot: boolean;
  backupRetentionPeriod: number | null;
  preferredBackupWindow: string | null;
  preferredMaintenanceWindow: string | null;
  serverlessV2Scaling: { minCapacity: number | null; maxCapacity: number | null } | null;
  /** `aurora` (standard) or `aurora-iopt1` (I/O-Optimized). */
  storageType: string | null;
  networkType: string | null;
  /** User tags; `rekey:*` and `aws:*` tags are left out. */
  tags: Record<string, string>;
}

export type ClusterField = keyof ClusterConfig;

export interface MemberConfig {
  dbInstanceClass: string;
  availabilityZone: string | null;
  promotionTier: number | null;
  dbParameterGroupName: string | null;
  monitoringInterval: number;
  monitoringRoleArn: string | null;
  performanceInsightsEnabled: boolean;
  performanceInsightsRetentionPeriod: number | null;
  publiclyAccessible: boolean;
  autoMinorVersionUpgrade: boolean;
  caCertificateIdentifier: string | null;
  preferredMaintenanceWindow: string | null;
  tags: Record<string, string>;
}

export type MemberField = keyof MemberConfig;

const sorted = (values: (string | undefined)[] | undefined): string[] =>
  (values ?? []).filter((v): v is string => typeof v === 'string' && v.length > 0).sort();

export const captureClusterConfig = (cluster: DBCluster): ClusterConfig => ({
  engine: cluster.Engine ?? '',
  engineVersion: cluster.EngineVersion ?? null,
  engineMode: cluster.EngineMode ?? null,
  port: cluster.Port ?? null,
  dbSubnetGroupName: cluster.DBSubnetGroup ?? null,
  vpcSecurityGroupIds: sorted(cluster.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)),
  dbClusterParameterGroupName: cluster.DBClusterParameterGroup ?? null,
  iamDatabaseAuthenticationEnabled: cluster.IAMDatabaseAuthenticationEnabled ?? false,
  enabledCloudwatchLogsExports: sorted(cluster.EnabledCloudwatchLogsExports),
  backtrackWindow: cluster.BacktrackWindow ?? 0,
  deletionProtection: cluster.DeletionProtection ?? false,
  copyTagsToSnapshot: cluster.CopyTagsToSnapshot ?? false,
  backupRetentionPeriod: cluster.BackupRetentionPeriod ?? null,
  preferredBackupWindow: cluster.PreferredBackupWindow ?? null,
  preferredMaintenanceWindow: cluster.PreferredMaintenanceWindow ?? null,
  serverlessV2Scaling: cluster.ServerlessV2ScalingConfiguration
    ? {
        minCapacity: cluster.ServerlessV2ScalingConfiguration.MinCapacity ?? null,
        maxCapacity: cluster.ServerlessV2ScalingConfiguration.MaxCapacity ?? null,
      }
    : null,
  storageType: cluster.StorageType ?? null,
  networkType: cluster.NetworkType ?? null,
  tags: userTags(cluster.TagList),
});

export const captureMemberConfig = (db: DBInstance): MemberConfig => ({
  dbInstanceClass: db.DBInstanceClass ?? '',
  availabilityZone: db.AvailabilityZone ?? null,
  promotionTier: db.PromotionTier ?? null,
  dbParameterGroupName: db.DBParameterGroups?.[0]?.DBParameterGroupName ?? null,
  monitoringInterval: db.MonitoringInterval ?? 0,
  monitoringRoleArn: db.MonitoringRoleArn ?? null,
  performanceInsightsEnabled: db.PerformanceInsightsEnabled ?? false,
  performanceInsightsRetentionPeriod: db.PerformanceInsightsEnabled
    ? (db.PerformanceInsightsRetentionPeriod ?? null)
    : null,
  publiclyAccessible: db.PubliclyAccessible ?? false,
  autoMinorVersionUpgrade: db.AutoMinorVersionUpgrade ?? true,
  caCertificateIdentifier: db.CACertificateIdentifier ?? null,
  preferredMaintenanceWindow: db.PreferredMaintenanceWindow ?? null,
  tags: userTags(db.TagList),
});

export { type Difference, diffFields, formatDifferences } from './config-diff.js';

/**
 * RestoreDBClusterFromSnapshot with everything it accepts from the source's configuration
 * (docs/aws-facts.md#restore): a restore silently falls back to defaults for anything left out.
 * `KmsKeyId` is the new key. The maintenance window is not accepted: configure applies it.
 */
export const restoreClusterParameters = (
  config: ClusterConfig,
  target: { dbClusterIdentifier: string; snapshotIdentifier: string; kmsKeyId: string; tags: Tag[] },
): RestoreDBClusterFromSnapshotMessage => ({
  DBClusterIdentifier: target.dbClusterIdentifier,
  SnapshotIdentifier: target.snapshotIdentifier,
  KmsKeyId: target.kmsKeyId,
  Engine: config.engine,
  ...(config.engineVersion && { EngineVersion: config.engineVersion }),
  ...(config.engineMode && { EngineMode: config.engineMode }),
  ...(config.port !== null && { Port: config.port }),
  ...(config.dbSubnetGroupName && { DBSubnetGroupName: config.dbSubnetGroupName }),
  VpcSecurityGroupIds: config.vpcSecurityGroupIds,
  ...(config.dbClusterParameterGroupName && {
    DBClusterParameterGroupName: config.dbClusterParameterGroupName,
  }),
  EnableIAMDatabaseAuthentication: config.iamDatabaseAuthenticationEnabled,
  EnableCloudwatchLogsExports: config.enabledCloudwatchLogsExports,
  // Aurora PostgreSQL refuses a BacktrackWindow, even 0: only pass it when backtracking is on.
  ...(config.backtrackWindow > 0 && { BacktrackWindow: config.backtrackWindow }),
  DeletionProtection: config.deletionProtection,
  CopyTagsToSnapshot: config.copyTagsToSnapshot,
  ...(config.backupRetentionPeriod !== null && { BackupRetentionPeriod: config.backupRetentionPeriod }),
  ...(config.preferredBackupWindow && { PreferredBackupWindow: config.preferredBackupWindow }),
  ...(config.serverlessV2Scaling && {
    ServerlessV2ScalingConfiguration: {
      ...(config.serverlessV2Scaling.minCapacity !== null && {
        MinCapacity: config.serverlessV2Scaling.minCapacity,
      }),
      ...(config.serverlessV2Scaling.maxCapacity !== null && {
        MaxCapacity: config.serverlessV2Scaling.maxCapacity,
      }),
    },
  }),
  ...(config.storageType && { StorageType: config.storageType }),
  ...(config.networkType && { NetworkType: config.networkType }),
  Tags: target.tags,
});

/**
 * CreateDBInstance for one member of the restored cluster, with everything it accepts from the
 * source member. Performance Insights data goes under the new key.
 */
export const createMemberParameters = (
  config: MemberConfig,
  target: {
    dbInstanceIdentifier: string;
    dbClusterIdentifier: string;
    engine: string;
    newKeyArn: string;
    tags: Tag[];
  },
): CreateDBInstanceMessage => ({
  DBInstanceIdentifier: target.dbInstanceIdentifier,
  DBClusterIdentifier: target.dbClusterIdentifier,
  Engine: target.engine,
  DBInstanceClass: config.dbInstanceClass,
  ...(config.availabilityZone && { AvailabilityZone: config.availabilityZone }),
  ...(config.promotionTier !== null && { PromotionTier: config.promotionTier }),
  ...(config.dbParameterGroupName && { DBParameterGroupName: config.dbParameterGroupName }),
  MonitoringInterval: config.monitoringInterval,
  ...(config.monitoringInterval > 0 &&
    config.monitoringRoleArn && { MonitoringRoleArn: config.monitoringRoleArn }),
  EnablePerformanceInsights: config.performanceInsightsEnabled,
  ...(config.performanceInsightsEnabled && {
    PerformanceInsightsKMSKeyId: target.newKeyArn,
    ...(config.performanceInsightsRetentionPeriod !== null && {
      PerformanceInsightsRetentionPeriod: config.performanceInsightsRetentionPeriod,
    }),
  }),
  PubliclyAccessible: config.publiclyAccessible,
  AutoMinorVersionUpgrade: config.autoMinorVersionUpgrade,
  ...(config.caCertificateIdentifier && { CACertificateIdentifier: config.caCertificateIdentifier }),
  ...(config.preferredMaintenanceWindow && {
    PreferredMaintenanceWindow: config.preferredMaintenanceWindow,
  }),
  Tags: target.tags,
});

/**
 * ModifyDBCluster parameters for the differences it can apply after the restore (the maintenance
 * window, which the restore does not take, and any restore parameter RDS did not honour). Engine,
 * engine mode, storage and subnet group are left to validation: changing them is not a modify.
 */
export const modifyClusterParameters = (
  differences: Difference<ClusterField>[],
  expected: ClusterConfig,
): Partial<ModifyDBClusterMessage> => {
  const params: Partial<ModifyDBClusterMessage> = {};
  for (const { field } of differences) {
    switch (field) {
      case 'preferredMaintenanceWindow':
        if (expected.preferredMaintenanceWindow)
          params.PreferredMaintenanceWindow = expected.preferredMaintenanceWindow;
        break;
      case 'preferredBackupWindow':
        if (expected.preferredBackupWindow) params.PreferredBackupWindow = expected.preferredBackupWindow;
        break;
      case 'backupRetentionPeriod':
        if (expected.backupRetentionPeriod !== null)
          params.BackupRetentionPeriod = expected.backupRetentionPeriod;
        break;
      case 'backtrackWindow':
        params.BacktrackWindow = expected.backtrackWindow;
        break;
      case 'dbClusterParameterGroupName':
        if (expected.dbClusterParameterGroupName)
          params.DBClusterParameterGroupName = expected.dbClusterParameterGroupName;
        break;
      case 'vpcSecurityGroupIds':
        params.VpcSecurityGroupIds = expected.vpcSecurityGroupIds;
        break;
      case 'iamDatabaseAuthenticationEnabled':
        params.EnableIAMDatabaseAuthentication = expected.iamDatabaseAuthenticationEnabled;
        break;
      case 'deletionProtection':
        params.DeletionProtection = expected.deletionProtection;
        break;
      case 'copyTagsToSnapshot':
        params.CopyTagsToSnapshot = expected.copyTagsToSnapshot;
        break;
      default:
        break;
    }
  }
  return params;
};

/** ModifyDBInstance parameters for a member's differences that a modify can apply. */
export const modifyMemberParameters = (
  differences: Difference<MemberField>[],
  expected: MemberConfig,
  newKeyArn: string,
): Partial<ModifyDBInstanceMessage> => {
  const params: Partial<ModifyDBInstanceMessage> = {};
  for (const { field } of differences) {
    switch (field) {
      case 'dbInstanceClass':
        params.DBInstanceClass = expected.dbInstanceClass;
        break;
      case 'promotionTier':
        if (expected.promotionTier !== null) params.PromotionTier = expected.promotionTier;
        break;
      case 'dbParameterGroupName':
        if (expected.dbParameterGroupName) params.DBParameterGroupName = expected.dbParameterGroupName;
        break;
      case 'monitoringInterval':
      case 'monitoringRoleArn':
      case 'performanceInsightsEnabled':
      case 'performanceInsightsRetentionPeriod':
        Object.assign(params, monitoringParameters(field, expected, newKeyArn));
        break;
      case 'publiclyAccessible':
        params.PubliclyAccessible = expected.publiclyAccessible;
        break;
      case 'autoMinorVersionUpgrade':
        params.AutoMinorVersionUpgrade = expected.autoMinorVersionUpgrade;
        break;
      case 'caCertificateIdentifier':
        if (expected.caCertificateIdentifier)
          params.CACertificateIdentifier = expected.caCertificateIdentifier;
        break;
      case 'preferredMaintenanceWindow':
        if (expected.preferredMaintenanceWindow)
          params.PreferredMaintenanceWindow = expected.preferredMaintenanceWindow;
        break;
      default:
        break;
    }
  }
  return params;
};
