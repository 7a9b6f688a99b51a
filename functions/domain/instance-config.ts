import type {
  DBInstance,
  ModifyDBInstanceMessage,
  RestoreDBInstanceFromDBSnapshotMessage,
  Tag,
} from '@aws-sdk/client-rds';
import { type Difference, diffFields, formatDifferences } from './config-diff.js';
import { isUserTagKey } from './naming.js';

/**
 * The configuration of a DB instance that a rotation must carry over, normalised so that two
 * instances compare field by field. Identifiers, endpoint, ARNs, resource id, creation time and
 * the KMS key are not configuration: they are what changes.
 */
export interface InstanceConfig {
  dbInstanceClass: string;
  engine: string;
  engineVersion: string;
  /** RDS Extended Support enrolment; a restore defaults to `open-source-rds-extended-support`. */
  engineLifecycleSupport: string | null;
  licenseModel: string | null;
  port: number | null;
  multiAZ: boolean;
  dbSubnetGroupName: string | null;
  vpcSecurityGroupIds: string[];
  publiclyAccessible: boolean;
  networkType: string | null;
  dbParameterGroupName: string | null;
  optionGroupName: string | null;
  storageType: string | null;
  allocatedStorage: number | null;
  iops: number | null;
  storageThroughput: number | null;
  maxAllocatedStorage: number | null;
  dedicatedLogVolume: boolean;
  autoMinorVersionUpgrade: boolean;
  copyTagsToSnapshot: boolean;
  deletionProtection: boolean;
  iamDatabaseAuthenticationEnabled: boolean;
  enabledCloudwatchLogsExports: string[];
  backupRetentionPeriod: number | null;
  preferredBackupWindow: string | null;
  preferredMaintenanceWindow: string | null;
  caCertificateIdentifier: string | null;
  monitoringInterval: number;
  monitoringRoleArn: string | null;
  performanceInsightsEnabled: boolean;
  performanceInsightsRetentionPeriod: number | null;
  /** User tags; `rekey:*` and `aws:*` tags are left out. */
  tags: Record<string, string>;
}

export type ConfigField = keyof InstanceConfig;

/** Placement hints passed to the restore but not compared: Multi-AZ may place the primary elsewhere. */
export interface Placement {
  availabilityZone: string | null;
}

const sorted = (values: (string | undefined)[] | undefined): string[] =>
  (values ?? []).filter((v): v is string => typeof v === 'string' && v.length > 0).sort();

/** The user tags of an RDS resource, sorted by key. */
export const userTags = (tags: Tag[] | undefined): Record<string, string> => {
  const entries: [string, string][] = (tags ?? [])
    .filter((t) => t.Key && isUserTagKey(t.Key))
    .map((t) => [t.Key as string, t.Value ?? '']);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
};

export const captureInstanceConfig = (db: DBInstance): InstanceConfig => ({
  dbInstanceClass: db.DBInstanceClass ?? '',
  engine: db.Engine ?? '',
  engineVersion: db.EngineVersion ?? '',
  engineLifecycleSupport: db.EngineLifecycleSupport ?? null,
  licenseModel: db.LicenseModel ?? null,
  // DbInstancePort is 0 for instances outside a cluster: only a non-zero value is a port.
  port: db.Endpoint?.Port ?? (db.DbInstancePort || null),
  multiAZ: db.MultiAZ ?? false,
  dbSubnetGroupName: db.DBSubnetGroup?.DBSubnetGroupName ?? null,
  vpcSecurityGroupIds: sorted(db.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)),
  publiclyAccessible: db.PubliclyAccessible ?? false,
  networkType: db.NetworkType ?? null,
  dbParameterGroupName: db.DBParameterGroups?.[0]?.DBParameterGroupName ?? null,
  optionGroupName: db.OptionGroupMemberships?.[0]?.OptionGroupName ?? null,
  storageType: db.StorageType ?? null,
  allocatedStorage: db.AllocatedStorage ?? null,
  iops: db.Iops ?? null,
  storageThroughput: db.StorageThroughput ?? null,
  maxAllocatedStorage: db.MaxAllocatedStorage ?? null,
  dedicatedLogVolume: db.DedicatedLogVolume ?? false,
  autoMinorVersionUpgrade: db.AutoMinorVersionUpgrade ?? false,
  copyTagsToSnapshot: db.CopyTagsToSnapshot ?? false,
  deletionProtection: db.DeletionProtection ?? false,
  iamDatabaseAuthenticationEnabled: db.IAMDatabaseAuthenticationEnabled ?? false,
  enabledCloudwatchLogsExports: sorted(db.EnabledCloudwatchLogsExports),
  backupRetentionPeriod: db.BackupRetentionPeriod ?? null,
  preferredBackupWindow: db.PreferredBackupWindow ?? null,
  preferredMaintenanceWindow: db.PreferredMaintenanceWindow ?? null,
  caCertificateIdentifier: db.CACertificateIdentifier ?? null,
  monitoringInterval: db.MonitoringInterval ?? 0,
  monitoringRoleArn: db.MonitoringInterval ? (db.MonitoringRoleArn ?? null) : null,
  performanceInsightsEnabled: db.PerformanceInsightsEnabled ?? false,
  performanceInsightsRetentionPeriod: db.PerformanceInsightsEnabled
    ? (db.PerformanceInsightsRetentionPeriod ?? null)
    : null,
  tags: userTags(db.TagList),
});

export const capturePlacement = (db: DBInstance): Placement => ({
  availabilityZone: db.AvailabilityZone ?? null,
});

/**
 * gp3 volumes below an engine's threshold run at a fixed baseline, and RDS refuses an explicit
 * IOPS or throughput for them (Oracle: 200 GiB, SQL Server: none, others: 400 GiB). io1/io2
 * always take IOPS.
 */
export const takesExplicitIops = (config: InstanceConfig): boolean => {
  if (config.storageType === 'io1' || config.storageType === 'io2') return true;
  if (config.storageType !== 'gp3') return false;
  if (config.engine.startsWith('sqlserver')) return true;
  const threshold = config.engine.startsWith('oracle') ? 200 : 400;
  return (config.allocatedStorage ?? 0) >= threshold;
};

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;

/**
 * RestoreDBInstanceFromDBSnapshot parameters that reproduce `config`. The restore takes the
 * snapshot's KMS key (it has no `KmsKeyId`), and silently falls back to defaults (default VPC
 * security group, default parameter group, Single-AZ) for anything not passed here.
 */
export const restoreParameters = (
  config: InstanceConfig,
  placement: Placement,
  target: { dbInstanceIdentifier: string; snapshotIdentifier: string; tags: Tag[] },
): RestoreDBInstanceFromDBSnapshotMessage => {
  const explicitIops = takesExplicitIops(config);
  return defined({
    DBInstanceIdentifier: target.dbInstanceIdentifier,
    DBSnapshotIdentifier: target.snapshotIdentifier,
    DBInstanceClass: config.dbInstanceClass,
    Port: config.port ?? undefined,
    AvailabilityZone: config.multiAZ ? undefined : (placement.availabilityZone ?? undefined),
    MultiAZ: config.multiAZ,
    DBSubnetGroupName: config.dbSubnetGroupName ?? undefined,
    VpcSecurityGroupIds: config.vpcSecurityGroupIds.length > 0 ? config.vpcSecurityGroupIds : undefined,
    PubliclyAccessible: config.publiclyAccessible,
    NetworkType: config.networkType ?? undefined,
    DBParameterGroupName: config.dbParameterGroupName ?? undefined,
    // A `default:*` option group is what the restore picks anyway; naming it is refused by some
    // engines' versions (and by the emulator). A custom group is always passed.
    OptionGroupName: config.optionGroupName?.startsWith('default:')
      ? undefined
      : (config.optionGroupName ?? undefined),
    LicenseModel: config.licenseModel ?? undefined,
    EngineLifecycleSupport: config.engineLifecycleSupport ?? undefined,
    StorageType: config.storageType ?? undefined,
    AllocatedStorage: config.allocatedStorage ?? undefined,
    Iops: explicitIops ? (config.iops ?? undefined) : undefined,
    StorageThroughput:
      explicitIops && config.storageType === 'gp3' ? (config.storageThroughput ?? undefined) : undefined,
    DedicatedLogVolume: config.dedicatedLogVolume || undefined,
    AutoMinorVersionUpgrade: config.autoMinorVersionUpgrade,
    CopyTagsToSnapshot: config.copyTagsToSnapshot,
    DeletionProtection: config.deletionProtection,
    EnableIAMDatabaseAuthentication: config.iamDatabaseAuthenticationEnabled,
    EnableCloudwatchLogsExports:
      config.enabledCloudwatchLogsExports.length > 0 ? config.enabledCloudwatchLogsExports : undefined,
    BackupRetentionPeriod: config.backupRetentionPeriod ?? undefined,
    PreferredBackupWindow: config.preferredBackupWindow ?? undefined,
    CACertificateIdentifier: config.caCertificateIdentifier ?? undefined,
    Tags: target.tags,
  });
};

export type ConfigDifference = Difference<ConfigField>;

/** Every field where `actual` differs from `expected`. */
export const diffConfig = (expected: InstanceConfig, actual: InstanceConfig): ConfigDifference[] =>
  diffFields(expected, actual);

/** A diff as a person reads it: one line per field. */
export const formatDiff = (differences: ConfigDifference[]): string => formatDifferences(differences);

/**
 * ModifyDBInstance parameters that bring an instance to `expected`, for the fields a restore does
 * not take (monitoring, Performance Insights, max allocated storage, maintenance window) and for
 * any restore parameter the service did not honour. Storage size/type changes are left out on
 * purpose: they start a storage optimisation that can last hours; validation reports them instead.
 * `performanceInsightsKmsKeyId` is the new key, so Performance Insights data moves off the old key too.
 */
export const modifyParameters = (
  differences: ConfigDifference[],
  expected: InstanceConfig,
  performanceInsightsKmsKeyId: string,
): Partial<ModifyDBInstanceMessage> => {
  const params: Partial<ModifyDBInstanceMessage> = {};
  for (const { field, actual } of differences) {
    switch (field) {
      case 'dbInstanceClass':
        params.DBInstanceClass = expected.dbInstanceClass;
        break;
      case 'port':
        if (expected.port !== null) params.DBPortNumber = expected.port;
        break;
      case 'multiAZ':
        params.MultiAZ = expected.multiAZ;
        break;
      case 'dbSubnetGroupName':
        if (expected.dbSubnetGroupName) params.DBSubnetGroupName = expected.dbSubnetGroupName;
        break;
      case 'vpcSecurityGroupIds':
        params.VpcSecurityGroupIds = expected.vpcSecurityGroupIds;
        break;
      case 'publiclyAccessible':
        params.PubliclyAccessible = expected.publiclyAccessible;
        break;
      case 'networkType':
        if (expected.networkType) params.NetworkType = expected.networkType;
        break;
      case 'dbParameterGroupName':
        if (expected.dbParameterGroupName) params.DBParameterGroupName = expected.dbParameterGroupName;
        break;
      case 'optionGroupName':
        if (expected.optionGroupName) params.OptionGroupName = expected.optionGroupName;
        break;
      case 'maxAllocatedStorage':
        // RDS turns storage autoscaling off when MaxAllocatedStorage equals AllocatedStorage.
        params.MaxAllocatedStorage = expected.maxAllocatedStorage ?? expected.allocatedStorage ?? undefined;
        break;
      case 'dedicatedLogVolume':
        params.DedicatedLogVolume = expected.dedicatedLogVolume;
        break;
      case 'engineLifecycleSupport':
        if (expected.engineLifecycleSupport) params.EngineLifecycleSupport = expected.engineLifecycleSupport;
        break;
      case 'autoMinorVersionUpgrade':
        params.AutoMinorVersionUpgrade = expected.autoMinorVersionUpgrade;
        break;
      case 'copyTagsToSnapshot':
        params.CopyTagsToSnapshot = expected.copyTagsToSnapshot;
        break;
      case 'deletionProtection':
        params.DeletionProtection = expected.deletionProtection;
        break;
      case 'iamDatabaseAuthenticationEnabled':
        params.EnableIAMDatabaseAuthentication = expected.iamDatabaseAuthenticationEnabled;
        break;
      case 'enabledCloudwatchLogsExports': {
        const current = new Set(actual as string[]);
        const wanted = new Set(expected.enabledCloudwatchLogsExports);
        params.CloudwatchLogsExportConfiguration = {
          EnableLogTypes: [...wanted].filter((t) => !current.has(t)),
          DisableLogTypes: [...current].filter((t) => !wanted.has(t)),
        };
        break;
      }
      case 'backupRetentionPeriod':
        if (expected.backupRetentionPeriod !== null)
          params.BackupRetentionPeriod = expected.backupRetentionPeriod;
        break;
      case 'preferredBackupWindow':
        if (expected.preferredBackupWindow) params.PreferredBackupWindow = expected.preferredBackupWindow;
        break;
      case 'preferredMaintenanceWindow':
        if (expected.preferredMaintenanceWindow)
          params.PreferredMaintenanceWindow = expected.preferredMaintenanceWindow;
        break;
      case 'caCertificateIdentifier':
        if (expected.caCertificateIdentifier)
          params.CACertificateIdentifier = expected.caCertificateIdentifier;
        break;
      case 'monitoringInterval':
      case 'monitoringRoleArn':
      case 'performanceInsightsEnabled':
      case 'performanceInsightsRetentionPeriod':
        Object.assign(params, monitoringParameters(field, expected, performanceInsightsKmsKeyId));
        break;
      default:
        // engine, engineVersion, licenseModel, storage, tags: not changed here; validation reports them.
        break;
    }
  }
  return params;
};

/** The monitoring settings ModifyDBInstance takes, shared by standalone and Aurora member instances. */
export interface MonitoringSettings {
  monitoringInterval: number;
  monitoringRoleArn: string | null;
  performanceInsightsEnabled: boolean;
  performanceInsightsRetentionPeriod: number | null;
}

/**
 * ModifyDBInstance parameters that restore Enhanced Monitoring (`monitoring*` fields) or
 * Performance Insights (`performanceInsights*`, under `kmsKeyId`: the new key) to `expected`.
 */
export const monitoringParameters = (
  field: string,
  expected: MonitoringSettings,
  kmsKeyId: string | undefined,
): Partial<ModifyDBInstanceMessage> => {
  if (field.startsWith('monitoring')) {
    return {
      MonitoringInterval: expected.monitoringInterval,
      ...(expected.monitoringInterval > 0 &&
        expected.monitoringRoleArn && { MonitoringRoleArn: expected.monitoringRoleArn }),
    };
  }
  if (!expected.performanceInsightsEnabled) return { EnablePerformanceInsights: false };
  return {
    EnablePerformanceInsights: true,
    ...(kmsKeyId && { PerformanceInsightsKMSKeyId: kmsKeyId }),
    ...(expected.performanceInsightsRetentionPeriod !== null && {
      PerformanceInsightsRetentionPeriod: expected.performanceInsightsRetentionPeriod,
    }),
  };
};
