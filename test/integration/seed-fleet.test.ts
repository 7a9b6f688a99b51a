import { DescribeDBClustersCommand, ListTagsForResourceCommand } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { seedFleetSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';

/** `rekey seed`'s fleet sample: what `events/fleet.json` selects, seeded again without duplicates. */
useEmulator();

const tagsOf = async (arn: string) => {
  const { TagList } = await getClients().rds.send(new ListTagsForResourceCommand({ ResourceName: arn }));
  return Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]));
};

describe('rekey seed: the fleet sample', () => {
  it('seeds six selected databases, one refused and one untagged, and a second run finds the same', async () => {
    // Prepare
    const { rds, route53 } = getClients();
    const sample = await seedSample();

    // Act
    const first = await seedFleetSample({ hostedZoneId: sample.hostedZoneId });
    const second = await seedFleetSample({ hostedZoneId: sample.hostedZoneId });

    // Assess
    expect(second).toEqual(first);
    expect(first.selected).toHaveLength(6);
    expect(first.refused).toEqual(['fleet-legacy-db']);
    expect(first.notSelected).toEqual(['fleet-untagged-db']);

    const billing = await findInstance(rds, 'fleet-billing-db');
    const invoices = await findInstance(rds, 'fleet-invoices-db');
    expect(billing?.KmsKeyId).toBe(first.sharedKeyArn);
    expect(invoices?.KmsKeyId).toBe(first.sharedKeyArn);
    expect((await findInstance(rds, 'fleet-catalog-db'))?.KmsKeyId).not.toBe(first.sharedKeyArn);

    const legacy = await findInstance(rds, 'fleet-legacy-db');
    expect(legacy?.StorageEncrypted).toBe(false);
    expect(await tagsOf(legacy?.DBInstanceArn as string)).toMatchObject({ 'rekey:rotate': 'annual' });

    const untagged = await findInstance(rds, 'fleet-untagged-db');
    expect(untagged?.StorageEncrypted).toBe(true);
    expect(await tagsOf(untagged?.DBInstanceArn as string)).not.toHaveProperty('rekey:rotate');

    expect(await tagsOf(billing?.DBInstanceArn as string)).toMatchObject({
      'rekey:rotate': 'annual',
      'rekey:cutover': 'cname',
      'rekey:record-name': 'fleet-billing-db.db.example.internal',
    });

    const { DBClusters } = await rds.send(
      new DescribeDBClustersCommand({ DBClusterIdentifier: 'fleet-reports-aurora' }),
    );
    expect(DBClusters).toHaveLength(1);
    expect(DBClusters?.[0]?.DBClusterMembers).toHaveLength(1);
    expect(await tagsOf(DBClusters?.[0]?.DBClusterArn as string)).toMatchObject({
      'rekey:rotate': 'annual',
      'rekey:reader-record-name': 'fleet-reports-aurora-ro.db.example.internal',
    });

    const { ResourceRecordSets } = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: sample.hostedZoneId }),
    );
    const byName = Object.fromEntries(
      (ResourceRecordSets ?? []).map((r) => [r.Name?.replace(/\.$/, ''), r.ResourceRecords?.[0]?.Value]),
    );
    expect(byName['fleet-billing-db.db.example.internal']).toBe(billing?.Endpoint?.Address);
    expect(byName['fleet-reports-aurora-ro.db.example.internal']).toBe(DBClusters?.[0]?.ReaderEndpoint);
  });
});
