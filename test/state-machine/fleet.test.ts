import { CreateKeyCommand, DescribeKeyCommand } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { parseFleetInput } from '#features/fleet/input.js';
import { planFleet } from '#features/fleet/plan.js';
import { makePlanFleet } from '#features/fleet/plan-step.js';
import type { DatabaseOutcome, FleetOutput, FleetPlan, PlannedDatabase } from '#features/fleet/types.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { type RunResult, runStateMachine } from '../../cli/runner.js';
import { useEmulator } from '../support/emulator.js';
import { mostAtOnce, oldKeyOutcomeOf } from '../support/fleet-outcomes.js';

/**
 * The fleet state machine over moto: PlanFleet gets a test planner (a plan built from the databases
 * created here), everything after it is the real fleet machine and the real child rotations.
 */

const FLEET_ASL = new URL('../../state-machines/rotate-fleet.asl.json', import.meta.url).pathname;

const newKey = async (): Promise<string> =>
  (await getClients().kms.send(new CreateKeyCommand({ Description: 'fleet test key' }))).KeyMetadata
    ?.Arn as string;

let zoneId = '';

/** The database, and a CNAME `<id>.db.example.internal` to it that its rotation cuts over. */
const createInstance = async (id: string, keyArn: string | null): Promise<void> => {
  if (!zoneId) {
    const zone = await getClients().route53.send(
      new CreateHostedZoneCommand({ Name: 'db.example.internal', CallerReference: `fleet-${Date.now()}` }),
    );
    zoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  }
  const created = await getClients().rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      EngineVersion: '16.3',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: 20,
      MasterUsername: 'fleet_admin',
      MasterUserPassword: 'sample-password-not-secret',
      StorageEncrypted: keyArn !== null,
      ...(keyArn ? { KmsKeyId: keyArn } : {}),
      BackupRetentionPeriod: 1,
      Tags: [{ Key: 'rekey:rotate', Value: 'true' }],
    }),
  );
  await getClients().route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: `${id}.db.example.internal`,
              Type: 'CNAME',
              TTL: 60,
              ResourceRecords: [{ Value: created.DBInstance?.Endpoint?.Address ?? `${id}.local` }],
            },
          },
        ],
      },
    }),
  );
};

const keyState = async (arn: string) =>
  (await getClients().kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState;

interface Member {
  id: string;
  oldKeyArn: string | null;
  /** "none" keeps the old database in service (and so its key); cname by default. */
  cutover?: 'none';
}

/** The test planner: one group per old key in the order given; an unencrypted database is ineligible. */
const testPlanner =
  (members: Member[], settings: { maxConcurrency: number; maxFailures: number }) =>
  async (_input: unknown, { fleetId }: { fleetId: string }): Promise<FleetPlan> => {
    const groups = new Map<string, string[]>();
    for (const member of members) {
      if (member.oldKeyArn)
        groups.set(member.oldKeyArn, [...(groups.get(member.oldKeyArn) ?? []), member.id]);
    }
    const databases: PlannedDatabase[] = members.map((member) => {
      const group = member.oldKeyArn ? (groups.get(member.oldKeyArn) as string[]) : [];
      return {
        id: member.id,
        kind: 'instance',
        eligible: member.oldKeyArn !== null,
        strategy: member.oldKeyArn ? 'snapshot' : null,
        strategyReason: 'test planner',
        cutover: member.cutover ?? 'cname',
        oldKeyArn: member.oldKeyArn,
        blockers: member.oldKeyArn ? [] : [`${member.id} is not encrypted: nothing to rotate.`],
        estimatedWriterDowntimeSeconds: null,
        input: member.oldKeyArn
          ? {
              dbInstanceIdentifier: member.id,
              cutover: member.cutover
                ? { type: member.cutover }
                : {
                    type: 'cname',
                    recordName: `${member.id}.db.example.internal`,
                    hostedZoneId: zoneId,
                    ttl: 60,
                  },
              writeFreeze: 'stop',
              oldInstance: 'delete',
              oldKeyPendingWindowDays: 7,
              reason: 'Annual fleet rotation',
              requestedBy: 'platform-team',
            }
          : null,
        order: {
          group: member.oldKeyArn ?? 'ineligible',
          position: group.indexOf(member.id) + 1,
          of: group.length,
        },
        executionName: `${fleetId}-${member.id}`,
      };
    });
    return {
      status: 'PLANNED',
      planOnly: false,
      fleetId,
      databases,
      groups: [...groups].map(([oldKeyArn, ids]) => ({ group: oldKeyArn, oldKeyArn, ids })),
      maxConcurrency: settings.maxConcurrency,
      maxFailures: settings.maxFailures,
      onIneligible: 'skip',
      approval: 'none',
      approvalTimeoutSeconds: 14_400,
      notes: [],
      calls: {},
    };
  };

const runFleet = (
  members: Member[],
  settings: { maxConcurrency: number; maxFailures: number },
  executionName: string,
): Promise<RunResult> =>
  runStateMachine({
    aslPath: FLEET_ASL,
    input: { fleet: { selector: { tags: { 'rekey:rotate': 'true' } } }, requestedBy: 'platform-team' },
    executionName,
    fastWaits: true,
    lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    wrapTask: (stateName, invoke) =>
      stateName === 'PlanFleet'
        ? (input) =>
            makePlanFleet({ parseFleetInput: (raw) => raw, planFleet: testPlanner(members, settings) })(
              input as never,
            )
        : invoke,
  });

const byId = (output: FleetOutput) => new Map(output.databases.map((d) => [d.id, d]));

describe('the fleet state machine', () => {
  useEmulator();
  beforeEach(() => {
    zoneId = '';
  });

  it('rotates every eligible database, at most maxConcurrency at once, databases sharing a key one after another, and skips the unencrypted one', async () => {
    // Prepare
    const shared = await newKey();
    const own = await newKey();
    const third = await newKey();
    const members: Member[] = [
      { id: 'fleet-a', oldKeyArn: shared },
      { id: 'fleet-b', oldKeyArn: shared },
      { id: 'fleet-c', oldKeyArn: own, cutover: 'none' },
      { id: 'fleet-d', oldKeyArn: third },
      { id: 'fleet-plain', oldKeyArn: null },
    ];
    for (const member of members) await createInstance(member.id, member.oldKeyArn);

    // Act
    const result = await runFleet(members, { maxConcurrency: 2, maxFailures: 1 }, 'fleet-ok');

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = (result as { output: FleetOutput }).output;
    expect(output).toMatchObject({
      fleetId: 'fleet-ok',
      status: 'SUCCEEDED',
      counts: { SUCCEEDED: 4, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 },
      evidenceUri: 's3://rekey-evidence/fleets/fleet-ok/record.json',
    });
    const databases = byId(output);
    expect(databases.get('fleet-plain')).toMatchObject({
      status: 'SKIPPED',
      cause: expect.stringContaining('not encrypted'),
    });
    const rotated = ['fleet-a', 'fleet-b', 'fleet-c', 'fleet-d'].map(
      (id) => databases.get(id) as DatabaseOutcome,
    );
    for (const outcome of rotated) {
      expect(outcome.status).toBe('SUCCEEDED');
      expect(outcome.newKeyArn).toMatch(/^arn:aws:kms:/);
      expect(outcome.newKeyArn).not.toBe(outcome.oldKeyArn);
      expect(outcome.evidenceUri).toMatch(/^s3:\/\/rekey-evidence\//);
    }
    expect(mostAtOnce(rotated)).toBeLessThanOrEqual(2);
    // The shared key's databases ran one after another, and the first one kept the key for the second.
    const [a, b] = rotated;
    expect((b?.startedAt as string) >= (a?.finishedAt as string)).toBe(true);
    expect(b?.oldKeyArn).toBe(shared);
    // The shared old key scheduled for deletion only after both of its databases moved: the first
    // rotation kept it because the second database still used it, the second scheduled its deletion.
    expect(await oldKeyOutcomeOf(a)).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('db-instance:fleet-b'),
    });
    expect(await oldKeyOutcomeOf(b)).toMatchObject({
      state: 'PendingDeletion',
      deletionDate: expect.any(String),
    });
    expect(await keyState(shared)).toBe('PendingDeletion');

    // The next run (the real planner) selects the copy of fleet-c, not the old fleet-c its cutover "none" kept.
    const next = await planFleet(
      parseFleetInput({
        fleet: { select: { tags: { 'rekey:rotate': 'true' }, keyOlderThanDays: 0 } },
        reason: 'the next annual rotation',
      }),
      { fleetId: 'fleet-next' },
    );
    const nextIds = next.databases.map((d) => d.id);
    expect(nextIds).toContain(`fleet-c-${databases.get('fleet-c')?.rotationId}`);
    expect(nextIds).not.toContain('fleet-c');
    expect(next.notes).toContainEqual(
      expect.stringMatching(
        /^fleet-c was not selected: Rekey rotation rk[0-9a-f]{10} made fleet-c-rk[0-9a-f]{10} from it under a new key \(fleet-c-rk[0-9a-f]{10} carries rekey:source-db=fleet-c\)/,
      ),
    );
  }, 60_000);

  it('stops starting rotations after maxFailures failures, and fails the fleet naming the databases left', async () => {
    // Prepare: the first database does not exist, so its rotation fails at the preflight.
    const keys = [await newKey(), await newKey(), await newKey()];
    const members: Member[] = [
      { id: 'fleet-missing', oldKeyArn: keys[0] as string },
      { id: 'fleet-x', oldKeyArn: keys[1] as string },
      { id: 'fleet-y', oldKeyArn: keys[2] as string },
    ];
    await createInstance('fleet-x', keys[1] as string);
    await createInstance('fleet-y', keys[2] as string);

    // Act
    const result = await runFleet(members, { maxConcurrency: 1, maxFailures: 1 }, 'fleet-budget');

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'FleetIncomplete' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('fleet-missing (FAILED)');
    expect(cause).toContain('fleet-x (NOT_STARTED)');
    expect(cause).toContain('fleet-y (NOT_STARTED)');
    expect(await keyState(keys[1] as string)).toBe('Enabled');
  }, 60_000);
});
