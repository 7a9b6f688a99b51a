import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  CreateDBInstanceReadReplicaCommand,
} from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { runStateMachine } from '../../cli/runner.js';
import { SAMPLE, type SeededSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { emulatorState } from '../support/emulator-state.js';
import { executionInput } from '../support/events.js';

type Case = {
  name: string;
  /** Builds the input (and any extra emulator state) from the seeded sample. */
  input: (sample: SeededSample) => Promise<Record<string, unknown>> | Record<string, unknown>;
  error: string;
  cause: RegExp;
};

const base = () => executionInput('break-glass');
const withCutover = (cutover: Record<string, unknown>) => ({ ...base(), cutover });

const CASES: Case[] = [
  {
    name: 'a malformed identifier',
    input: () => ({ ...base(), dbInstanceIdentifier: 'orders--db' }),
    error: 'InvalidInputError',
    cause: /dbInstanceIdentifier: must be an RDS DB instance identifier.*\(given: "orders--db"\)/,
  },
  {
    name: 'an over-long identifier',
    input: () => ({ ...base(), dbInstanceIdentifier: `a${'b'.repeat(63)}` }),
    error: 'InvalidInputError',
    cause: /dbInstanceIdentifier: must be at most 63 characters/,
  },
  {
    name: 'an unknown database',
    input: () => ({ ...base(), dbInstanceIdentifier: 'no-such-db' }),
    error: 'PreconditionFailedError',
    cause: /no DB instance "no-such-db"/,
  },
  {
    name: 'both target fields',
    input: () => ({ ...base(), dbClusterIdentifier: 'orders-cluster' }),
    error: 'InvalidInputError',
    cause: /dbClusterIdentifier: give either dbInstanceIdentifier or dbClusterIdentifier, not both/,
  },
  {
    name: 'neither target field',
    input: () => {
      const { dbInstanceIdentifier: _target, ...input } = base();
      return input;
    },
    error: 'InvalidInputError',
    cause: /dbInstanceIdentifier: is required/,
  },
  {
    name: 'a read replica given as the instance',
    input: async () => {
      await getClients().rds.send(
        new CreateDBInstanceReadReplicaCommand({
          DBInstanceIdentifier: 'orders-replica',
          SourceDBInstanceIdentifier: SAMPLE.dbInstanceIdentifier,
          DBInstanceClass: 'db.t3.medium',
        }),
      );
      return { ...base(), dbInstanceIdentifier: 'orders-replica', cutover: { type: 'none' } };
    },
    error: 'PreconditionFailedError',
    cause: /orders-replica is a read replica of orders-db/,
  },
  {
    name: 'an Aurora member given as the instance',
    input: async () => {
      const { rds } = getClients();
      await rds.send(
        new CreateDBClusterCommand({
          DBClusterIdentifier: 'orders-aurora',
          Engine: 'aurora-postgresql',
          MasterUsername: 'admin_user',
          MasterUserPassword: 'sample-password-1',
          StorageEncrypted: true,
        }),
      );
      await rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: 'orders-aurora-1',
          DBClusterIdentifier: 'orders-aurora',
          Engine: 'aurora-postgresql',
          DBInstanceClass: 'db.r6g.large',
        }),
      );
      return { ...base(), dbInstanceIdentifier: 'orders-aurora-1', cutover: { type: 'none' } };
    },
    error: 'PreconditionFailedError',
    cause: /member of the Aurora cluster orders-aurora/,
  },
  {
    name: 'an unencrypted database',
    input: async () => {
      await getClients().rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: 'plain-db',
          Engine: 'postgres',
          DBInstanceClass: 'db.t3.micro',
          AllocatedStorage: 20,
          MasterUsername: 'plain_admin',
          MasterUserPassword: 'sample-password-2',
        }),
      );
      return { ...base(), dbInstanceIdentifier: 'plain-db', cutover: { type: 'none' } };
    },
    error: 'PreconditionFailedError',
    cause: /plain-db is not encrypted/,
  },
  ...[0, 6, 31, 7.5].map(
    (days): Case => ({
      name: `oldKeyPendingWindowDays ${days}`,
      input: () => ({ ...base(), oldKeyPendingWindowDays: days }),
      error: 'InvalidInputError',
      cause: new RegExp(`oldKeyPendingWindowDays: must be .*\\(given: ${days}\\)`),
    }),
  ),
  {
    name: 'an unknown cutover type',
    input: () => withCutover({ type: 'dns', recordName: SAMPLE.recordName }),
    error: 'InvalidInputError',
    cause: /cutover.type: must be "cname", "rename" or "none" \(given: "dns"\)/,
  },
  {
    name: 'a hosted zone that does not exist',
    input: () =>
      withCutover({ type: 'cname', hostedZoneId: 'Z0000000000NOPE', recordName: SAMPLE.recordName }),
    error: 'PreconditionFailedError',
    cause: /cutover.hostedZoneId: no hosted zone Z0000000000NOPE/,
  },
  {
    name: 'a record that does not exist',
    input: () => withCutover({ type: 'cname', recordName: `missing.${SAMPLE.zoneName}` }),
    error: 'PreconditionFailedError',
    cause: /there is no record missing.db.example.internal/,
  },
  {
    name: 'a record that is not a CNAME',
    input: async (sample) => {
      await getClients().route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: sample.hostedZoneId,
          ChangeBatch: {
            Changes: [
              {
                Action: 'CREATE',
                ResourceRecordSet: {
                  Name: `legacy.${SAMPLE.zoneName}`,
                  Type: 'A',
                  TTL: 60,
                  ResourceRecords: [{ Value: '10.0.0.12' }],
                },
              },
            ],
          },
        }),
      );
      return withCutover({ type: 'cname', recordName: `legacy.${SAMPLE.zoneName}` });
    },
    error: 'PreconditionFailedError',
    cause: /legacy.db.example.internal is of type A, not CNAME/,
  },
  {
    name: 'a missing reason',
    input: () => {
      const { reason: _reason, ...input } = base();
      return input;
    },
    error: 'InvalidInputError',
    cause: /reason: is required/,
  },
  {
    name: 'an unknown extra field (a typo)',
    input: () => ({ ...base(), oldInstnace: 'retain' }),
    error: 'InvalidInputError',
    cause: /unknown field "oldInstnace": remove it or fix the spelling/,
  },
];

describe('bad input is refused before anything changes', () => {
  useEmulator();

  it.each(CASES)('refuses $name', async ({ input, error, cause }) => {
    // Prepare
    const sample = await seedSample();
    const document = await input(sample);
    const before = await emulatorState();

    // Act
    const result = await runStateMachine({
      input: document,
      fastWaits: true,
      lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error });
    const text = (result as { cause: string }).cause;
    expect(text).toMatch(cause);
    expect(text).toMatch(/Nothing was changed in AWS\.$/);
    expect(await emulatorState()).toEqual(before);
  });
});
