import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { stopSource } from '#strategies/snapshot/stop-source.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

describe('stop-source on the emulator', () => {
  useEmulator();

  it('lifts deletion protection, then stops the source; a further run finds it stopped without acting again', async () => {
    // Prepare
    await seedSample();
    const state = stepEvent('stop-source');

    // Act
    let result = await stopSource(state);
    const calls: string[] = [result.status];
    while (!result.done) {
      result = await stopSource({ ...state, freeze: result });
      calls.push(result.status);
    }
    const again = await stopSource({ ...state, freeze: result });

    // Assess
    const { DBInstances } = await getClients().rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-db' }),
    );
    expect(DBInstances?.[0]).toMatchObject({ DBInstanceStatus: 'stopped', DeletionProtection: false });
    expect(calls).toEqual(['modifying', 'stopping', 'stopped']);
    expect(again).toEqual({
      done: true,
      stoppedByRekey: true,
      deletionProtectionLifted: true,
      status: 'stopped',
    });
  });
});
