import { DescribeKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { DeleteDBInstanceCommand, ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { seedClusterSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';

/**
 * `rekey seed` runs again before each sample input of the README's walk-through: a second run
 * finds what the first created, and a sample database a rotation deleted comes back (under a
 * usable key, since its old key is pending deletion) with the CNAME pointing at it.
 */
useEmulator();

const recordValue = async (hostedZoneId: string, name: string) => {
  const { ResourceRecordSets } = await getClients().route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: name }),
  );
  return ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value;
};

describe('rekey seed', () => {
  it('is idempotent: a second run changes nothing and reports the same resources', async () => {
    // Prepare
    const first = await seedSample();
    const firstCluster = await seedClusterSample({ hostedZoneId: first.hostedZoneId });

    // Act
    const second = await seedSample();
    const secondCluster = await seedClusterSample({ hostedZoneId: second.hostedZoneId });

    // Assess
    expect(second).toEqual(first);
    expect(secondCluster).toEqual(firstCluster);
  });

  it('brings back a sample database a rotation deleted, under a usable key, with the record on it', async () => {
    // Prepare: what a CNAME rotation leaves: the source deleted, its key pending deletion.
    const { rds, kms } = getClients();
    const first = await seedSample();
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: 'orders-db',
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
    await rds.send(
      new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'orders-db', SkipFinalSnapshot: true }),
    );
    await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: first.oldKeyArn.split('/').pop(), PendingWindowInDays: 7 }),
    );

    // Act
    const again = await seedSample();

    // Assess
    expect(again.oldKeyArn).not.toBe(first.oldKeyArn);
    const key = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/orders-db' }));
    expect(key.KeyMetadata).toMatchObject({ Arn: again.oldKeyArn, KeyState: 'Enabled' });
    expect((await findInstance(rds, 'orders-db'))?.KmsKeyId).toBe(again.oldKeyArn);
    expect(await recordValue(again.hostedZoneId, again.recordName)).toBe(again.endpointAddress);
    expect(again.hostedZoneId).toBe(first.hostedZoneId);
  });
});
