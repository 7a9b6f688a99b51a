import type { DBInstance, DBSnapshot } from '@aws-sdk/client-rds';
import type { InstanceConfig } from '#domain/instance-config.js';
import type { InstanceState } from '#domain/state.js';

/**
 * A DescribeDBInstances answer for an instance whose configuration is `config`: the inverse of
 * `captureInstanceConfig` (the instance-config tests check the round trip), for mocking the new
 * instance in the step tests.
 */
export const dbInstanceFrom = (config: InstanceConfig, overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceClass: config.dbInstanceClass,
  Engine: config.engine,
  EngineVersion: config.engineVersion,
  EngineLifecycleSupport: config.engineLifecycleSupport ?? undefined,
  LicenseModel: config.licenseModel ?? undefined,
  Endpoint: config.port === null ? undefined : { Address: 'example.rds.amazonaws.com', Port: config.port },
  MultiAZ: config.multiAZ,
  DBSubnetGroup: config.dbSubnetGroupName ? { DBSubnetGroupName: config.dbSubnetGroupName } : undefined,
  VpcSecurityGroups: config.vpcSecurityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
  PubliclyAccessible: config.publiclyAccessible,
  NetworkType: config.networkType ?? undefined,
  DBParameterGroups: config.dbParameterGroupName
    ? [{ DBParameterGroupName: config.dbParameterGroupName, ParameterApplyStatus: 'in-sync' }]
    : [],
  OptionGroupMemberships: config.optionGroupName
    ? [{ OptionGroupName: config.optionGroupName, Status: 'in-sync' }]
    : [],
  StorageType: config.storageType ?? undefined,
  AllocatedStorage: config.allocatedStorage ?? undefined,
  Iops: config.iops ?? undefined,
  StorageThroughput: config.storageThroughput ?? undefined,
  MaxAllocatedStorage: config.maxAllocatedStorage ?? undefined,
  DedicatedLogVolume: config.dedicatedLogVolume,
  AutoMinorVersionUpgrade: config.autoMinorVersionUpgrade,
  CopyTagsToSnapshot: config.copyTagsToSnapshot,
  DeletionProtection: config.deletionProtection,
  IAMDatabaseAuthenticationEnabled: config.iamDatabaseAuthenticationEnabled,
  EnabledCloudwatchLogsExports: [...config.enabledCloudwatchLogsExports],
  BackupRetentionPeriod: config.backupRetentionPeriod ?? undefined,
  PreferredBackupWindow: config.preferredBackupWindow ?? undefined,
  PreferredMaintenanceWindow: config.preferredMaintenanceWindow ?? undefined,
  CACertificateIdentifier: config.caCertificateIdentifier ?? undefined,
  MonitoringInterval: config.monitoringInterval,
  MonitoringRoleArn: config.monitoringRoleArn ?? undefined,
  PerformanceInsightsEnabled: config.performanceInsightsEnabled,
  PerformanceInsightsRetentionPeriod: config.performanceInsightsRetentionPeriod ?? undefined,
  TagList: Object.entries(config.tags).map(([Key, Value]) => ({ Key, Value })),
  ...overrides,
});

/** The new instance as this rotation restored it and configured it: available, under the new key, tagged. */
export const newInstanceOf = (state: InstanceState, overrides: Partial<DBInstance> = {}): DBInstance => {
  const { plan } = state;
  const id = plan.names.newDbInstanceIdentifier;
  const config = plan.source.config;
  return dbInstanceFrom(config, {
    DBInstanceIdentifier: id,
    DBInstanceArn: `arn:aws:rds:${plan.region}:${plan.accountId}:db:${id}`,
    DBInstanceStatus: 'available',
    Endpoint: { Address: `${id}.abcdefghij.${plan.region}.rds.amazonaws.com`, Port: config.port ?? 5432 },
    StorageEncrypted: true,
    KmsKeyId: state.newKey?.keyArn,
    PendingModifiedValues: {},
    TagList: [
      ...Object.entries(config.tags).map(([Key, Value]) => ({ Key, Value })),
      { Key: 'rekey:rotation-id', Value: plan.rotationId },
      { Key: 'rekey:source-db', Value: plan.source.dbInstanceIdentifier },
      { Key: 'rekey:role', Value: 'new-instance' },
    ],
    ...overrides,
  });
};

/** A snapshot this rotation created under `identifier`. */
export const rotationSnapshot = (
  state: InstanceState,
  identifier: string,
  role: string,
  overrides: Partial<DBSnapshot> = {},
): DBSnapshot => ({
  DBSnapshotIdentifier: identifier,
  DBSnapshotArn: `arn:aws:rds:${state.plan.region}:${state.plan.accountId}:snapshot:${identifier}`,
  DBInstanceIdentifier: state.plan.source.dbInstanceIdentifier,
  Status: 'available',
  Encrypted: true,
  KmsKeyId: state.plan.source.kmsKeyArn,
  TagList: [
    { Key: 'rekey:rotation-id', Value: state.plan.rotationId },
    { Key: 'rekey:source-db', Value: state.plan.source.dbInstanceIdentifier },
    { Key: 'rekey:role', Value: role },
  ],
  ...overrides,
});
