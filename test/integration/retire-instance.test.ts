import {
  CreateDBInstanceCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  StopDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { RetireInstanceResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { markRetirement } from '#reconcilers/retirement.js';
import { retireDatabase } from '#strategies/snapshot/retire-database.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

const describeInstance = async (id: string) => {
  try {
    const { DBInstances } = await getClients().rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }),
    );
    return DBInstances?.[0] ?? null;
  } catch (error) {
    if (error instanceof Error && error.name === 'DBInstanceNotFoundFault') return null;
    throw error;
  }
};

const createInstance = (id: string) =>
  getClients().rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: 50,
      MasterUsername: 'orders_admin',
      MasterUserPassword: 'sample-password-not-secret',
    }),
  );

/** The seeded source (deletion protection on, running) and the new instance beside it. */
const prepare = async (): Promise<InstanceState> => {
  await seedSample();
  const state = stepEvent('retire-database');
  await createInstance(state.plan.names.newDbInstanceIdentifier);
  const source = await describeInstance('orders-db');
  state.plan.source.dbiResourceId = source?.DbiResourceId ?? null;
  // What the verified Cutover does: the new instance serves, the source is retired.
  await markRetirement(getClients().rds, state.plan.rotationId, {
    serving: [],
    retired: [source?.DBInstanceArn as string],
  });
  return state;
};

/** What stop-source does before the freeze when the old instance will be deleted. */
const liftProtectionAndStop = async () => {
  await getClients().rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: 'orders-db',
      DeletionProtection: false,
      ApplyImmediately: true,
    }),
  );
  await getClients().rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'orders-db' }));
};

/** Runs the step the way the state machine does: again, with its own output, until done. */
const runUntilDone = async (state: InstanceState): Promise<RetireInstanceResult[]> => {
  const results: RetireInstanceResult[] = [];
  let current = state;
  for (let i = 0; i < 6; i += 1) {
    const result = await retireDatabase(current);
    results.push(result);
    if (result.done) return results;
    current = { ...current, retireInstance: result };
  }
  throw new Error(`retire-instance was not done after 6 runs: ${JSON.stringify(results.at(-1))}`);
};

describe('retire-instance on the emulator', () => {
  useEmulator();

  it('deletes the stopped source (whose protection stop-source lifted) and only it; a second run reports it deleted', async () => {
    // Prepare: what stop-source leaves: deletion protection lifted while running, then stopped.
    const state = await prepare();
    await liftProtectionAndStop();
    const before = await describeInstance('orders-db');

    // Act
    const results = await runUntilDone(state);
    const again = await retireDatabase({ ...state, retireInstance: results.at(-1) });

    // Assess
    expect(before).toMatchObject({ DBInstanceStatus: 'stopped', DeletionProtection: false });
    expect(await describeInstance('orders-db')).toBeNull();
    expect(await describeInstance(state.plan.names.newDbInstanceIdentifier)).toMatchObject({
      DBInstanceStatus: 'available',
    });
    expect(results.map((r) => [r.done, r.status])).toEqual([
      [false, 'deleting'],
      [true, 'deleted'],
    ]);
    expect(again).toEqual({ done: true, outcome: 'deleted', status: 'deleted' });
  });

  it('keeps a stopped source whose protection is on, without starting it', async () => {
    // Prepare: someone turned protection on again after stop-source lifted it.
    const state = await prepare();
    await getClients().rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'orders-db' }));

    // Act
    const results = await runUntilDone(state);

    // Assess
    expect(results).toEqual([
      expect.objectContaining({ done: true, outcome: 'retained', status: 'stopped' }),
    ]);
    expect(await describeInstance('orders-db')).toMatchObject({
      DBInstanceStatus: 'stopped',
      DeletionProtection: true,
    });
  });

  it('refuses, and deletes nothing, when the cutover was not verified', async () => {
    // Prepare
    const state = await prepare();
    if (state.cutover) state.cutover.verified = false;

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({ name: 'PreconditionFailedError' });
    expect(await describeInstance('orders-db')).toMatchObject({ DeletionProtection: true });
  });

  it('refuses to delete an instance whose resource id is not the one preflight recorded', async () => {
    // Prepare: moto gives every instance the same DbiResourceId, so an instance re-created under the
    // source identifier cannot be told apart here; a plan that recorded another id stands in for it.
    const state = await prepare();
    state.plan.source.dbiResourceId = 'db-0RIGINALSOURCEINSTANCE00000';

    // Act / Assess
    await expect(retireDatabase(state)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('not the instance this rotation started from'),
    });
    expect(await describeInstance('orders-db')).toMatchObject({ DeletionProtection: true });
  });
});
