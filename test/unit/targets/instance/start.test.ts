import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  StartDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { startSource } from '#strategies/snapshot/start-source.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const withStatus = (status: string) => ({
  DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: status }],
});

describe('start-source', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('starts the source Rekey stopped and asks to be polled', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    rds.on(StartDBInstanceCommand).resolves({});

    // Act
    const result = await startSource(stepEvent('start-source'));

    // Assess
    expect(result).toEqual({
      done: false,
      status: 'starting',
      started: true,
      poll: {
        attempt: 1,
        waitSeconds: 300,
        lastStatus: 'starting',
        since: expect.any(String),
        awaits: { sourceType: 'DB_INSTANCE', sourceIdentifier: 'orders-db', eventIds: ['RDS-EVENT-0088'] },
        checkedAt: expect.any(String),
        // The checks aim at the expected start time (DOWNTIME_ASSUMPTIONS.startSeconds, 300 s), in one step.
        expected: { seconds: 300, from: expect.any(String) },
      },
    });
    expect(rds).toHaveReceivedCommandWith(StartDBInstanceCommand, { DBInstanceIdentifier: 'orders-db' });
  });

  it('keeps reporting started while it waits, and once the source is available', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolvesOnce(withStatus('stopped'))
      .resolvesOnce(withStatus('starting'))
      .resolves(withStatus('available'));
    rds.on(StartDBInstanceCommand).resolves({});
    const state = stepEvent('start-source');

    // Act
    const first = await startSource(state);
    const second = await startSource({ ...state, startSource: first });
    const third = await startSource({ ...state, startSource: second });

    // Assess
    expect(second).toMatchObject({ done: false, status: 'starting', started: true, poll: { attempt: 2 } });
    expect(third).toEqual({ done: true, status: 'available', started: true });
    expect(rds).toHaveReceivedCommandTimes(StartDBInstanceCommand, 1);
  });

  it('is done at once, with no write, when a re-run finds the source already available', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('available'));

    // Act
    const result = await startSource(stepEvent('start-source'));

    // Assess
    expect(result).toEqual({ done: true, status: 'available', started: false });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('leaves a source that Rekey did not stop alone: done, started false, no start', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    const state = stepEvent('start-source');
    state.plan.decisions.stopSource = false;

    // Act
    const result = await startSource(state);

    // Assess
    expect(result).toEqual({ done: true, status: 'stopped', started: false });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('keeps polling when a lost earlier start makes StartDBInstance answer InvalidDBInstanceState', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    rds.on(StartDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        message: 'Instance orders-db is not stopped, it cannot be started.',
        $metadata: {},
      }),
    );

    // Act
    const result = await startSource(stepEvent('start-source'));

    // Assess
    expect(result).toMatchObject({ done: false, status: 'starting', poll: { attempt: 1 } });
  });

  it('fails with PreconditionFailedError when the source has disappeared', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found.', $metadata: {} }));

    // Act / Assess
    await expect(startSource(stepEvent('start-source'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('orders-db'),
    });
  });

  it('fails with ResourceFailedError when the source cannot start (terminal status)', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('incompatible-parameters'));

    // Act / Assess
    await expect(startSource(stepEvent('start-source'))).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringContaining('incompatible-parameters'),
    });
  });

  it('gives up with WaitTimeoutError after the startSource cap', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('starting'));
    const state = stepEvent('start-source');
    state.startSource = {
      done: false,
      status: 'starting',
      started: true,
      poll: { attempt: 60, waitSeconds: 300, lastStatus: 'starting' },
    };

    // Act / Assess
    await expect(startSource(state)).rejects.toMatchObject({ name: 'WaitTimeoutError' });
  });

  it('refuses to start the source on a CNAME rotation, where clients have moved to the new instance', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));

    // Act / Assess
    await expect(startSource(stepEvent('cutover'))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
    });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });
});
