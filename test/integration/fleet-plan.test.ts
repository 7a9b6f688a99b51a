import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { parseFleetInput } from '#features/fleet/input.js';
import { type InventoryRow, inventory, planFleet, planSingleInput } from '#features/fleet/plan.js';
import { registerFleetCommands } from '../../cli/fleet-commands.js';
import { seedFleetSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';

const ROTATE = { Key: 'rekey:rotate', Value: 'annual' };

const createKey = async (): Promise<string> => {
  const { KeyMetadata } = await getClients().kms.send(
    new CreateKeyCommand({ Description: 'fleet test key' }),
  );
  return KeyMetadata?.Arn ?? '';
};

const createInstance = async (
  id: string,
  options: { keyArn?: string; tags?: { Key: string; Value: string }[]; storage?: number },
) =>
  getClients().rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.micro',
      AllocatedStorage: options.storage ?? 20,
      MasterUsername: 'fleet_admin',
      MasterUserPassword: 'fleet-password-not-secret',
      ...(options.keyArn
        ? { StorageEncrypted: true, KmsKeyId: options.keyArn }
        : { StorageEncrypted: false }),
      Tags: options.tags ?? [],
    }),
  );

const createCluster = async (id: string, keyArn: string, tags: { Key: string; Value: string }[]) => {
  const { rds } = getClients();
  await rds.send(
    new CreateDBClusterCommand({
      DBClusterIdentifier: id,
      Engine: 'aurora-postgresql',
      EngineVersion: '16.4',
      MasterUsername: 'fleet_admin',
      MasterUserPassword: 'fleet-password-not-secret',
      StorageEncrypted: true,
      KmsKeyId: keyArn,
      Tags: tags,
    }),
  );
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: `${id}-writer`,
      DBClusterIdentifier: id,
      Engine: 'aurora-postgresql',
      DBInstanceClass: 'db.r6g.large',
    }),
  );
};

/** What a read-only plan must leave exactly as it found it (LatestRestorableTime moves with the clock). */
const snapshotOfAccount = async () => {
  const { rds, kms } = getClients();
  const clock = (key: string, value: unknown) => (key === 'LatestRestorableTime' ? undefined : value);
  return JSON.stringify(
    [
      await rds.send(new DescribeDBInstancesCommand({})).then((r) => r.DBInstances),
      await rds.send(new DescribeDBClustersCommand({})).then((r) => r.DBClusters),
      await rds.send(new DescribeDBSnapshotsCommand({})).then((r) => r.DBSnapshots),
      await rds.send(new DescribeDBClusterSnapshotsCommand({})).then((r) => r.DBClusterSnapshots),
      await kms.send(new ListKeysCommand({})).then((r) => r.Keys),
    ],
    clock,
  );
};

const fleetInput = (overrides: Record<string, unknown> = {}) =>
  parseFleetInput({
    fleet: { select: { tags: { 'rekey:rotate': 'annual' } }, maxConcurrency: 2, onIneligible: 'skip' },
    defaults: { strategy: 'snapshot' },
    reason: 'annual rotation 2027',
    requestedBy: 'platform-team',
    ...overrides,
  });

/** Runs `rekey <args>` of the fleet commands in-process; returns what it printed and its exit code. */
const rekey = async (...args: string[]) => {
  const out = { stdout: '', stderr: '' };
  const program = registerFleetCommands(new Command().exitOverride(), {
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    now: () => new Date(),
  });
  process.exitCode = undefined;
  await program.parseAsync(['node', 'rekey', ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { ...out, code };
};

const inputFile = (content: unknown): string => {
  const file = join(mkdtempSync(join(tmpdir(), 'rekey-fleet-')), 'input.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
};

describe('the fleet planner on the emulator', () => {
  const emulator = useEmulator();

  const seedFleet = async () => {
    const shared = await createKey();
    const own = await createKey();
    await createInstance('billing-db', {
      keyArn: shared,
      tags: [ROTATE, { Key: 'rekey:cutover', Value: 'none' }],
    });
    await createInstance('accounts-db', {
      keyArn: shared,
      storage: 100,
      tags: [ROTATE, { Key: 'rekey:cutover', Value: 'rename' }],
    });
    await createInstance('plain-db', { tags: [ROTATE, { Key: 'rekey:cutover', Value: 'none' }] });
    await createInstance('untagged-db', { keyArn: own });
    await createInstance('nocutover-db', { keyArn: own, tags: [ROTATE] });
    await createCluster('ledger', own, [ROTATE, { Key: 'rekey:cutover', Value: 'none' }]);
    return { shared, own };
  };

  it('plans the tagged databases, changing nothing; refuses the unencrypted one and the one without a cutover, by name', async () => {
    // Prepare
    const { shared } = await seedFleet();
    const before = await snapshotOfAccount();

    // Act
    const plan = await planFleet(fleetInput(), { fleetId: 'fleet-2027' });

    // Assess
    expect(await snapshotOfAccount()).toBe(before);
    const byId = Object.fromEntries(plan.databases.map((d) => [d.id, d]));
    expect(Object.keys(byId).sort()).toEqual([
      'accounts-db',
      'billing-db',
      'ledger',
      'nocutover-db',
      'plain-db',
    ]);
    expect(byId['plain-db']).toMatchObject({ eligible: false, oldKeyArn: null });
    expect(byId['plain-db']?.blockers.join(' ')).toContain('plain-db is not encrypted');
    expect(byId['nocutover-db']?.eligible).toBe(false);
    expect(byId['nocutover-db']?.blockers.join(' ')).toContain('rekey:cutover');
    expect(byId.ledger).toMatchObject({
      kind: 'cluster',
      eligible: true,
      strategy: 'snapshot',
      cutover: 'none',
    });
    expect(byId['accounts-db']).toMatchObject({
      eligible: true,
      cutover: 'rename',
      input: {
        dbInstanceIdentifier: 'accounts-db',
        reason: 'annual rotation 2027',
        requestedBy: 'platform-team',
        idempotencyKey: 'fleet-2027/accounts-db',
        cutover: { type: 'rename' },
      },
      executionName: 'fleet-2027-accounts-db',
    });
    // The bigger database is estimated to be down longer.
    expect(byId['accounts-db']?.estimatedWriterDowntimeSeconds ?? 0).toBeGreaterThan(
      byId['billing-db']?.estimatedWriterDowntimeSeconds ?? 0,
    );
    // The two databases on the shared key run one after the other, in id order.
    expect(plan.groups.find((g) => g.oldKeyArn === shared)?.ids).toEqual(['accounts-db', 'billing-db']);
    expect(byId['accounts-db']?.order).toEqual({ group: shared, position: 1, of: 2 });
    expect(byId['billing-db']?.order).toEqual({ group: shared, position: 2, of: 2 });
    expect(plan).toMatchObject({ status: 'PLANNED', maxConcurrency: 2, onIneligible: 'skip' });
    expect(plan.calls['rds:DescribeDBInstances']).toBeGreaterThanOrEqual(1);
    expect(plan.calls['kms:DescribeKey']).toBe(2);
  });

  it('checks each CNAME cutover as preflight does: a missing record or one pointing elsewhere is a blocker by name', async () => {
    // Prepare: a zone with a CNAME at the right endpoint, one pointing elsewhere, and one name without a record.
    const key = await createKey();
    const cname = (id: string, recordName: string) =>
      createInstance(id, {
        keyArn: key,
        tags: [
          ROTATE,
          { Key: 'rekey:cutover', Value: 'cname' },
          { Key: 'rekey:record-name', Value: recordName },
        ],
      });
    await cname('good-db', 'good.db.example.internal');
    await cname('stale-db', 'stale.db.example.internal');
    await cname('missing-db', 'missing.db.example.internal');
    const { route53, rds } = getClients();
    const zone = await route53.send(
      new CreateHostedZoneCommand({
        Name: 'db.example.internal',
        CallerReference: `fleet-plan-${Date.now()}`,
      }),
    );
    const { DBInstances } = await rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'good-db' }),
    );
    const upsert = (name: string, value: string) => ({
      Action: 'UPSERT' as const,
      ResourceRecordSet: { Name: name, Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: value }] },
    });
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone.HostedZone?.Id,
        ChangeBatch: {
          Changes: [
            upsert('good.db.example.internal', DBInstances?.[0]?.Endpoint?.Address ?? ''),
            upsert('stale.db.example.internal', 'somewhere-else.example.com'),
          ],
        },
      }),
    );
    const before = await snapshotOfAccount();

    // Act
    const plan = await planFleet(fleetInput(), { fleetId: 'fleet-dns' });

    // Assess
    expect(await snapshotOfAccount()).toBe(before);
    const byId = Object.fromEntries(plan.databases.map((d) => [d.id, d]));
    expect(byId['good-db']).toMatchObject({ eligible: true, cutover: 'cname', blockers: [] });
    expect(byId['stale-db']?.eligible).toBe(false);
    expect(byId['stale-db']?.blockers.join(' ')).toContain(
      'cutover.recordName: stale.db.example.internal points at somewhere-else.example.com, not at the source endpoint',
    );
    expect(byId['missing-db']?.eligible).toBe(false);
    expect(byId['missing-db']?.blockers.join(' ')).toContain(
      'cutover.recordName: there is no record missing.db.example.internal',
    );
    expect(plan.calls['route53:ListResourceRecordSets']).toBeGreaterThanOrEqual(3);
  });

  it('on the fleet `rekey seed` makes: rekey plan events/fleet.json changes nothing and names each blocker; inventory --json lists every database with its key age', async () => {
    // Prepare
    const sample = await seedFleetSample();
    const before = await snapshotOfAccount();

    // Act
    const planned = await rekey(
      'plan',
      '--input',
      new URL('../../events/fleet.json', import.meta.url).pathname,
    );
    const listed = await rekey('inventory', '--json');

    // Assess
    expect(planned.code).toBe(0);
    expect(await snapshotOfAccount()).toBe(before);
    const plan = JSON.parse(planned.stdout.trim().split('\n').at(-1) ?? '{}') as {
      status: string;
      databases: { id: string; eligible: boolean; blockers: string[] }[];
    };
    expect(plan.status).toBe('PLANNED');
    expect(plan.databases.map((d) => d.id).sort()).toEqual([...sample.selected].sort());
    expect(plan.databases.filter((d) => !d.eligible).map((d) => [d.id, d.blockers])).toEqual([
      ['fleet-legacy-db', [expect.stringContaining('fleet-legacy-db is not encrypted')]],
    ]);
    expect(planned.stderr).toContain('fleet-legacy-db');
    const rows = (JSON.parse(listed.stdout) as { databases: InventoryRow[] }).databases;
    expect(rows.map((r) => r.identifier).sort()).toEqual([...sample.selected, ...sample.notSelected].sort());
    for (const row of rows.filter((r) => r.encrypted)) expect(row.keyAgeDays, row.identifier).toBe(0);
    expect(rows.find((r) => r.identifier === 'fleet-legacy-db')).toMatchObject({
      encrypted: false,
      keyAgeDays: null,
    });
  });

  it('caps the concurrency at 5 and says why', async () => {
    // Prepare
    await seedFleet();

    // Act
    const plan = await planFleet(
      fleetInput({ fleet: { select: { identifiers: ['billing-db'] }, maxConcurrency: 8 } }),
      { fleetId: 'fleet-cap' },
    );

    // Assess
    expect(plan.databases.map((d) => d.id)).toEqual(['billing-db']);
    expect(plan.maxConcurrency).toBe(5);
    expect(plan.notes.join(' ')).toContain('capped at 5');
  });

  it('selects by all conditions together: a tag AND an old key', async () => {
    // Prepare
    const { own } = await seedFleet();

    // Act
    const plan = await planFleet(
      fleetInput({ fleet: { select: { tags: { 'rekey:rotate': 'annual' }, oldKeyArn: own } } }),
      { fleetId: 'fleet-and' },
    );

    // Assess: untagged-db is on that key but not tagged.
    expect(plan.databases.map((d) => d.id).sort()).toEqual(['ledger', 'nocutover-db']);
  });

  it('plans a single rotation input as one row, with the input as written', async () => {
    // Prepare
    await seedFleet();

    // Act
    const plan = await planSingleInput(
      { dbInstanceIdentifier: 'untagged-db', cutover: { type: 'none' }, reason: 'break-glass' },
      { fleetId: 'plan-20271001T000000' },
    );
    const missing = await planSingleInput(
      { dbInstanceIdentifier: 'nowhere-db', cutover: { type: 'none' }, reason: 'break-glass' },
      { fleetId: 'plan-20271001T000000' },
    );

    const wrongField = await planSingleInput(
      { dbInstanceIdentifier: 'ledger', cutover: { type: 'none' }, reason: 'break-glass' },
      { fleetId: 'plan-20271001T000000' },
    );

    // Assess
    expect(wrongField.databases[0]).toMatchObject({ id: 'ledger', kind: 'cluster', eligible: false });
    expect(wrongField.databases[0]?.blockers.join(' ')).toContain(
      'give "dbClusterIdentifier": "ledger" instead',
    );
    expect(plan.databases).toHaveLength(1);
    expect(plan.databases[0]).toMatchObject({ id: 'untagged-db', eligible: true, cutover: 'none' });
    expect(missing.databases[0]?.blockers.join(' ')).toContain('no DB instance "nowhere-db"');
  });

  it('inventory lists every database with its key, the key age and whether it is due', async () => {
    // Prepare
    const { shared } = await seedFleet();
    const inAYear = new Date(Date.now() + 400 * 24 * 60 * 60 * 1000);

    // Act
    const today = await inventory({ olderThanDays: 365 });
    const later = await inventory({ olderThanDays: 365, now: inAYear });

    // Assess
    expect(today.rows.map((r) => r.identifier)).toEqual([
      'accounts-db',
      'billing-db',
      'ledger',
      'nocutover-db',
      'plain-db',
      'untagged-db',
    ]);
    expect(today.rows.find((r) => r.identifier === 'billing-db')).toMatchObject({
      kind: 'instance',
      encrypted: true,
      keyArn: shared,
      keyManager: 'CUSTOMER',
      keyAgeDays: 0,
      lastRotation: null,
      due: false,
    });
    expect(today.rows.find((r) => r.identifier === 'plain-db')).toMatchObject({
      encrypted: false,
      keyAgeDays: null,
    });
    expect(later.rows.find((r) => r.identifier === 'billing-db')).toMatchObject({
      keyAgeDays: 400,
      due: true,
    });
  });

  it('rekey plan: the table on stderr, the plan as the last stdout line; a bad input exits 2 naming the field', async () => {
    // Prepare
    await seedFleet();
    const file = inputFile({
      fleet: { select: { tags: { 'rekey:rotate': 'annual' } }, onIneligible: 'skip' },
      reason: 'annual rotation 2027',
    });
    const bad = inputFile({ fleet: { select: {} }, reason: 'x' });

    // Act
    const planned = await rekey('plan', '--input', file, '--endpoint', emulator.endpoint);
    const refused = await rekey('plan', '--input', bad, '--endpoint', emulator.endpoint);

    // Assess
    expect(planned.code).toBe(0);
    const last = JSON.parse(planned.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(last.status).toBe('PLANNED');
    expect(last.databases.map((d: { id: string }) => d.id)).toContain('plain-db');
    expect(planned.stderr).toContain('Nothing was changed');
    expect(planned.stderr).toContain('plain-db: REFUSED: plain-db is not encrypted');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('rekey plan:');
    expect(refused.stderr).toContain('fleet.select: must hold at least one condition');
  });

  it('rekey inventory --json: one line listing every database with its key age', async () => {
    // Prepare
    await seedFleet();

    // Act
    const listed = await rekey('inventory', '--json', '--endpoint', emulator.endpoint);
    const table = await rekey('inventory', '--endpoint', emulator.endpoint, '--older-than-days', '0');

    // Assess
    expect(listed.code).toBe(0);
    const body = JSON.parse(listed.stdout);
    expect(body.databases).toHaveLength(6);
    expect(body.databases.find((d: { identifier: string }) => d.identifier === 'ledger')).toMatchObject({
      kind: 'cluster',
      keyAgeDays: 0,
      due: false,
    });
    expect(table.stdout).toMatch(/^IDENTIFIER\s+KIND/);
    expect(table.stdout).toMatch(/billing-db .* DUE/);
  });

  it('inventory with an evidence bucket shows each database’s last Rekey rotation', async () => {
    // Prepare
    await seedFleet();
    const { s3 } = getEvidenceClients();
    await s3.send(new CreateBucketCommand({ Bucket: 'rekey-evidence-test' }));
    for (const key of [
      'rotations/billing-db/2025-10-01T06:00:00.000Z-rk0000000001.json',
      'rotations/billing-db/2026-10-01T06:00:00.000Z-rk0000000002.json',
      'refused/accounts-db/2026-10-02T06:00:00.000Z-rk0000000003.json',
    ]) {
      await s3.send(new PutObjectCommand({ Bucket: 'rekey-evidence-test', Key: key, Body: '{}' }));
    }

    // Act
    const { rows } = await inventory({ olderThanDays: 365, evidenceBucket: 'rekey-evidence-test' });

    // Assess
    expect(rows.find((r) => r.identifier === 'billing-db')?.lastRotation).toEqual({
      startedAt: '2026-10-01T06:00:00.000Z',
      rotationId: 'rk0000000002',
      evidenceUri: 's3://rekey-evidence-test/rotations/billing-db/2026-10-01T06:00:00.000Z-rk0000000002.json',
    });
    expect(rows.find((r) => r.identifier === 'accounts-db')?.lastRotation).toBeNull();
  });
});
