import { describe, expect, it } from 'vitest';
import { DOWNTIME_ASSUMPTIONS } from '#domain/durations.js';
import { estimateWriterDowntimeSeconds } from '#features/fleet/estimate.js';
import { parseFleetInput } from '#features/fleet/input.js';
import {
  groupByKey,
  inputFromTags,
  matchesSelect,
  paceConcurrency,
  supersededDatabases,
} from '#features/fleet/plan.js';

const fleet = (defaults: Record<string, unknown> = {}, approval = 'none') =>
  parseFleetInput({
    fleet: { select: { keyOlderThanDays: 0 }, approval, approvalTimeoutMinutes: 60 },
    defaults,
    reason: 'annual rotation 2027',
    requestedBy: 'platform-team',
  });

const db = (id: string, tags: Record<string, string>, kind: 'instance' | 'cluster' = 'instance') => ({
  id,
  kind,
  tags,
});

describe('matchesSelect: the conditions combine with AND', () => {
  const key = { arn: 'arn:aws:kms:us-east-1:123456789012:key/k1' };
  const orders = db('orders-db', { 'rekey:rotate': 'annual', team: 'orders' });

  it('selects only when every condition holds', () => {
    const select = {
      tags: { 'rekey:rotate': 'annual' },
      identifiers: ['orders-db'],
      oldKeyArn: key.arn,
      keyOlderThanDays: 300,
    };
    expect(matchesSelect(orders, key, 400, select)).toBe(true);
    expect(matchesSelect(orders, key, 100, select)).toBe(false);
    expect(matchesSelect(orders, { arn: 'arn:aws:kms:us-east-1:123456789012:key/k2' }, 400, select)).toBe(
      false,
    );
    expect(matchesSelect(db('ledger', orders.tags), key, 400, select)).toBe(false);
    expect(matchesSelect(db('orders-db', { team: 'orders' }), key, 400, select)).toBe(false);
  });

  it('needs every selected tag with its value', () => {
    expect(matchesSelect(orders, key, 0, { tags: { 'rekey:rotate': 'annual', team: 'orders' } })).toBe(true);
    expect(matchesSelect(orders, key, 0, { tags: { 'rekey:rotate': 'monthly' } })).toBe(false);
  });
});

describe('inputFromTags', () => {
  it('builds the rotation input from the tags, the defaults and the fleet', () => {
    const built = inputFromTags(
      db(
        'ledger',
        {
          'rekey:cutover': 'cname',
          'rekey:record-name': 'ledger.db.example.internal',
          'rekey:reader-record-name': 'ledger-ro.db.example.internal',
          'rekey:hosted-zone-id': 'Z0123456789ABC',
          'rekey:strategy': 'blue-green',
        },
        'cluster',
      ),
      fleet({ strategy: 'snapshot', oldKeyPendingWindowDays: 30 }, 'per-database'),
      'fleet-2027',
    );
    expect(built.blockers).toEqual([]);
    expect(built.input).toMatchObject({
      dbClusterIdentifier: 'ledger',
      strategy: 'blue-green',
      oldKeyPendingWindowDays: 30,
      cutover: {
        type: 'cname',
        recordName: 'ledger.db.example.internal',
        readerRecordName: 'ledger-ro.db.example.internal',
        hostedZoneId: 'Z0123456789ABC',
      },
      reason: 'annual rotation 2027',
      requestedBy: 'platform-team',
      idempotencyKey: 'fleet-2027/ledger',
      approval: { required: true, timeoutMinutes: 60 },
    });
  });

  it('with approval "fleet" gives the child no approval: the fleet asked once, the database does not ask again', () => {
    const built = inputFromTags(db('orders-db', { 'rekey:cutover': 'none' }), fleet({}, 'fleet'), 'f');
    expect(built.blockers).toEqual([]);
    expect(built.input).not.toHaveProperty('approval');
  });

  it('derives the child idempotencyKey from the fleet input’s idempotencyKey when it has one', () => {
    // A schedule's start delivered twice runs two fleet executions: both must give each database
    // the same key, so the second child finds the first one's rotation and does nothing.
    const scheduled = { ...fleet({ cutover: { type: 'none' } }), idempotencyKey: '2027-03-09T06:00:00Z' };
    const first = inputFromTags(db('orders-db', {}), scheduled, 'execution-one');
    const again = inputFromTags(db('orders-db', {}), scheduled, 'execution-two');
    expect(first.input.idempotencyKey).toBe('2027-03-09T06:00:00Z/orders-db');
    expect(again.input.idempotencyKey).toBe(first.input.idempotencyKey);
  });

  it('takes the cutover from the defaults when the database has no tag', () => {
    const built = inputFromTags(db('orders-db', {}), fleet({ cutover: { type: 'none' } }), 'f');
    expect(built.blockers).toEqual([]);
    expect(built.input).toMatchObject({ dbInstanceIdentifier: 'orders-db', cutover: { type: 'none' } });
    expect(built.input).not.toHaveProperty('approval');
  });

  it('names the tag to set when a setting is missing or wrong', () => {
    expect(inputFromTags(db('a', {}), fleet(), 'f').blockers.join(' ')).toContain(
      'set the tag rekey:cutover to "cname", "rename" or "none" on a',
    );
    expect(inputFromTags(db('a', { 'rekey:cutover': 'cname' }), fleet(), 'f').blockers.join(' ')).toContain(
      'rekey:record-name is not set',
    );
    expect(inputFromTags(db('a', { 'rekey:cutover': 'dns' }), fleet(), 'f').blockers.join(' ')).toContain(
      'tag rekey:cutover is "dns"',
    );
    expect(
      inputFromTags(
        db('a', { 'rekey:cutover': 'none', 'rekey:strategy': 'fast' }),
        fleet(),
        'f',
      ).blockers.join(' '),
    ).toContain('tag rekey:strategy is "fast"');
  });
});

describe('supersededDatabases: the old database a rotation kept is not selected again', () => {
  const user = { 'rekey:rotate': 'annual', 'rekey:cutover': 'none', team: 'platform' };
  const rekey = (rotationId: string, source: string, role = 'new-instance') => ({
    ...user,
    'rekey:rotation-id': rotationId,
    'rekey:source-db': source,
    'rekey:role': role,
  });

  it('marks the database named as the source of a copy Rekey made (cutover "none" keeps it, with its tags)', () => {
    // Prepare
    const databases = [
      db('fleet-audit-db', user),
      db('fleet-audit-db-rk0a1b2c3d4e', rekey('rk0a1b2c3d4e', 'fleet-audit-db')),
      db('fleet-billing-db', user),
    ];

    // Act
    const superseded = supersededDatabases(databases);

    // Assess
    expect(superseded.get('instance:fleet-audit-db')).toEqual({
      rotationId: 'rk0a1b2c3d4e',
      by: 'fleet-audit-db-rk0a1b2c3d4e',
      source: 'fleet-audit-db',
    });
    expect(superseded.has('instance:fleet-audit-db-rk0a1b2c3d4e')).toBe(false);
    expect(superseded.has('instance:fleet-billing-db')).toBe(false);
  });

  it('after a Blue/Green switchover the green holds the name: the old blue RDS renamed -old1 is superseded', () => {
    // Prepare
    const databases = [
      db('fleet-ledger-db', rekey('rk0a1b2c3d4e', 'fleet-ledger-db', 'green')),
      db('fleet-ledger-db-old1', user),
      db('fleet-ledger-db-oldest', user),
    ];

    // Act
    const superseded = supersededDatabases(databases);

    // Assess
    expect(superseded.has('instance:fleet-ledger-db')).toBe(false);
    expect(superseded.get('instance:fleet-ledger-db-old1')).toMatchObject({ by: 'fleet-ledger-db' });
    expect(superseded.has('instance:fleet-ledger-db-oldest')).toBe(false);
  });

  it('after a rename cutover the copy holds the original name: only the source moved aside is superseded', () => {
    // Prepare
    const databases = [
      db('fleet-catalog-db', rekey('rk0a1b2c3d4e', 'fleet-catalog-db', 'serving')),
      db('fleet-catalog-db-old-rk0a1b2c3d4e', user),
    ];

    // Act
    const superseded = supersededDatabases(databases);

    // Assess
    expect(superseded.has('instance:fleet-catalog-db')).toBe(false);
    expect(superseded.get('instance:fleet-catalog-db-old-rk0a1b2c3d4e')).toEqual({
      rotationId: 'rk0a1b2c3d4e',
      by: 'fleet-catalog-db',
      source: 'fleet-catalog-db',
    });
  });

  it("ignores the user's own tags and keeps kinds apart: only Rekey's two tags together make a copy", () => {
    // Prepare
    const databases = [
      db('reports', user, 'cluster'),
      db('reports-rk0a1b2c3d4e', rekey('rk0a1b2c3d4e', 'reports', 'new-cluster'), 'cluster'),
      db('orders-db', user),
      db('orders-clone', { ...user, 'rekey:source-db': 'orders-db' }),
    ];

    // Act
    const superseded = supersededDatabases(databases);

    // Assess
    expect([...superseded.keys()]).toEqual(['cluster:reports', 'cluster:reports-old-rk0a1b2c3d4e']);
  });
});

describe('groupByKey', () => {
  const row = (id: string, oldKeyArn: string | null, eligible = true) =>
    ({ id, oldKeyArn, eligible }) as Parameters<typeof groupByKey>[0][number];

  it('groups eligible databases by old key, groups and ids sorted; refused ones are in no group', () => {
    expect(groupByKey([row('b', 'k2'), row('z', 'k1'), row('a', 'k1'), row('x', 'k1', false)])).toEqual([
      { group: 'k1', oldKeyArn: 'k1', ids: ['a', 'z'] },
      { group: 'k2', oldKeyArn: 'k2', ids: ['b'] },
    ]);
  });
});

describe('paceConcurrency', () => {
  it('caps at 5 (snapshot copies in progress) and says why', () => {
    const paced = paceConcurrency(8, { instance: 0, cluster: 0 }, new Set(['instance']));
    expect(paced.maxConcurrency).toBe(5);
    expect(paced.notes.join(' ')).toContain('capped at 5');
  });

  it('keeps existing manual snapshots + 2 per instance rotation (1 per Aurora rotation) within 100, per kind', () => {
    expect(paceConcurrency(4, { instance: 95, cluster: 0 }, new Set(['instance'])).maxConcurrency).toBe(2);
    // An Aurora rotation holds only its source snapshot: 96 + 1 × 4 fits.
    expect(paceConcurrency(4, { instance: 0, cluster: 96 }, new Set(['cluster'])).maxConcurrency).toBe(4);
    expect(paceConcurrency(4, { instance: 96, cluster: 0 }, new Set(['instance'])).maxConcurrency).toBe(2);
    expect(paceConcurrency(4, { instance: 95, cluster: 0 }, new Set(['cluster'])).maxConcurrency).toBe(4);
    const full = paceConcurrency(2, { instance: 0, cluster: 99 }, new Set(['cluster']));
    expect(full.maxConcurrency).toBe(1);
    expect(full.notes.join(' ')).toContain('99 manual DB cluster snapshots');
    expect(paceConcurrency(2, { instance: 10, cluster: 10 }, new Set(['instance', 'cluster']))).toEqual({
      maxConcurrency: 2,
      notes: [],
    });
  });
});

describe('estimateWriterDowntimeSeconds', () => {
  it('Blue/Green: the switchover; no freeze: the cutover only; a frozen snapshot rotation grows with the storage', () => {
    expect(
      estimateWriterDowntimeSeconds({
        strategy: 'blue-green',
        writeFreeze: 'stop',
        allocatedStorageGiB: 500,
      }),
    ).toBe(DOWNTIME_ASSUMPTIONS.switchoverSeconds);
    expect(
      estimateWriterDowntimeSeconds({ strategy: 'snapshot', writeFreeze: 'none', allocatedStorageGiB: 500 }),
    ).toBe(DOWNTIME_ASSUMPTIONS.cutoverSeconds);
    const small = estimateWriterDowntimeSeconds({
      strategy: 'snapshot',
      writeFreeze: 'stop',
      allocatedStorageGiB: 20,
    });
    const big = estimateWriterDowntimeSeconds({
      strategy: 'snapshot',
      writeFreeze: 'stop',
      allocatedStorageGiB: 200,
    });
    expect(big).toBeGreaterThan(small);
    expect(big - small).toBe(180 * (6 + 12 + 2));
  });
});
