import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { reconcileRename } from '#reconcilers/rename.js';

const rdsMock = mockClient(RDSClient);
const rds = new RDSClient({ region: 'us-east-1' });

const instances = (byName: Record<string, { status: string; owner?: string }>) => {
  rdsMock.on(DescribeDBInstancesCommand).callsFake(({ DBInstanceIdentifier }) => {
    const found = byName[DBInstanceIdentifier];
    if (!found) {
      throw Object.assign(new Error(`DBInstance ${DBInstanceIdentifier} not found.`), {
        name: 'DBInstanceNotFoundFault',
      });
    }
    return {
      DBInstances: [
        {
          DBInstanceIdentifier,
          DBInstanceStatus: found.status,
          TagList: found.owner ? [{ Key: 'owner', Value: found.owner }] : [],
        },
      ],
    };
  });
};

const step = (requested = false) => ({
  from: 'orders-db-rk1',
  to: 'orders-db',
  expectedAtTarget: (db: { TagList?: { Value?: string }[] }) => db.TagList?.[0]?.Value === 'rekey',
  requested,
  what: 'Giving the new instance the original identifier',
});

describe('reconcileRename', () => {
  beforeEach(() => rdsMock.reset());

  it('renames an available instance whose target name is free, applying at once', async () => {
    // Prepare
    instances({ 'orders-db-rk1': { status: 'available' } });
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const progress = await reconcileRename(rds, step());

    // Assess
    expect(progress).toEqual({ done: false, status: 'renaming', requested: true });
    expect(rdsMock).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'orders-db-rk1',
      NewDBInstanceIdentifier: 'orders-db',
      ApplyImmediately: true,
    });
  });

  it('refuses before trying when the target name holds another instance', async () => {
    // Prepare
    instances({
      'orders-db-rk1': { status: 'available' },
      'orders-db': { status: 'available', owner: 'someone' },
    });

    // Act / Assess
    await expect(reconcileRename(rds, step())).rejects.toMatchObject({
      name: 'CutoverFailedError',
      message: expect.stringContaining(
        'a DB instance named orders-db already exists and is not the one being renamed',
      ),
    });
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('is done once the expected instance is under the target name and settled', async () => {
    // Prepare
    instances({ 'orders-db': { status: 'available', owner: 'rekey' } });

    // Act / Assess
    expect(await reconcileRename(rds, step(true))).toEqual({
      done: true,
      status: 'available',
      requested: true,
    });
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('waits while the instance is busy, and while a requested rename has neither name yet', async () => {
    // Prepare
    instances({ 'orders-db-rk1': { status: 'modifying' } });

    // Act / Assess
    expect(await reconcileRename(rds, step())).toEqual({
      done: false,
      status: 'modifying',
      requested: false,
    });
    instances({});
    expect(await reconcileRename(rds, step(true))).toEqual({
      done: false,
      status: 'renaming',
      requested: true,
    });
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('says what happened when neither name exists and no rename was asked for', async () => {
    // Prepare
    instances({});

    // Act / Assess
    await expect(reconcileRename(rds, step())).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining('neither orders-db-rk1 nor orders-db exists'),
    });
  });
});
