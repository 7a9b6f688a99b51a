import {
  type ChangeInfo,
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';

/** Route 53 accepts a change comment of at most 256 characters. */
const COMMENT_MAX = 256;

/** Records of one name: several types may share it; a name with more is not one Rekey moves anyway. */
const RECORDS_PER_NAME = 20;

/**
 * A DNS name or CNAME value as Route 53 compares it: case-insensitive, without the trailing dot,
 * with Route 53's octal escapes (`\052` for `*`) decoded.
 */
export const normaliseDns = (name: string): string =>
  name
    .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '');

/**
 * Every record named `recordName` in the zone, whatever its type. ListResourceRecordSets lists the
 * zone in order *from* the start name, so what it returns after our name belongs to other names:
 * keep only exact matches. (Starting at type CNAME would skip an A record of the same name.)
 */
export const recordsNamed = async (
  route53: Route53Client,
  hostedZoneId: string,
  recordName: string,
): Promise<ResourceRecordSet[]> => {
  const { ResourceRecordSets } = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      StartRecordName: recordName,
      MaxItems: RECORDS_PER_NAME,
    }),
  );
  const wanted = normaliseDns(recordName);
  return (ResourceRecordSets ?? []).filter((record) => normaliseDns(record.Name ?? '') === wanted);
};

/** Where a record points, normalised, or `null` when it holds no value. */
export const targetOf = (record: ResourceRecordSet): string | null => {
  const raw = record.ResourceRecords?.[0]?.Value ?? record.AliasTarget?.DNSName;
  return raw ? normaliseDns(raw) : null;
};

/** UPSERT a simple CNAME. Route 53 applies a change batch atomically. */
export const upsertCname = async (
  route53: Route53Client,
  change: { hostedZoneId: string; recordName: string; ttl: number; value: string; comment: string },
): Promise<ChangeInfo | undefined> => {
  const { ChangeInfo: info } = await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: change.hostedZoneId,
      ChangeBatch: {
        Comment: change.comment.slice(0, COMMENT_MAX),
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: change.recordName,
              Type: 'CNAME',
              TTL: change.ttl,
              ResourceRecords: [{ Value: change.value }],
            },
          },
        ],
      },
    }),
  );
  return info;
};
