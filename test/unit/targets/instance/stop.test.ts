import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ModifyDBInstanceCommand,
  RDSClient,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { stopSource } from '#strategies/snapshot/stop-source.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const withStatus = (status: string) => ({
  DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: status }],
});

describe('stop-source', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('stops an available source and asks to be polled again', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('available'));
    rds.on(StopDBInstanceCommand).resolves({});

    // Act
    const result = await stopSource(stepEvent('stop-source'));

    // Assess
    expect(result).toMatchObject({
      done: false,
      status: 'stopping',
      stoppedByRekey: true,
      // The expected stop time (300 s) in one step, counted from the stop call.
      poll: { attempt: 1, waitSeconds: 300, expected: { seconds: 300 } },
    });
    expect(rds).toHaveReceivedCommandWith(StopDBInstanceCommand, { DBInstanceIdentifier: 'orders-db' });
  });

  it('waits without calling stop again while the source is stopping', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopping'));
    const state = stepEvent('stop-source');
    state.freeze = {
      done: false,
      stoppedByRekey: true,
      status: 'stopping',
      poll: { attempt: 1, waitSeconds: 15, lastStatus: 'stopping' },
    };

    // Act
    const result = await stopSource(state);

    // Assess
    expect(result).toMatchObject({ done: false, poll: { attempt: 2, waitSeconds: 300 } });
    expect(rds).not.toHaveReceivedCommand(StopDBInstanceCommand);
  });

  it('is done, without a second stop, when a re-run finds the source already stopped', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));

    // Act
    const result = await stopSource(stepEvent('stop-source'));

    // Assess
    expect(result).toEqual({
      done: true,
      stoppedByRekey: true,
      deletionProtectionLifted: false,
      status: 'stopped',
    });
    expect(rds).not.toHaveReceivedCommand(StopDBInstanceCommand);
  });

  it('lifts deletion protection before the stop when the old instance will be deleted, since RDS cannot modify a stopped instance', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'available', DeletionProtection: true },
      ],
    });
    rds.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const first = await stopSource(stepEvent('stop-source'));
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'available', DeletionProtection: false },
      ],
    });
    const second = await stopSource({ ...stepEvent('stop-source'), freeze: first });

    // Assess
    expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db',
      DeletionProtection: false,
      ApplyImmediately: true,
    });
    expect(first).toMatchObject({ done: false, deletionProtectionLifted: true });
    expect(second).toMatchObject({ done: false, status: 'stopping', deletionProtectionLifted: true });
    expect(rds).toHaveReceivedCommandTimes(StopDBInstanceCommand, 1);
  });

  it('leaves deletion protection alone when the old instance is kept', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        { DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'available', DeletionProtection: true },
      ],
    });
    rds.on(StopDBInstanceCommand).resolves({});
    const state = stepEvent('stop-source');
    state.plan.decisions.deleteOldInstance = false;

    // Act
    await stopSource(state);

    // Assess
    expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    expect(rds).toHaveReceivedCommand(StopDBInstanceCommand);
  });

  it('keeps waiting when a lost earlier stop makes StopDBInstance answer InvalidDBInstanceState', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('available'));
    rds.on(StopDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        message: 'Instance orders-db is not in available state.',
        $metadata: {},
      }),
    );

    // Act
    const result = await stopSource(stepEvent('stop-source'));

    // Assess
    expect(result.done).toBe(false);
  });

  it('fails with ResourceFailedError when the source is in a terminal status', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('inaccessible-encryption-credentials'));

    // Act / Assess
    await expect(stopSource(stepEvent('stop-source'))).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringContaining('inaccessible-encryption-credentials'),
    });
  });

  it('fails with PreconditionFailedError when the source has disappeared', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));

    // Act / Assess
    await expect(stopSource(stepEvent('stop-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
    });
  });

  it('gives up with WaitTimeoutError after its iteration cap', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopping'));
    const state = stepEvent('stop-source');
    state.freeze = {
      done: false,
      stoppedByRekey: true,
      status: 'stopping',
      poll: { attempt: 40, waitSeconds: 300, lastStatus: 'stopping' },
    };

    // Act / Assess
    await expect(stopSource(state)).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });
});
