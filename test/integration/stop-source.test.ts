import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { seedSample } from '../../cli/seed.js';
import { getClients } from '../../functions/commons/clients.js';
import { stopSource } from '../../functions/stop-source.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

describe('stop-source on the emulator', () => {
  useEmulator();

  it('leaves the source stopped, and a second run finds it stopped without acting again', async () => {
    // Prepare
    await seedSample();
    const state = stepEvent('stop-source');

    // Act
    const first = await stopSource(state);
    const second = await stopSource({ ...state, freeze: first });

    // Assess
    const { DBInstances } = await getClients().rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-db' }),
    );
    expect(DBInstances?.[0]?.DBInstanceStatus).toBe('stopped');
    expect(first.done).toBe(false);
    expect(second).toEqual({ done: true, stoppedByRekey: true, status: 'stopped' });
  });
});
