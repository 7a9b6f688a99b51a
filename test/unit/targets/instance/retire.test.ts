import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  KMSKeyNotAccessibleFault,
  ModifyDBInstanceCommand,
  RDSClient,
  RDSServiceException,
  StartDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RotationState } from '#domain/state.js';
import { retireDatabase } from '#strategies/snapshot/retire-database.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);

const SOURCE_RESOURCE_ID = 'db-ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const source = (overrides: Partial<DBInstance> = {}) => ({
  DBInstances: [
    {
      DBInstanceIdentifier: 'orders-db',
      DbiResourceId: SOURCE_RESOURCE_ID,
      DBInstanceStatus: 'available',
      DeletionProtection: false,
      // What the Cutover tags the old source with once clients use the new instance.
      TagList: [
        { Key: 'rekey:role', Value: 'retired-source' },
        { Key: 'rekey:retired-by', Value: stepEvent('retire-database').plan.rotationId },
      ],
      ...overrides,
    },
  ],
});
const notFound = () =>
  new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found.', $metadata: {} });
const writes = [StartDBInstanceCommand, ModifyDBInstanceCommand, DeleteDBInstanceCommand] as const;
const expectNoWrite = () => {
  for (const command of writes) expect(rds).not.toHaveReceivedCommand(command);
};

describe('retire-instance', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('keeps an old instance the cutover did not mark retired, deletes nothing, and says how to finish', async () => {
    // Prepare: no rekey:role=retired-source tag (IAM would refuse the delete anyway).
    rds.on(DescribeDBInstancesCommand).resolves(source({ TagList: [{ Key: 'team', Value: 'orders' }] }));

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: true, outcome: 'retained', status: 'available' });
    expect(result.reason).toMatch(
      /^orders-db does not carry the tags rekey:role=retired-source and rekey:retired-by=rk/,
    );
    expectNoWrite();
  });

  it('deletes the old instance without a final snapshot and with its automated backups, then polls', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    rds.on(DeleteDBInstanceCommand).resolves({});

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toEqual({
      done: false,
      outcome: 'deleted',
      status: 'deleting',
      poll: { attempt: 1, waitSeconds: 15, lastStatus: 'deleting', since: expect.any(String) },
    });
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('deletes a stopped instance directly, without starting it', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'stopped' }));
    rds.on(DeleteDBInstanceCommand).resolves({});

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'deleting' });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('lifts deletion protection and deletes in the same call once RDS reports it off', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DeletionProtection: true }));
    rds.on(ModifyDBInstanceCommand).resolves({ DBInstance: { DeletionProtection: false } });
    rds.on(DeleteDBInstanceCommand).resolves({});

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'deleting' });
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      DeletionProtection: false,
      ApplyImmediately: true,
    });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
  });

  it('waits, without deleting, while RDS still reports deletion protection on after the modify', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DeletionProtection: true }));
    rds.on(ModifyDBInstanceCommand).resolves({ DBInstance: { DeletionProtection: true } });

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'available', poll: { attempt: 1 } });
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('keeps a stopped instance whose protection was turned on again, without starting it, and says how to finish', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves(source({ DBInstanceStatus: 'stopped', DeletionProtection: true }));

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({
      done: true,
      outcome: 'retained',
      status: 'stopped',
      reason: expect.stringContaining('RDS cannot modify a stopped instance'),
    });
    expect(result.reason).toContain('--no-deletion-protection');
    expectNoWrite();
  });

  it('waits while the instance is deleting, without calling delete again', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'deleting' }));
    const state = stepEvent('retire-database');
    state.retireInstance = {
      done: false,
      outcome: 'deleted',
      status: 'deleting',
      poll: { attempt: 2, waitSeconds: 30, lastStatus: 'deleting' },
    };

    // Act
    const result = await retireDatabase(state);

    // Assess
    expect(result).toMatchObject({ done: false, status: 'deleting', poll: { attempt: 3, waitSeconds: 60 } });
    expectNoWrite();
  });

  it('is done when a re-run finds the instance already deleted', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).rejects(notFound());

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toEqual({ done: true, outcome: 'deleted', status: 'deleted' });
    expectNoWrite();
  });

  it('keeps polling when DeleteDBInstance says the instance is already being deleted', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    rds.on(DeleteDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        message: 'Instance orders-db is already being deleted.',
        $metadata: {},
      }),
    );

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, outcome: 'deleted', poll: { attempt: 1 } });
  });

  it('is done when the instance disappears between the check and the delete', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    rds.on(DeleteDBInstanceCommand).rejects(notFound());

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toEqual({ done: true, outcome: 'deleted', status: 'deleted' });
  });

  it('keeps polling when the delete is refused because protection was turned on again meanwhile', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    rds.on(DeleteDBInstanceCommand).rejects(
      new RDSServiceException({
        name: 'InvalidParameterCombination',
        $fault: 'client',
        message: 'Cannot delete protected DB Instance, please disable deletion protection and try again.',
        $metadata: {},
      }),
    );

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'available' });
  });

  it('keeps polling, without deleting, when the modify is refused because the instance is busy', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves(source({ DBInstanceStatus: 'backing-up', DeletionProtection: true }));
    rds
      .on(ModifyDBInstanceCommand)
      .rejects(
        new InvalidDBInstanceStateFault({ message: 'Instance orders-db is not available.', $metadata: {} }),
      );

    // Act
    const result = await retireDatabase(stepEvent('retire-database'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'backing-up' });
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('lets an unexpected delete error through with its own name', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    rds
      .on(DeleteDBInstanceCommand)
      .rejects(new KMSKeyNotAccessibleFault({ message: 'The key is not accessible.', $metadata: {} }));

    // Act / Assess
    await expect(retireDatabase(stepEvent('retire-database'))).rejects.toMatchObject({
      name: 'KMSKeyNotAccessibleFault',
    });
  });

  it('refuses to delete anything when the cutover was not verified', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    const state = stepEvent('retire-database');
    if (state.cutover) state.cutover.verified = false;

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('the cutover was not verified'),
    });
    expectNoWrite();
  });

  it('refuses to delete anything when there was no cutover at all', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source());
    const state: RotationState = stepEvent('retire-database');
    delete state.cutover;

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({ name: 'PreconditionFailedError' });
    expectNoWrite();
  });

  it('refuses to delete an instance that reuses the identifier but is not the source (DbiResourceId)', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DbiResourceId: 'db-SOMEONEELSESDATABASE0000' }));

    // Act / Assess
    await expect(retireDatabase(stepEvent('retire-database'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('db-SOMEONEELSESDATABASE0000'),
    });
    expectNoWrite();
  });

  it('refuses to delete the new instance of this rotation', async () => {
    // Prepare
    const state = stepEvent('retire-database');
    state.plan.source.dbInstanceIdentifier = state.plan.names.newDbInstanceIdentifier;

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({ name: 'PreconditionFailedError' });
    expect(rds.calls()).toHaveLength(0);
  });

  it('deletes without the resource-id check when preflight could not capture one', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DbiResourceId: undefined }));
    rds.on(DeleteDBInstanceCommand).resolves({});
    const state = stepEvent('retire-database');
    state.plan.source.dbiResourceId = null;

    // Act
    const result = await retireDatabase(state);

    // Assess
    expect(result).toMatchObject({ done: false, status: 'deleting' });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
  });

  it('keeps the old instance when the plan says so, reporting its status and the reason, with no write', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'available' }));

    // Act
    const result = await retireDatabase(stepEvent('start-source'));

    // Assess
    expect(result).toEqual({
      done: true,
      outcome: 'retained',
      status: 'available',
      reason: 'cutover is "none": clients still use the old instance.',
    });
    expectNoWrite();
  });

  it('reports status "unknown" for a retained instance that cannot be found', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).rejects(notFound());

    // Act
    const result = await retireDatabase(stepEvent('start-source'));

    // Assess
    expect(result).toMatchObject({ done: true, outcome: 'retained', status: 'unknown' });
  });

  it('gives up with WaitTimeoutError after the retireInstance cap', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(source({ DBInstanceStatus: 'deleting' }));
    const state = stepEvent('retire-database');
    state.retireInstance = {
      done: false,
      outcome: 'deleted',
      status: 'deleting',
      poll: { attempt: 60, waitSeconds: 300, lastStatus: 'deleting' },
    };

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringContaining('orders-db'),
    });
  });
});
