import {
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { planCname } from '#aws/cname-preflight.js';

const route53 = mockClient(Route53Client);
const client = new Route53Client({ region: 'us-east-1' });
const READER = 'orders-aurora.cluster-ro-abc.us-east-1.rds.amazonaws.com';
const NAME = 'orders-ro.db.example.internal';

describe('planCname: records with a routing policy', () => {
  beforeEach(() => {
    route53.reset();
    route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [{ Id: '/hostedzone/ZREADER', Name: 'db.example.internal.', CallerReference: 'c' }],
      IsTruncated: false,
      MaxItems: 100,
    });
  });

  it.each([
    ['latency', { Region: 'us-east-1' as const }],
    ['geolocation', { GeoLocation: { CountryCode: 'DE' } }],
    ['weighted', { Weight: 10 }],
  ])(
    'refuses the reader record of a cluster with a %s policy, naming the field and the record',
    async (policy, fields) => {
      // Prepare
      route53.on(ListResourceRecordSetsCommand).resolves({
        ResourceRecordSets: [
          {
            Name: `${NAME}.`,
            Type: 'CNAME',
            TTL: 60,
            SetIdentifier: 'a',
            ...fields,
            ResourceRecords: [{ Value: READER }],
          },
          {
            Name: `${NAME}.`,
            Type: 'CNAME',
            TTL: 60,
            SetIdentifier: 'b',
            ...fields,
            ResourceRecords: [{ Value: READER }],
          },
        ],
        IsTruncated: false,
        MaxItems: 20,
      });

      // Act / Assess
      await expect(
        planCname(client, { recordName: NAME, ttl: 60 }, READER, 'cutover.readerRecordName'),
      ).rejects.toMatchObject({
        name: 'PreconditionFailedError',
        message: expect.stringContaining(
          `cutover.readerRecordName: ${NAME} in hosted zone ZREADER is a CNAME with a ${policy} routing policy (set identifiers "a", "b").`,
        ),
      });
    },
  );

  it('accepts a simple CNAME of the same shape', async () => {
    // Prepare
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        { Name: `${NAME}.`, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: READER }] },
      ],
      IsTruncated: false,
      MaxItems: 20,
    });

    // Act
    const plan = await planCname(client, { recordName: NAME, ttl: 60 }, READER, 'cutover.readerRecordName');

    // Assess
    expect(plan).toEqual({
      type: 'cname',
      hostedZoneId: 'ZREADER',
      recordName: NAME,
      ttl: 60,
      previousValue: READER,
    });
  });
});
