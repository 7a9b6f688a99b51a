import {
  GetHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { normaliseDns, recordsNamed, targetOf } from '#aws/dns.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { CnameCutoverPlan } from '#domain/plan.js';

/**
 * The read-only CNAME checks of preflight, also run by the fleet planner: the record exists in the
 * most specific hosted zone that holds its name, is one simple CNAME, and points at the database.
 */

/** The routing policy a record's fields declare (Route 53 gives such a record a SetIdentifier). */
const ROUTING_POLICIES: [keyof ResourceRecordSet, string][] = [
  ['Weight', 'weighted'],
  ['Region', 'latency'],
  ['Failover', 'failover'],
  ['GeoLocation', 'geolocation'],
  ['GeoProximityLocation', 'geoproximity'],
  ['MultiValueAnswer', 'multivalue answer'],
  ['CidrRoutingConfig', 'IP-based'],
];

const routingPolicyOf = (record: ResourceRecordSet): string =>
  ROUTING_POLICIES.find(([field]) => record[field] !== undefined)?.[1] ?? 'routing-policy';

/**
 * A CNAME with a routing policy cannot be moved by the cutover's UPSERT of one simple record
 * (docs/aws-facts.md#route53), so it is refused here, before anything changes, not at the cutover
 * hours into a frozen database.
 */
const refuseRoutingPolicy = (
  routed: ResourceRecordSet[],
  where: { field: string; recordName: string; hostedZoneId: string; sourceEndpoint: string },
): never => {
  const policies = [...new Set(routed.map(routingPolicyOf))].join(', ');
  const ids = routed.map((r) => `"${r.SetIdentifier}"`).join(', ');
  throw new PreconditionFailedError(
    `${where.field}: ${where.recordName} in hosted zone ${where.hostedZoneId} is a CNAME with a ${policies} routing policy ` +
      `(set identifier${routed.length > 1 ? 's' : ''} ${ids}). Rekey moves only a simple CNAME: one record of that name ` +
      'without a routing policy. Replace the records with one simple CNAME pointing at the source endpoint ' +
      `${where.sourceEndpoint} and start again, or rotate with cutover type "none" and move the records yourself.`,
  );
};

/** A CNAME that exists, is simple, and points at `sourceEndpoint`; its zone found when not given. */
export const planCname = async (
  route53: Route53Client,
  cutover: { hostedZoneId?: string | undefined; recordName: string; ttl: number },
  sourceEndpoint: string,
  field = 'cutover.recordName',
): Promise<CnameCutoverPlan> => {
  const found = cutover.hostedZoneId ? null : await findHostedZone(route53, cutover.recordName, field);
  const hostedZoneId = cutover.hostedZoneId ?? found?.hostedZoneId ?? '';
  if (cutover.hostedZoneId) {
    try {
      await route53.send(new GetHostedZoneCommand({ Id: hostedZoneId }));
    } catch (error) {
      if (isAwsError(error, 'NoSuchHostedZone')) {
        throw new PreconditionFailedError(
          `cutover.hostedZoneId: no hosted zone ${hostedZoneId} in this account. ` +
            'Check the id (aws route53 list-hosted-zones), or leave it out to find the zone from cutover.recordName.',
        );
      }
      throw error;
    }
  }
  const named = await recordsNamed(route53, hostedZoneId, cutover.recordName);
  const cnames = named.filter((r) => r.Type === 'CNAME');
  if (named.length === 0) {
    throw new PreconditionFailedError(
      `${field}: there is no record ${cutover.recordName} in hosted zone ${hostedZoneId}. ` +
        'Create a CNAME that points at the database endpoint first, or use cutover type "none".',
    );
  }
  const record = cnames[0];
  if (!record) {
    throw new PreconditionFailedError(
      `${field}: ${cutover.recordName} is of type ${named.map((r) => r.Type).join(', ')}, not CNAME. Rekey only moves CNAME records.`,
    );
  }
  const routed = cnames.filter((r) => r.SetIdentifier !== undefined);
  if (routed.length > 0) {
    refuseRoutingPolicy(routed, { field, recordName: cutover.recordName, hostedZoneId, sourceEndpoint });
  }
  const current = targetOf(record) ?? '';
  if (current !== normaliseDns(sourceEndpoint)) {
    throw new PreconditionFailedError(
      `${field}: ${cutover.recordName} points at ${current || 'nothing'}, not at the source endpoint ${sourceEndpoint}. ` +
        'Rekey only moves a record that points at the database it rotates: fix the record or the input.',
    );
  }
  const notes = found ? await otherZoneNotes(route53, found, cutover.recordName, field) : [];
  return {
    type: 'cname',
    hostedZoneId,
    recordName: cutover.recordName,
    ttl: cutover.ttl,
    previousValue: current,
    ...(notes.length > 0 ? { notes } : {}),
  };
};

const zoneIdOf = (zone: HostedZone): string => (zone.Id ?? '').replace('/hostedzone/', '');
const zoneNameOf = (zone: HostedZone): string => normaliseDns(zone.Name ?? '');

interface FoundZone {
  hostedZoneId: string;
  zoneName: string;
  /** Less specific zones whose name also ends the record name. */
  lessSpecific: HostedZone[];
}

/**
 * The zone that holds `recordName`: the most specific one (the longest zone name that ends the
 * record name), which is the zone that answers for the name (docs/aws-facts.md#route53). Two zones of that same name (a
 * public and a private zone) are refused: only the input can say which one clients resolve.
 */
const findHostedZone = async (
  route53: Route53Client,
  recordName: string,
  field: string,
): Promise<FoundZone> => {
  const zones: HostedZone[] = [];
  let marker: { DNSName?: string; HostedZoneId?: string } = {};
  do {
    const page = await route53.send(new ListHostedZonesByNameCommand({ ...marker, MaxItems: 100 }));
    zones.push(...(page.HostedZones ?? []));
    marker = page.IsTruncated ? { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId } : {};
  } while (marker.DNSName);
  const matching = zones.filter((zone) => {
    const zoneName = zoneNameOf(zone);
    return recordName === zoneName || recordName.endsWith(`.${zoneName}`);
  });
  const longest = Math.max(0, ...matching.map((zone) => zoneNameOf(zone).length));
  const candidates = matching.filter((zone) => zoneNameOf(zone).length === longest);
  const [chosen, ...others] = candidates;
  if (!chosen) {
    throw new PreconditionFailedError(
      `${field}: no hosted zone in this account holds ${recordName}. Check the name, or give cutover.hostedZoneId.`,
    );
  }
  if (others.length > 0) {
    const list = candidates
      .map((zone) => `${zoneIdOf(zone)} (${zone.Config?.PrivateZone ? 'private' : 'public'})`)
      .join(', ');
    throw new PreconditionFailedError(
      `${field}: ${candidates.length} hosted zones could hold ${recordName}, all named ${zoneNameOf(chosen)}: ${list}. Say which with cutover.hostedZoneId.`,
    );
  }
  return {
    hostedZoneId: zoneIdOf(chosen),
    zoneName: zoneNameOf(chosen),
    lessSpecific: matching.filter((zone) => zone !== chosen),
  };
};

/**
 * A note for each less specific zone that also holds a record of the name (one
 * ListResourceRecordSets per such zone, usually none): the cutover does not touch it.
 */
const otherZoneNotes = async (
  route53: Route53Client,
  found: FoundZone,
  recordName: string,
  field: string,
): Promise<string[]> => {
  const notes: string[] = [];
  for (const zone of found.lessSpecific) {
    const records = await recordsNamed(route53, zoneIdOf(zone), recordName);
    if (records.length === 0) continue;
    notes.push(
      `${field}: ${recordName} is moved in hosted zone ${found.hostedZoneId} (${found.zoneName}), the most specific zone ` +
        `that holds it. The less specific zone ${zoneIdOf(zone)} (${zoneNameOf(zone)}) also has a record of that name ` +
        `(${records.map((r) => r.Type).join(', ')}); Rekey does not touch it. Delete or update it yourself if clients still resolve it.`,
    );
  }
  return notes;
};
