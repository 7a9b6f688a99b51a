import { CreateDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { PreflightInput } from '#targets/ops.js';
import { preflight } from '#targets/preflight.js';
import { SAMPLE, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';

const EXECUTION = 'arn:aws:states:us-east-1:123456789012:execution:rekey:preflight-test';
const event = (input: unknown): PreflightInput => ({
  input,
  executionId: EXECUTION,
  startedAt: '2026-11-22T10:00:00Z',
});

describe('preflight on the emulator', () => {
  useEmulator();

  it('plans the break-glass rotation of the seeded sample: configuration, names, zone found from the record name', async () => {
    // Prepare
    const sample = await seedSample();

    // Act
    const plan = await preflight(event(executionInput('break-glass')));

    // Assess
    expect(plan.source).toMatchObject({
      dbInstanceIdentifier: 'orders-db',
      endpointAddress: sample.endpointAddress,
      kmsKeyArn: sample.oldKeyArn,
      keyManager: 'CUSTOMER',
    });
    expect(plan.source.config).toMatchObject({
      dbParameterGroupName: SAMPLE.parameterGroupName,
      vpcSecurityGroupIds: [...SAMPLE.securityGroupIds].sort(),
      deletionProtection: true,
      tags: SAMPLE.tags,
    });
    expect(plan.cutover).toEqual({
      type: 'cname',
      hostedZoneId: sample.hostedZoneId,
      recordName: SAMPLE.recordName,
      ttl: 60,
      previousValue: sample.endpointAddress,
    });
    expect(plan.names.newDbInstanceIdentifier).toBe(`orders-db-${plan.rotationId}`);
    expect(plan.decisions).toMatchObject({ stopSource: true, deleteOldInstance: true, retireOldKey: true });
    expect(plan.accountId).toBe('123456789012');
  });

  it('derives the same rotation id when it runs again for the same execution', async () => {
    // Prepare
    await seedSample();

    // Act
    const first = await preflight(event(executionInput('break-glass')));
    const second = await preflight(event(executionInput('break-glass')));

    // Assess
    expect(second.rotationId).toBe(first.rotationId);
    expect(second.names).toEqual(first.names);
  });

  it('plans a rename cutover: the aside name and the endpoint clients keep', async () => {
    // Prepare
    const sample = await seedSample();

    // Act
    const plan = await preflight(event(executionInput('rename-cutover')));

    // Assess
    expect(plan.cutover).toEqual({
      type: 'rename',
      asideIdentifier: `orders-db-old-${plan.rotationId}`,
      endpointAddress: sample.endpointAddress,
    });
    expect(plan.strategy).toMatchObject({ requested: 'snapshot', used: 'snapshot' });
  });

  it('refuses a rename cutover when the aside name is taken (RDS would refuse the rename; the emulator would overwrite)', async () => {
    // Prepare
    await seedSample();
    const { rotationId } = await preflight(event(executionInput('break-glass')));
    await getClients().rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: `orders-db-old-${rotationId}`,
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'u',
        MasterUserPassword: 'password-1234',
      }),
    );

    // Act / Assess
    await expect(preflight(event(executionInput('rename-cutover')))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(
        `moves the source aside to orders-db-old-${rotationId}, but a DB instance of that name already exists`,
      ),
    });
  });

  it('chooses Blue/Green under "auto" for an eligible database, and plans no stop', async () => {
    // Prepare
    await seedSample();

    // Act
    const plan = await preflight(event({ ...executionInput('break-glass'), strategy: 'auto' }));

    // Assess
    expect(plan.strategy).toMatchObject({ requested: 'auto', used: 'blue-green', blueGreenIneligible: [] });
    expect(plan.decisions).toMatchObject({ stopSource: false, switchClients: true, deleteOldInstance: true });
  });

  it('refuses a database that does not exist, naming it', async () => {
    // Act / Assess
    await expect(
      preflight(event({ ...executionInput('break-glass'), dbInstanceIdentifier: 'no-such-db' })),
    ).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('no DB instance "no-such-db"'),
    });
  });

  it('refuses an unencrypted instance', async () => {
    // Prepare
    await getClients().rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: 'plain-db',
        Engine: 'postgres',
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'u',
        MasterUserPassword: 'password-1234',
      }),
    );

    // Act / Assess
    await expect(
      preflight(event({ dbInstanceIdentifier: 'plain-db', cutover: { type: 'none' }, reason: 'test' })),
    ).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('not encrypted'),
    });
  });

  it('refuses a source that is not available', async () => {
    // Prepare
    await seedSample();
    await getClients().rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'orders-db' }));

    // Act / Assess
    await expect(preflight(event(executionInput('break-glass')))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('"stopped", not "available"'),
    });
  });

  it('refuses when the CNAME does not point at the source, and says where it points', async () => {
    // Prepare
    const sample = await seedSample();
    await getClients().route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: sample.hostedZoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: SAMPLE.recordName,
                Type: 'CNAME',
                TTL: 60,
                ResourceRecords: [{ Value: 'elsewhere.example.com' }],
              },
            },
          ],
        },
      }),
    );

    // Act / Assess
    await expect(preflight(event(executionInput('break-glass')))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('points at elsewhere.example.com'),
    });
  });

  it('refuses a record name held by two hosted zones unless the zone id is given', async () => {
    // Prepare
    await seedSample();
    await getClients().route53.send(
      new CreateHostedZoneCommand({ Name: SAMPLE.zoneName, CallerReference: 'second-zone' }),
    );

    // Act / Assess
    await expect(preflight(event(executionInput('break-glass')))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('2 hosted zones could hold'),
    });
  });

  it.each([
    ['weighted', { Weight: 100 }],
    ['failover', { Failover: 'PRIMARY' as const }],
  ])(
    'refuses a %s CNAME before anything changes, naming the record, its policy and what to do',
    async (policy, fields) => {
      // Prepare: the record of the name becomes a routing-policy record.
      const sample = await seedSample();
      const record = { Name: SAMPLE.recordName, Type: 'CNAME' as const, TTL: 60 };
      await getClients().route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: sample.hostedZoneId,
          ChangeBatch: {
            Changes: [
              {
                Action: 'DELETE',
                ResourceRecordSet: { ...record, ResourceRecords: [{ Value: sample.endpointAddress }] },
              },
              {
                Action: 'CREATE',
                ResourceRecordSet: {
                  ...record,
                  SetIdentifier: 'blue',
                  ...fields,
                  ResourceRecords: [{ Value: sample.endpointAddress }],
                },
              },
            ],
          },
        }),
      );

      // Act / Assess
      await expect(preflight(event(executionInput('break-glass')))).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringMatching(
          new RegExp(
            `^cutover\\.recordName: ${SAMPLE.recordName} in hosted zone ${sample.hostedZoneId} is a CNAME with a ${policy} routing policy \\(set identifier "blue"\\)\\..*one simple CNAME pointing at the source endpoint ${sample.endpointAddress}.*cutover type "none"`,
          ),
        ),
      });
    },
  );

  it('moves the record in the most specific zone, and notes that a less specific zone holding the same name is not touched', async () => {
    // Prepare: a parent zone example.internal with a record of the same name.
    const sample = await seedSample();
    const { route53 } = getClients();
    const { HostedZone: parent } = await route53.send(
      new CreateHostedZoneCommand({ Name: 'example.internal', CallerReference: 'parent-zone' }),
    );
    const parentId = (parent?.Id ?? '').replace('/hostedzone/', '');
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: parentId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'CREATE',
              ResourceRecordSet: {
                Name: SAMPLE.recordName,
                Type: 'CNAME',
                TTL: 300,
                ResourceRecords: [{ Value: 'legacy.example.internal' }],
              },
            },
          ],
        },
      }),
    );

    // Act
    const plan = await preflight(event(executionInput('break-glass')));

    // Assess
    expect(plan.cutover).toMatchObject({ type: 'cname', hostedZoneId: sample.hostedZoneId });
    const note = plan.decisions.notes.find((n) => n.includes(parentId));
    expect(note).toMatch(
      new RegExp(
        `is moved in hosted zone ${sample.hostedZoneId} \\(${SAMPLE.zoneName}\\), the most specific zone.*less specific zone ${parentId} \\(example\\.internal\\) also has a record of that name \\(CNAME\\); Rekey does not touch it`,
      ),
    );
  });

  it('refuses a hosted zone id that does not exist', async () => {
    // Prepare
    await seedSample();
    const input = executionInput('break-glass');
    input.cutover = { type: 'cname', hostedZoneId: 'Z0000000000NOPE', recordName: SAMPLE.recordName };

    // Act / Assess
    await expect(preflight(event(input))).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('no hosted zone Z0000000000NOPE'),
    });
  });
});
