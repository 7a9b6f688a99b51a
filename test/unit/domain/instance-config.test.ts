import { describe, expect, it } from 'vitest';
import {
  captureInstanceConfig,
  diffConfig,
  formatDiff,
  type InstanceConfig,
  modifyParameters,
  restoreParameters,
  takesExplicitIops,
} from '#domain/instance-config.js';
import { dbInstanceFrom } from '../../support/db-instance.js';
import { stepEvent } from '../../support/events.js';

const source = (): InstanceConfig => stepEvent('restore-database').plan.source.config;
const NEW_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const target = { dbInstanceIdentifier: 'orders-db-rk1', snapshotIdentifier: 'copy', tags: [] };

describe('captureInstanceConfig', () => {
  it('round-trips the sample configuration (the test helper is its inverse)', () => {
    // Prepare
    const config = source();

    // Act
    const captured = captureInstanceConfig(dbInstanceFrom(config));

    // Assess
    expect(captured).toEqual(config);
  });

  it('normalises: sorted security groups and log exports, rekey: and aws: tags dropped', () => {
    // Prepare
    const db = dbInstanceFrom(source(), {
      VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-b' }, { VpcSecurityGroupId: 'sg-a' }],
      EnabledCloudwatchLogsExports: ['upgrade', 'postgresql'],
      TagList: [
        { Key: 'team', Value: 'orders' },
        { Key: 'rekey:rotation-id', Value: 'rk1' },
        { Key: 'aws:cloudformation:stack-name', Value: 'orders' },
        { Key: 'environment', Value: 'production' },
      ],
    });

    // Act
    const captured = captureInstanceConfig(db);

    // Assess
    expect(captured.vpcSecurityGroupIds).toEqual(['sg-a', 'sg-b']);
    expect(captured.enabledCloudwatchLogsExports).toEqual(['postgresql', 'upgrade']);
    expect(captured.tags).toEqual({ environment: 'production', team: 'orders' });
    expect(Object.keys(captured.tags)).toEqual(['environment', 'team']);
  });

  it('ignores a leftover monitoring role and PI retention when monitoring and PI are off', () => {
    // Prepare
    const db = dbInstanceFrom(source(), {
      MonitoringInterval: 0,
      MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring-role',
      PerformanceInsightsEnabled: false,
      PerformanceInsightsRetentionPeriod: 7,
    });

    // Act
    const captured = captureInstanceConfig(db);

    // Assess
    expect(captured).toMatchObject({
      monitoringInterval: 0,
      monitoringRoleArn: null,
      performanceInsightsEnabled: false,
      performanceInsightsRetentionPeriod: null,
    });
  });
});

describe('takesExplicitIops and restoreParameters', () => {
  it.each([
    ['postgres', 'gp3', 399, false],
    ['postgres', 'gp3', 400, true],
    ['mysql', 'gp3', 1000, true],
    ['oracle-ee', 'gp3', 199, false],
    ['oracle-ee', 'gp3', 200, true],
    ['sqlserver-se', 'gp3', 20, true],
    ['postgres', 'io1', 100, true],
    ['postgres', 'io2', 100, true],
    ['postgres', 'gp2', 1000, false],
  ])('%s on %s with %i GiB takes explicit IOPS: %s', (engine, storageType, allocatedStorage, expected) => {
    // Prepare
    const config = { ...source(), engine, storageType, allocatedStorage };

    // Act / Assess
    expect(takesExplicitIops(config)).toBe(expected);
  });

  it('leaves IOPS and throughput out for gp3 below the threshold (RDS refuses them there)', () => {
    // Prepare
    const config = { ...source(), allocatedStorage: 50, iops: 3000, storageThroughput: 125 };

    // Act
    const params = restoreParameters(config, { availabilityZone: 'us-east-1a' }, target);

    // Assess
    expect(params).not.toHaveProperty('Iops');
    expect(params).not.toHaveProperty('StorageThroughput');
  });

  it('passes IOPS and throughput for gp3 at or above the threshold, and IOPS only for io1', () => {
    // Prepare
    const gp3 = { ...source(), allocatedStorage: 500, iops: 12000, storageThroughput: 500 };
    const io1 = {
      ...source(),
      storageType: 'io1',
      allocatedStorage: 100,
      iops: 5000,
      storageThroughput: 125,
    };

    // Act
    const gp3Params = restoreParameters(gp3, { availabilityZone: null }, target);
    const io1Params = restoreParameters(io1, { availabilityZone: null }, target);

    // Assess
    expect(gp3Params).toMatchObject({ Iops: 12000, StorageThroughput: 500 });
    expect(io1Params).toMatchObject({ Iops: 5000 });
    expect(io1Params).not.toHaveProperty('StorageThroughput');
  });

  it('passes the Availability Zone only for a Single-AZ instance, and never a KmsKeyId', () => {
    // Prepare
    const placement = { availabilityZone: 'us-east-1a' };

    // Act
    const singleAz = restoreParameters(source(), placement, target);
    const multiAz = restoreParameters({ ...source(), multiAZ: true }, placement, target);

    // Assess
    expect(singleAz).toMatchObject({ AvailabilityZone: 'us-east-1a', MultiAZ: false });
    expect(multiAz).toMatchObject({ MultiAZ: true });
    expect(multiAz).not.toHaveProperty('AvailabilityZone');
    expect(singleAz).not.toHaveProperty('KmsKeyId');
  });
});

describe('diffConfig and formatDiff', () => {
  it('finds no difference between equal configurations', () => {
    // Act / Assess
    expect(diffConfig(source(), source())).toEqual([]);
  });

  it('reports each differing field with both values, one line per field', () => {
    // Prepare
    const actual = {
      ...source(),
      multiAZ: true,
      dbParameterGroupName: 'default.postgres16',
      tags: { team: 'orders' },
    };

    // Act
    const differences = diffConfig(source(), actual);

    // Assess
    expect(differences.map((d) => d.field)).toEqual(['multiAZ', 'dbParameterGroupName', 'tags']);
    expect(formatDiff(differences)).toBe(
      'multiAZ: expected false, found true; ' +
        'dbParameterGroupName: expected "orders-postgres16", found "default.postgres16"; ' +
        'tags: expected {"environment":"production","team":"orders"}, found {"team":"orders"}',
    );
  });
});

describe('modifyParameters', () => {
  it('enables the missing log exports and disables the extra ones', () => {
    // Prepare
    const actual = { ...source(), enabledCloudwatchLogsExports: ['iam-db-auth-error', 'postgresql'] };

    // Act
    const params = modifyParameters(diffConfig(source(), actual), source(), NEW_KEY);

    // Assess
    expect(params).toEqual({
      CloudwatchLogsExportConfiguration: {
        EnableLogTypes: ['upgrade'],
        DisableLogTypes: ['iam-db-auth-error'],
      },
    });
  });

  it('turns on Performance Insights under the given (new) key and monitoring with its role', () => {
    // Prepare
    const actual = {
      ...source(),
      monitoringInterval: 0,
      monitoringRoleArn: null,
      performanceInsightsEnabled: false,
      performanceInsightsRetentionPeriod: null,
    };

    // Act
    const params = modifyParameters(diffConfig(source(), actual), source(), NEW_KEY);

    // Assess
    expect(params).toEqual({
      MonitoringInterval: 60,
      MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring-role',
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: NEW_KEY,
      PerformanceInsightsRetentionPeriod: 7,
    });
  });

  it('turns monitoring off without a role when the source has none', () => {
    // Prepare
    const expected = { ...source(), monitoringInterval: 0, monitoringRoleArn: null };

    // Act
    const params = modifyParameters(diffConfig(expected, source()), expected, NEW_KEY);

    // Assess
    expect(params).toEqual({ MonitoringInterval: 0 });
  });

  it('turns storage autoscaling off (max = allocated) when the source has none', () => {
    // Prepare
    const expected = { ...source(), maxAllocatedStorage: null };

    // Act
    const params = modifyParameters(diffConfig(expected, source()), expected, NEW_KEY);

    // Assess
    expect(params).toEqual({ MaxAllocatedStorage: 50 });
  });

  it('never changes storage size, type, engine or tags (validation reports them)', () => {
    // Prepare
    const actual = {
      ...source(),
      allocatedStorage: 100,
      storageType: 'gp2',
      engineVersion: '16.4',
      tags: {},
    };

    // Act
    const params = modifyParameters(diffConfig(source(), actual), source(), NEW_KEY);

    // Assess
    expect(params).toEqual({});
  });
});

describe('parity details', () => {
  it('treats tags in another order (including digit-only keys) as the same configuration', () => {
    // Prepare
    const a = { ...source(), tags: { team: 'orders', '2024': 'budget', env: 'prod' } };
    const b = { ...source(), tags: { env: 'prod', '2024': 'budget', team: 'orders' } };

    // Act / Assess
    expect(diffConfig(a, b)).toEqual([]);
  });

  it('reads a zero DbInstancePort (instances outside a cluster) as no port', () => {
    expect(captureInstanceConfig({ DbInstancePort: 0 }).port).toBeNull();
  });

  it('carries the Extended Support choice into the restore, and leaves a default option group out', () => {
    // Prepare
    const config = {
      ...source(),
      engineLifecycleSupport: 'open-source-rds-extended-support-disabled',
      optionGroupName: 'default:postgres-16',
    };

    // Act
    const params = restoreParameters(config, { availabilityZone: null }, target);

    // Assess
    expect(params.EngineLifecycleSupport).toBe('open-source-rds-extended-support-disabled');
    expect(params).not.toHaveProperty('OptionGroupName');
    expect(
      restoreParameters({ ...config, optionGroupName: 'orders-options' }, { availabilityZone: null }, target),
    ).toMatchObject({ OptionGroupName: 'orders-options' });
  });

  it('applies a dedicated log volume and the Extended Support choice with ModifyDBInstance', () => {
    // Prepare
    const expected = {
      ...source(),
      dedicatedLogVolume: true,
      engineLifecycleSupport: 'open-source-rds-extended-support-disabled',
    };
    const actual = {
      ...source(),
      dedicatedLogVolume: false,
      engineLifecycleSupport: 'open-source-rds-extended-support',
    };

    // Act
    const params = modifyParameters(diffConfig(expected, actual), expected, NEW_KEY);

    // Assess
    expect(params).toEqual({
      DedicatedLogVolume: true,
      EngineLifecycleSupport: 'open-source-rds-extended-support-disabled',
    });
  });
});
