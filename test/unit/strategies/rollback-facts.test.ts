import { DescribeKeyCommand, KMSClient, NotFoundException } from '@aws-sdk/client-kms';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type LeftResource, type RollbackFact, renderFact, renderLeft } from '#domain/facts.js';
import type { InstanceState } from '#domain/state.js';
import { rollback } from '#strategies/rollback.js';
import { stepEvent } from '../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const route53 = mockClient(Route53Client);

const sample = stepEvent('rollback');
const ROTATION = sample.plan.rotationId;
const NEW_ID = sample.plan.names.newDbInstanceIdentifier;
const ASIDE = `orders-db-old-${ROTATION}`;
const ours = [{ Key: 'rekey:rotation-id', Value: ROTATION }];
const instanceNotFound = () => new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} });

describe('rollback facts in words', () => {
  it.each<[RollbackFact, string]>([
    [{ kind: 'source-started', identifier: 'orders-db' }, 'started orders-db again'],
    [
      { kind: 'deletion-protection-restored', identifier: 'orders-db' },
      'turned deletion protection on again for orders-db',
    ],
    [
      { kind: 'renamed-back', resource: 'db-instance', which: 'new', from: 'orders-db', to: 'orders-db-rk1' },
      'renamed the new instance back from orders-db to orders-db-rk1',
    ],
    [
      {
        kind: 'renamed-back',
        resource: 'db-instance',
        which: 'source',
        from: 'orders-db-old',
        to: 'orders-db',
      },
      'renamed the source orders-db-old back to orders-db',
    ],
    [
      { kind: 'renamed-back', resource: 'db-cluster', which: 'new', from: 'orders', to: 'orders-rk1' },
      'renamed the new cluster back from orders to orders-rk1',
    ],
    [
      { kind: 'renamed-back', resource: 'db-cluster', which: 'source', from: 'orders-old', to: 'orders' },
      'renamed the source back from orders-old to orders',
    ],
    [
      { kind: 'record-pointed-back', recordName: 'orders.db.internal', value: 'src.example' },
      'pointed orders.db.internal back at src.example',
    ],
    [
      { kind: 'deleted', resource: 'db-instance', identifier: 'orders-db-rk1' },
      'deleted the new DB instance orders-db-rk1',
    ],
    [
      { kind: 'deleted', resource: 'db-cluster', identifier: 'orders-rk1' },
      'deleted the new DB cluster orders-rk1',
    ],
    [{ kind: 'deleted', resource: 'db-snapshot', identifier: 's1' }, 'deleted the DB snapshot s1'],
    [
      { kind: 'deleted', resource: 'db-cluster-snapshot', identifier: 's1' },
      'deleted the DB cluster snapshot s1',
    ],
    [
      { kind: 'blue-green-deleted', deploymentName: 'rekey-x', greenIdentifiers: ['g1', 'g2'] },
      'deleted the Blue/Green deployment rekey-x and its green resources (g1, g2)',
    ],
    [
      { kind: 'blue-green-deleted', deploymentName: null, greenIdentifiers: ['g1'] },
      'deleted the green resources (g1)',
    ],
    [
      {
        kind: 'key-scheduled-for-deletion',
        keyArn: 'arn:k',
        deletionDate: '2026-12-01T00:00:00.000Z',
        windowDays: 7,
      },
      'scheduled the unused new key arn:k for deletion on 2026-12-01T00:00:00.000Z',
    ],
    [
      { kind: 'key-not-scheduled', keyArn: 'arn:k', errorName: 'AccessDeniedException' },
      'could not schedule the unused new key arn:k for deletion (AccessDeniedException): schedule it by hand',
    ],
  ])('%j reads "%s"', (fact, words) => {
    expect(renderFact(fact)).toBe(words);
  });

  it.each<[LeftResource, string]>([
    [{ kind: 'db-instance', identifier: 'i1' }, 'DB instance i1'],
    [{ kind: 'db-cluster-snapshot', identifier: 's1' }, 'DB cluster snapshot s1'],
    [{ kind: 'kms-key', keyArn: 'arn:k', alias: 'alias/x' }, 'KMS key arn:k (alias/x)'],
    [
      { kind: 'blue-green-deployment', identifier: 'bgd-1', afterSwitchover: true },
      'Blue/Green deployment bgd-1 (delete it without --delete-target)',
    ],
    [{ kind: 'green', resource: 'db-instance', identifier: 'g1' }, 'db-instance g1'],
    [
      { kind: 'old-blue', resource: 'db-cluster', identifier: 'b-old1', status: 'available' },
      'old blue db-cluster b-old1 (available, under the old key)',
    ],
  ])('%j is left as "%s"', (left, words) => {
    expect(renderLeft(left)).toBe(words);
  });
});

/** A rename rotation that failed after the rollback's first poll; the new instance is under its own name. */
const renameRollbackState = (rollback: InstanceState['rollback']): InstanceState => {
  const state = stepEvent('rollback');
  state.plan.cutover = {
    type: 'rename',
    asideIdentifier: ASIDE,
    endpointAddress: sample.plan.source.endpointAddress,
  };
  state.plan.decisions.stopSource = false;
  state.restore = { done: true, dbInstanceIdentifier: NEW_ID, dbInstanceArn: null, status: 'available' };
  state.failure = { Error: 'CutoverFailedError', Cause: 'the rename did not verify' };
  state.rollback = rollback;
  return state;
};

describe('rollback decisions read facts, never words', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
    // The renames are undone: the source is home, the new instance under its own name.
    rds.on(DescribeDBInstancesCommand).rejects(instanceNotFound());
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'orders-db' })
      .resolves({ DBInstances: [{ DBInstanceIdentifier: 'orders-db', DBInstanceStatus: 'available' }] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: NEW_ID }).resolves({
      DBInstances: [
        { DBInstanceIdentifier: NEW_ID, DBInstanceStatus: 'available', TagList: ours } as DBInstance,
      ],
    });
    rds
      .on(DescribeDBSnapshotsCommand)
      .rejects(new DBSnapshotNotFoundFault({ message: 'none', $metadata: {} }));
    rds.on(DeleteDBInstanceCommand).resolves({});
    kms.on(DescribeKeyCommand).rejects(new NotFoundException({ message: 'none', $metadata: {} }));
  });

  it('keeps the new instance when a fact says it held the original identifier, whatever the words say', async () => {
    // Prepare: no words at all, only the fact of an earlier poll.
    const state = renameRollbackState({
      done: false,
      undone: [],
      leftBehind: [],
      cause: '',
      facts: [{ kind: 'renamed-back', resource: 'db-instance', which: 'new', from: 'orders-db', to: NEW_ID }],
    });

    // Act
    const result = await rollback(state);

    // Assess: clients could reach the new instance, so it is kept and named.
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(result.done).toBe(true);
    expect(result.undone).toEqual([`renamed the new instance back from orders-db to ${NEW_ID}`]);
    expect(result.left).toContainEqual({ kind: 'db-instance', identifier: NEW_ID });
    expect(result.cause).toContain('kept because clients may have written to the new instance');
  });

  it('deletes the never-used new instance when only words (no fact) claim a rename back', async () => {
    // Prepare: the words of that fact, but no fact; the cutover never gave the new instance the name.
    const state = renameRollbackState({
      done: false,
      undone: [`renamed the new instance back from orders-db to ${NEW_ID}`],
      leftBehind: [],
      cause: '',
      facts: [],
    });

    // Act
    const result = await rollback(state);

    // Assess
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: NEW_ID });
    expect(result.facts).toEqual([{ kind: 'deleted', resource: 'db-instance', identifier: NEW_ID }]);
    expect(result.undone).toEqual([`deleted the new DB instance ${NEW_ID}`]);
  });

  it('deletes the new instance of a CNAME rotation whose Cutover never recorded an attempt, touching no record', async () => {
    // Prepare: validated, but the Cutover's first (read-only) call never answered.
    const state = stepEvent('rollback');
    state.restore = { done: true, dbInstanceIdentifier: NEW_ID, dbInstanceArn: null, status: 'available' };
    state.validation = {
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${NEW_ID}`,
      endpointAddress: `${NEW_ID}.abcdefghij.us-east-1.rds.amazonaws.com`,
      port: 5432,
      kmsKeyArn: sample.newKey?.keyArn ?? '',
      status: 'available',
      differences: [],
      checkedAt: '2026-11-22T15:40:00.000Z',
    };
    delete state.cutover;
    state.plan.decisions.stopSource = false;
    state.failure = { Error: 'States.Timeout', Cause: 'Task timed out' };

    // Act
    const result = await rollback(state);

    // Assess
    expect(route53).not.toHaveReceivedCommand(ListResourceRecordSetsCommand);
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: NEW_ID });
    expect(result.cause).not.toContain('clients may have written');
  });
});
