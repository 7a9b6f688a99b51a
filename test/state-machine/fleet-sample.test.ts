import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  type DBCluster,
  type DBInstance,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { DatabaseOutcome, FleetOutput } from '#features/fleet/types.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { FLEET_ASL, runStateMachine } from '../../cli/runner.js';
import { seedFleetSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import { evidenceOf, mostAtOnce, oldKeyOutcomeOf } from '../support/fleet-outcomes.js';

/**
 * The sample fleet of `rekey seed` run twice through the real fleet machine, the real planner
 * (PlanFleet reads the tags) and every child rotation, as `rekey run --input events/fleet.json`
 * runs it: what a platform team's annual run and next year's do.
 */

/** Every database as RDS describes it, by identifier (instances, then clusters; clock fields left out). */
const databases = async (): Promise<Map<string, DBInstance | DBCluster>> => {
  const { rds } = getClients();
  const { DBInstances = [] } = await rds.send(new DescribeDBInstancesCommand({}));
  const { DBClusters = [] } = await rds.send(new DescribeDBClustersCommand({}));
  const found = new Map<string, DBInstance | DBCluster>();
  for (const db of DBInstances)
    found.set(db.DBInstanceIdentifier ?? '', { ...db, LatestRestorableTime: undefined });
  for (const db of DBClusters)
    found.set(db.DBClusterIdentifier ?? '', { ...db, LatestRestorableTime: undefined });
  return found;
};

const runFleet = async (executionName: string): Promise<FleetOutput> => {
  const result = await runStateMachine({
    aslPath: FLEET_ASL,
    input: executionInput('fleet'),
    executionName,
    fastWaits: true,
    lockTable: { name: LOCAL_LOCK_TABLE, create: true },
  });
  expect(result.status, result.status === 'FAILED' ? result.cause : '').toBe('SUCCEEDED');
  return (result as { output: FleetOutput }).output;
};

/** The database a rotation left in service: the rename cutover keeps the name, the others add the rotation id. */
const successorOf = (outcome: DatabaseOutcome, cutover: string): string =>
  cutover === 'rename' ? outcome.id : `${outcome.id}-${outcome.rotationId}`;

describe('the sample fleet, rotated twice', () => {
  useEmulator();

  it('rotates every eligible database (maxConcurrency 2), leaves the refused and the untagged ones untouched, retires the shared key last; next year’s run selects the new databases and rotates them again', async () => {
    // Prepare
    const sample = await seedFleetSample();
    const before = await databases();

    // Act
    const first = await runFleet('annual-2027');

    // Assess: the first run.
    const outcomes = new Map(first.databases.map((d) => [d.id, d]));
    expect([...outcomes.keys()].sort()).toEqual([...sample.selected].sort());
    expect(first.counts).toEqual({ SUCCEEDED: 5, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 });
    // Why it ran (the input's reason, kept as evidence) and how it ended, apart.
    expect(first).toMatchObject({
      requestReason: 'annual rotation 2027',
      requestedBy: 'platform-team',
      reason: '5 database(s) rotated, 1 skipped.',
    });
    expect(outcomes.get('fleet-legacy-db')).toMatchObject({
      status: 'SKIPPED',
      cause: expect.stringContaining('fleet-legacy-db is not encrypted'),
    });
    const after = await databases();
    for (const untouched of [...sample.refused, ...sample.notSelected]) {
      expect(after.get(untouched), untouched).toEqual(before.get(untouched));
    }
    const cutovers: Record<string, string> = {
      'fleet-billing-db': 'cname',
      'fleet-invoices-db': 'cname',
      'fleet-catalog-db': 'rename',
      'fleet-audit-db': 'none',
      'fleet-reports-aurora': 'cname',
    };
    const rotated = Object.keys(cutovers).map((id) => outcomes.get(id) as DatabaseOutcome);
    for (const outcome of rotated) {
      expect(outcome.status, `${outcome.id}: ${outcome.cause}`).toBe('SUCCEEDED');
      const successor = after.get(successorOf(outcome, cutovers[outcome.id] ?? ''));
      expect(successor?.KmsKeyId, outcome.id).toBe(outcome.newKeyArn);
      expect(outcome.newKeyArn).not.toBe(outcome.oldKeyArn);
    }
    expect(mostAtOnce(rotated)).toBeLessThanOrEqual(2);
    // Each child names the fleet execution that started it (the console links the two), and its own
    // record links back to it through its input.
    const child = await evidenceOf(outcomes.get('fleet-billing-db'));
    expect(child.input).toMatchObject({
      AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: expect.stringMatching(/:execution:[^:]+:annual-2027$/),
    });
    // The two databases on alias/fleet-shared ran one after the other; only the second retired the key.
    const [one, two] = ['fleet-billing-db', 'fleet-invoices-db']
      .map((id) => outcomes.get(id) as DatabaseOutcome)
      .sort((a, b) => String(a.startedAt).localeCompare(String(b.startedAt)));
    expect(String(two?.startedAt) >= String(one?.finishedAt)).toBe(true);
    expect(await oldKeyOutcomeOf(one)).toMatchObject({ state: 'Retained' });
    expect(await oldKeyOutcomeOf(two)).toMatchObject({ state: 'PendingDeletion' });
    const { KeyMetadata } = await getClients().kms.send(
      new DescribeKeyCommand({ KeyId: sample.sharedKeyArn }),
    );
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');

    // Act: next year's run, with the same input.
    const second = await runFleet('annual-2028');

    // Assess: it selected the databases the first run left in service (and the refused one again), and
    // moved each from the key the first run gave it to a newer one.
    const expected = rotated.map((o) => successorOf(o, cutovers[o.id] ?? ''));
    expect(second.databases.map((d) => d.id).sort()).toEqual([...expected, 'fleet-legacy-db'].sort());
    expect(second.counts).toEqual({ SUCCEEDED: 5, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 });
    const again = new Map(second.databases.map((d) => [d.id, d]));
    for (const outcome of rotated) {
      const next = again.get(successorOf(outcome, cutovers[outcome.id] ?? ''));
      expect(next?.oldKeyArn, outcome.id).toBe(outcome.newKeyArn);
      expect(next?.newKeyArn).not.toBe(outcome.newKeyArn);
    }
  }, 90_000);

  it('with fleet.planOnly plans on the machine and stops: the plan is written, nothing is changed', async () => {
    // Prepare
    await seedFleetSample();
    const before = await databases();
    const input = executionInput('fleet');

    // Act
    const result = await runStateMachine({
      aslPath: FLEET_ASL,
      input: { ...input, fleet: { ...(input.fleet as object), planOnly: true } },
      executionName: 'plan-2027',
      fastWaits: true,
      lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    });

    // Assess
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        status: 'PLANNED',
        fleetId: 'plan-2027',
        planUri: 's3://rekey-evidence/fleets/plan-2027/plan.json',
      },
    });
    const groups = (result as { output: { groups: { ids: string[] }[] } }).output.groups;
    expect(groups.flatMap((g) => g.ids).sort()).toEqual([
      'fleet-audit-db',
      'fleet-billing-db',
      'fleet-catalog-db',
      'fleet-invoices-db',
      'fleet-reports-aurora',
    ]);
    expect(await databases()).toEqual(before);
  });
});
