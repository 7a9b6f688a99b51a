import { CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { describe, expect, it, vi } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { CutoverResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { cutover } from '#strategies/snapshot/cutover.js';
import { type SeededSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { stepEvent } from '../support/events.js';

/** The seeded source and record, plus a second instance standing in for the restored, validated one. */
const prepare = async (): Promise<{ seeded: SeededSample; state: InstanceState; newEndpoint: string }> => {
  const seeded = await seedSample();
  const state = stepEvent('cutover');
  const newId = state.plan.names.newDbInstanceIdentifier;
  const { DBInstance } = await getClients().rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: newId,
      Engine: 'postgres',
      DBInstanceClass: 'db.t3.medium',
      AllocatedStorage: 50,
      MasterUsername: 'orders_admin',
      MasterUserPassword: 'sample-password-not-secret',
    }),
  );
  const newEndpoint = DBInstance?.Endpoint?.Address as string;
  if (state.plan.cutover.type !== 'cname')
    throw new Error('events/steps/cutover.json must plan a CNAME cutover');
  state.plan.cutover.hostedZoneId = seeded.hostedZoneId;
  state.plan.cutover.previousValue = seeded.endpointAddress;
  if (state.validation) state.validation.endpointAddress = newEndpoint;
  return { seeded, state, newEndpoint };
};

const readRecord = async (seeded: SeededSample): Promise<ResourceRecordSet | undefined> => {
  const { ResourceRecordSets } = await getClients().route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: seeded.hostedZoneId }),
  );
  return ResourceRecordSets?.find((r) => r.Name === `${seeded.recordName}.` && r.Type === 'CNAME');
};

/** Runs the step the way the state machine does: again, with its own output, until done. */
const runUntilDone = async (state: InstanceState): Promise<CutoverResult[]> => {
  const results: CutoverResult[] = [];
  let current = state;
  for (let i = 0; i < 5; i += 1) {
    const result = (await cutover(current)) as CutoverResult;
    results.push(result);
    if (result.done) return results;
    current = { ...current, cutover: result };
  }
  throw new Error(`cutover was not done after 5 runs: ${JSON.stringify(results.at(-1))}`);
};

const changesSent = (send: { mock: { calls: unknown[][] } }) =>
  send.mock.calls.filter(([command]) => command instanceof ChangeResourceRecordSetsCommand).length;

describe('cutover on the emulator', () => {
  useEmulator();

  it('moves the CNAME to the new endpoint and verifies it; a second run changes nothing', async () => {
    // Prepare
    const { seeded, state, newEndpoint } = await prepare();
    const send = vi.spyOn(getClients().route53, 'send');

    // Act
    const results = await runUntilDone(state);
    const final = results.at(-1) as CutoverResult;
    const changesBeforeRerun = changesSent(send);
    const again = await cutover({ ...state, cutover: final });

    // Assess
    const record = await readRecord(seeded);
    expect(record?.ResourceRecords).toEqual([{ Value: newEndpoint }]);
    expect(record?.TTL).toBe(60);
    // The first run only records the attempt; the second submits the change.
    expect(results[0]).toMatchObject({ done: false, attempted: true, verified: false, changeId: null });
    expect(results[1]).toMatchObject({ done: false, verified: false, changeId: expect.any(String) });
    expect(final).toMatchObject({
      done: true,
      verified: true,
      changeStatus: 'INSYNC',
      previousValue: seeded.endpointAddress,
      newValue: newEndpoint,
    });
    expect(changesBeforeRerun).toBe(1);
    expect(again).toEqual(final);
    expect(changesSent(send)).toBe(1);
  });

  it('leaves a record that someone pointed elsewhere during the rotation as it is', async () => {
    // Prepare
    const { seeded, state } = await prepare();
    await getClients().route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: seeded.hostedZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: seeded.recordName,
                Type: 'CNAME',
                TTL: 300,
                ResourceRecords: [{ Value: 'orders-dr.example.net' }],
              },
            },
          ],
        },
      }),
    );

    // Act / Assess: the first run only records the attempt.
    const attempted = (await cutover(state)) as CutoverResult;
    await expect(cutover({ ...state, cutover: attempted })).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining('orders-dr.example.net'),
    });
    const record = await readRecord(seeded);
    expect(record?.ResourceRecords).toEqual([{ Value: 'orders-dr.example.net' }]);
  });
});
