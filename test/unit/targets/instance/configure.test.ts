import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConfigureResult } from '#domain/results.js';
import { configureDatabase } from '#strategies/snapshot/configure-database.js';
import { newInstanceOf } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const NEW_ID = 'orders-db-rk05e5c03bc0';
const NEW_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const APPLIED_FIRST = [
  'maxAllocatedStorage',
  'preferredMaintenanceWindow',
  'monitoringInterval',
  'monitoringRoleArn',
  'performanceInsightsEnabled',
  'performanceInsightsRetentionPeriod',
];

const state = (configure?: ConfigureResult) => ({ ...stepEvent('configure-database'), configure });
/** The instance as RestoreDBInstanceFromDBSnapshot leaves it: none of what the restore cannot take, parameters pending a reboot. */
const justRestored = (overrides: Partial<DBInstance> = {}): DBInstance =>
  newInstanceOf(stepEvent('configure-database'), {
    MonitoringInterval: 0,
    MonitoringRoleArn: undefined,
    PerformanceInsightsEnabled: false,
    PerformanceInsightsRetentionPeriod: undefined,
    MaxAllocatedStorage: undefined,
    PreferredMaintenanceWindow: 'wed:07:10-wed:07:40',
    DBParameterGroups: [
      { DBParameterGroupName: 'orders-postgres16', ParameterApplyStatus: 'pending-reboot' },
    ],
    ...overrides,
  });
/** After the ModifyDBInstance: everything applied except Performance Insights, which this describe does not report. */
const modified = (parameterApplyStatus = 'pending-reboot'): DBInstance =>
  newInstanceOf(stepEvent('configure-database'), {
    PerformanceInsightsEnabled: undefined,
    PerformanceInsightsRetentionPeriod: undefined,
    DBParameterGroups: [
      { DBParameterGroupName: 'orders-postgres16', ParameterApplyStatus: parameterApplyStatus },
    ],
  });
const afterModify: ConfigureResult = {
  done: false,
  applied: APPLIED_FIRST,
  rebooted: false,
  status: 'modifying',
  poll: {
    attempt: 1,
    waitSeconds: 300,
    lastStatus: 'modifying',
    // The modify was asked for just now.
    expected: { seconds: 600, from: new Date().toISOString() },
  },
};

describe('configure-instance', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('applies monitoring, Performance Insights under the NEW key, max storage and maintenance window in one modify', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [justRestored()] });
    rds.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await configureDatabase(state());

    // Assess
    expect(result).toMatchObject({
      done: false,
      applied: APPLIED_FIRST,
      rebooted: false,
      status: 'modifying',
      // The expected modification (DOWNTIME_ASSUMPTIONS.configureSeconds, 600 s) in two steps.
      poll: { attempt: 1, waitSeconds: 300, expected: { seconds: 600 } },
    });
    expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
    expect(rds.commandCalls(ModifyDBInstanceCommand)[0]?.args[0].input).toEqual({
      DBInstanceIdentifier: NEW_ID,
      ApplyImmediately: true,
      MonitoringInterval: 60,
      MonitoringRoleArn: 'arn:aws:iam::123456789012:role/rds-monitoring-role',
      EnablePerformanceInsights: true,
      PerformanceInsightsKMSKeyId: NEW_KEY,
      PerformanceInsightsRetentionPeriod: 7,
      MaxAllocatedStorage: 200,
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
    });
    expect(rds).not.toHaveReceivedCommand(RebootDBInstanceCommand);
  });

  it('waits, without modifying, while the new instance is not settled', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [justRestored({ DBInstanceStatus: 'configuring-enhanced-monitoring' })],
    });

    // Act
    const result = await configureDatabase(state(afterModify));

    // Assess
    expect(result).toMatchObject({
      done: false,
      status: 'configuring-enhanced-monitoring',
      applied: APPLIED_FIRST,
      // Still aimed at the modify's expected end: 600 s from the modify call, in two steps.
      poll: { attempt: 2, waitSeconds: 300, expected: { seconds: 600 } },
    });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('waits while a modification is still pending on an available instance', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [justRestored({ PendingModifiedValues: { MultiAZ: true } })],
    });

    // Act
    const result = await configureDatabase(state());

    // Assess
    expect(result).toMatchObject({ done: false, status: 'available', applied: [] });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('does not re-apply a field RDS did not honour, and reboots once for pending-reboot parameters', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [modified()] });
    rds.on(RebootDBInstanceCommand).resolves({});

    // Act
    const result = await configureDatabase(state(afterModify));

    // Assess
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    expect(rds).toHaveReceivedCommandWith(RebootDBInstanceCommand, { DBInstanceIdentifier: NEW_ID });
    expect(result).toMatchObject({
      done: false,
      applied: APPLIED_FIRST,
      rebooted: true,
      status: 'rebooting',
      // The attempts carry on; the checks now aim at the reboot's expected end (120 s), from the reboot call.
      poll: { attempt: 2, waitSeconds: 120, expected: { seconds: 120 } },
    });
  });

  it('is done, without a second reboot, once it has rebooted', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [modified('pending-reboot')] });

    // Act
    const result = await configureDatabase(state({ ...afterModify, rebooted: true, status: 'rebooting' }));

    // Assess
    expect(result).toEqual({ done: true, applied: APPLIED_FIRST, rebooted: true, status: 'available' });
    expect(rds).not.toHaveReceivedCommand(RebootDBInstanceCommand);
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('reports what it applied even when the answer of its ModifyDBInstance was lost', async () => {
    // Prepare: the restore left two fields different; the modify went through but its answer was
    // lost, so the retry runs with the same input (no configure result) and finds nothing to apply.
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [newInstanceOf(stepEvent('configure-database'))] });
    const retried = stepEvent('configure-database');
    retried.restore = {
      done: true,
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: null,
      status: 'available',
      differencesAfterRestore: ['maxAllocatedStorage', 'preferredMaintenanceWindow', 'tags'],
    };

    // Act
    const result = await configureDatabase(retried);

    // Assess: tags are not this step's to apply, so they are not claimed.
    expect(result).toEqual({
      done: true,
      applied: ['maxAllocatedStorage', 'preferredMaintenanceWindow'],
      rebooted: false,
      status: 'available',
    });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('is done at once when the restore already matches the source', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [newInstanceOf(stepEvent('configure-database'))] });

    // Act
    const result = await configureDatabase(state());

    // Assess
    expect(result).toEqual({ done: true, applied: [], rebooted: false, status: 'available' });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('applies a restore parameter the service did not honour (a default parameter group)', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        newInstanceOf(stepEvent('configure-database'), {
          DBParameterGroups: [
            { DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' },
          ],
        }),
      ],
    });
    rds.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const result = await configureDatabase(state());

    // Assess
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: NEW_ID,
      DBParameterGroupName: 'orders-postgres16',
      ApplyImmediately: true,
    });
    expect(result.applied).toEqual(['dbParameterGroupName']);
  });

  it('keeps waiting, without recording the fields as applied, when RDS says the instance is busy', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [justRestored()] });
    rds
      .on(ModifyDBInstanceCommand)
      .rejects(new InvalidDBInstanceStateFault({ message: 'Instance is not available', $metadata: {} }));

    // Act
    const result = await configureDatabase(state());

    // Assess
    expect(result).toMatchObject({ done: false, applied: [] });
  });

  it('fails with ValidationFailedError, naming the fields, when RDS refuses a value', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [justRestored()] });
    rds.on(ModifyDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        message: 'Performance Insights not supported for this configuration.',
        $metadata: {},
      }),
    );

    // Act / Assess
    await expect(configureDatabase(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringMatching(
        /InvalidParameterCombination.*performanceInsightsEnabled: expected true, found false/,
      ),
    });
  });

  it('fails with PreconditionFailedError when the new instance has disappeared', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));

    // Act / Assess
    await expect(configureDatabase(state())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(`${NEW_ID} no longer exists`),
    });
  });

  it('fails with ResourceFailedError when the new instance reaches a terminal status', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [justRestored({ DBInstanceStatus: 'storage-full' })] });

    // Act / Assess
    await expect(configureDatabase(state())).rejects.toMatchObject({ name: 'ResourceFailedError' });
  });

  it('gives up with WaitTimeoutError after its iteration cap', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [justRestored({ DBInstanceStatus: 'modifying' })] });

    // Act / Assess
    await expect(
      configureDatabase(
        state({ ...afterModify, poll: { attempt: 80, waitSeconds: 300, lastStatus: 'modifying' } }),
      ),
    ).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });
});
