import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
  StartDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ensureInstanceStarted } from '#reconcilers/ensure-started.js';

const rds = mockClient(RDSClient);
const client = new RDSClient({});
const withStatus = (status: string) => ({
  DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: status }],
});
const start = (previousPoll?: { attempt: number; waitSeconds: number; lastStatus: string }) =>
  ensureInstanceStarted(client, 'orders-db', previousPoll, 'startSource', 'Starting orders-db');

describe('ensureInstanceStarted', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('starts a stopped instance, reports that it did, and asks to be polled', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    rds.on(StartDBInstanceCommand).resolves({});

    // Act
    const result = await start();

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

  it('waits while the instance is starting, without starting it again', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('starting'));

    // Act
    const result = await start({ attempt: 1, waitSeconds: 15, lastStatus: 'starting' });

    // Assess
    expect(result).toEqual({
      done: false,
      status: 'starting',
      started: false,
      poll: {
        attempt: 2,
        waitSeconds: 300,
        lastStatus: 'starting',
        since: expect.any(String),
        awaits: { sourceType: 'DB_INSTANCE', sourceIdentifier: 'orders-db', eventIds: ['RDS-EVENT-0088'] },
        checkedAt: expect.any(String),
        // The checks aim at the expected start time (DOWNTIME_ASSUMPTIONS.startSeconds, 300 s), in one step.
        expected: { seconds: 300, from: expect.any(String) },
      },
    });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('waits through a transient status such as stopping, and does not call start yet', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopping'));

    // Act
    const result = await start();

    // Assess
    expect(result).toMatchObject({ done: false, status: 'stopping', started: false });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('is done, with no write, when the instance is already available', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('available'));

    // Act
    const result = await start({ attempt: 3, waitSeconds: 60, lastStatus: 'starting' });

    // Assess
    expect(result).toEqual({ done: true, status: 'available', started: false });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('keeps polling when a racing attempt already started it (InvalidDBInstanceState)', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    rds.on(StartDBInstanceCommand).rejects(
      new InvalidDBInstanceStateFault({
        message: 'Instance orders-db is not stopped, it cannot be started.',
        $metadata: {},
      }),
    );

    // Act
    const result = await start();

    // Assess
    expect(result).toMatchObject({ done: false, status: 'starting', started: false, poll: { attempt: 1 } });
  });

  it('lets any other StartDBInstance error through with its own name', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('stopped'));
    rds
      .on(StartDBInstanceCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found.', $metadata: {} }));

    // Act / Assess
    await expect(start()).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  });

  it('fails with ResourceFailedError, naming the instance and status, when it is in a terminal status', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('inaccessible-encryption-credentials'));

    // Act / Assess
    await expect(start()).rejects.toMatchObject({
      name: 'ResourceFailedError',
      message: expect.stringMatching(/orders-db.*inaccessible-encryption-credentials/),
    });
    expect(rds).not.toHaveReceivedCommand(StartDBInstanceCommand);
  });

  it('fails with PreconditionFailedError when the instance does not exist', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance orders-db not found.', $metadata: {} }));

    // Act / Assess
    await expect(start()).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('orders-db does not exist'),
    });
  });

  it('gives up with WaitTimeoutError after the iteration cap it was given', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(withStatus('starting'));

    // Act / Assess
    await expect(start({ attempt: 60, waitSeconds: 300, lastStatus: 'starting' })).rejects.toMatchObject({
      name: 'WaitTimeoutError',
      message: expect.stringContaining('Starting orders-db'),
    });
  });
});
