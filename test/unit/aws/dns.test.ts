import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { normaliseDns, recordsNamed, targetOf } from '#aws/dns.js';

const route53 = mockClient(Route53Client);

describe('dns', () => {
  beforeEach(() => {
    route53.reset();
  });

  it('compares names as Route 53 does: case, trailing dot and octal escapes', () => {
    expect(normaliseDns('\\052.DB.Example.Internal.')).toBe('*.db.example.internal');
  });

  it('keeps only the records of the name asked for, of every type', async () => {
    // Prepare: Route 53 lists the zone from the start name on, so later names come back too.
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: 'orders.db.example.internal.', Type: 'A', ResourceRecords: [{ Value: '10.0.0.1' }] },
        { Name: 'orders.db.example.internal.', Type: 'TXT', ResourceRecords: [{ Value: '"x"' }] },
        {
          Name: 'payments.db.example.internal.',
          Type: 'CNAME',
          ResourceRecords: [{ Value: 'p.example.com' }],
        },
      ],
      IsTruncated: false,
      MaxItems: 20,
    });

    // Act
    const records = await recordsNamed(new Route53Client({}), 'Z1', 'orders.db.example.internal');

    // Assess
    expect(records.map((r) => r.Type)).toEqual(['A', 'TXT']);
    expect(records[0] && targetOf(records[0])).toBe('10.0.0.1');
  });
});
