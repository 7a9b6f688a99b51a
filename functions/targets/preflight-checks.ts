import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { type AccountQuota, DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import {
  GetHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { normaliseDns, recordsNamed, targetOf } from '#aws/dns.js';
import { describeKeyOrNull, listKeyTags } from '#aws/kms-keys.js';
import { decidePlan } from '#domain/decisions.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput, RotationTarget } from '#domain/input.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { CnameCutoverPlan, CutoverPlan, InstancePlan, StrategyDecision } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';

/**
 * Preflight checks shared by DB instances and Aurora clusters. All read-only.
 */

/** Partition, Region and account of an RDS ARN. */
export const parseArn = (arn: string) => {
  const [, partition, , region, accountId] = arn.split(':');
  if (!partition || !region || !accountId) {
    throw new PreconditionFailedError(`RDS returned an unexpected ARN "${arn}".`);
  }
  return { partition, region, accountId };
};

/** The key the database is encrypted under: enabled, symmetric, in the database's Region. */
export const describeSourceKey = async (
  database: string,
  kmsKeyId: string | undefined,
  region: string,
): Promise<KeyMetadata> => {
  const { kms } = getClients();
  const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId: kmsKeyId }));
  if (!key) throw new PreconditionFailedError(`KMS could not describe the key ${kmsKeyId}.`);
  if (key.KeyState !== 'Enabled') {
    throw new PreconditionFailedError(
      `The key of ${database} (${key.Arn}) is ${key.KeyState}, so RDS cannot read the data to copy it. ` +
        'If it is pending deletion: aws kms cancel-key-deletion --key-id <id> && aws kms enable-key --key-id <id>, then start again.',
    );
  }
  if (key.KeySpec && key.KeySpec !== 'SYMMETRIC_DEFAULT') {
    throw new PreconditionFailedError(`The key of ${database} is ${key.KeySpec}; RDS keys are symmetric.`);
  }
  const keyRegion = key.Arn?.split(':')[3];
  if (keyRegion && keyRegion !== region) {
    throw new PreconditionFailedError(
      `The key of ${database} is in ${keyRegion}, not ${region}. Run Rekey in the database's Region.`,
    );
  }
  return key;
};

/** The manual snapshot quota of one kind of snapshot, as RDS and Service Quotas name it. */
export interface SnapshotQuota {
  /** The `AccountQuotaName` of DescribeAccountAttributes. */
  name: 'ManualSnapshots' | 'ManualClusterSnapshots';
  /** `''` for DB snapshots, `'cluster '` for DB cluster snapshots. */
  noun: '' | 'cluster ';
  /** The quota's name in Service Quotas. */
  serviceQuota: string;
}

/**
 * A rotation takes two manual snapshots (the source and its re-encrypted copy). Returns a note
 * when the quota cannot be read: the check is a courtesy (an exhausted quota makes the snapshot
 * call fail, and rollback then restarts the source), so it does not block.
 */
export const checkSnapshotQuota = async ({
  name,
  noun,
  serviceQuota,
}: SnapshotQuota): Promise<string | null> => {
  const { rds } = getClients();
  let quotas: AccountQuota[] | undefined;
  try {
    ({ AccountQuotas: quotas } = await rds.send(new DescribeAccountAttributesCommand({})));
  } catch (error) {
    logger.warn('could not read the RDS account quotas', { error });
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const why = status ? `DescribeAccountAttributes answered HTTP ${status}` : (error as Error).name;
    return `The manual ${noun}snapshot quota could not be checked (${why}); the rotation needs 2 free manual ${noun}snapshots.`;
  }
  const quota = quotas?.find((q) => q.AccountQuotaName === name);
  if (quota?.Max !== undefined && quota.Used !== undefined && quota.Max - quota.Used < 2) {
    throw new PreconditionFailedError(
      `The Region has ${quota.Used} of ${quota.Max} manual DB ${noun}snapshots; the rotation needs 2 more. ` +
        `Delete old manual ${noun}snapshots or ask for a higher quota (Service Quotas: "${serviceQuota}").`,
    );
  }
  return null;
};

/** The KMS alias this rotation will create must be free, or point at the key this rotation created (a retry). */
export const checkAliasIsFree = async (rotationId: string, alias: string): Promise<void> => {
  const { kms } = getClients();
  const aliased = await describeKeyOrNull(kms, alias);
  if (aliased?.KeyId && (await listKeyTags(kms, aliased.KeyId)).get(TAG_ROTATION_ID) !== rotationId) {
    throw new PreconditionFailedError(
      `The KMS alias ${alias} already exists and points at a key that does not belong to this rotation ` +
        `(${aliased.Arn}). Delete the alias, or start the rotation under another execution name.`,
    );
  }
};

/** RDS allows 50 tags per resource; what Rekey creates carries 3 `rekey:*` tags of its own. */
export const MAX_USER_TAGS = 47;

/**
 * How clients will be switched. A CNAME must exist and point at the source endpoint now. A
 * Blue/Green switchover keeps the endpoints, so `rename` needs nothing and a CNAME is only checked.
 */
export const planCutover = async (
  request: RotationInput,
  strategy: StrategyDecision,
  sourceEndpoint: string,
  asideIdentifier: string,
): Promise<CutoverPlan> => {
  const cutover = request.cutover;
  if (cutover.type === 'none') return { type: 'none' };
  if (cutover.type === 'rename') {
    return strategy.used === 'blue-green'
      ? { type: 'none' }
      : { type: 'rename', asideIdentifier, endpointAddress: normaliseDns(sourceEndpoint) };
  }
  return planCname(cutover, sourceEndpoint);
};

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
  cutover: { hostedZoneId?: string | undefined; recordName: string; ttl: number },
  sourceEndpoint: string,
  field = 'cutover.recordName',
): Promise<CnameCutoverPlan> => {
  const { route53 } = getClients();
  const found = cutover.hostedZoneId ? null : await findHostedZone(cutover.recordName, field);
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
  const notes = found ? await otherZoneNotes(found, cutover.recordName, field) : [];
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
const findHostedZone = async (recordName: string, field: string): Promise<FoundZone> => {
  const { route53 } = getClients();
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
const otherZoneNotes = async (found: FoundZone, recordName: string, field: string): Promise<string[]> => {
  const notes: string[] = [];
  for (const zone of found.lessSpecific) {
    const records = await recordsNamed(getClients().route53, zoneIdOf(zone), recordName);
    if (records.length === 0) continue;
    notes.push(
      `${field}: ${recordName} is moved in hosted zone ${found.hostedZoneId} (${found.zoneName}), the most specific zone ` +
        `that holds it. The less specific zone ${zoneIdOf(zone)} (${zoneNameOf(zone)}) also has a record of that name ` +
        `(${records.map((r) => r.Type).join(', ')}); Rekey does not touch it. Delete or update it yourself if clients still resolve it.`,
    );
  }
  return notes;
};

/** The plan fields both kinds share (everything but `kind`, `source`, `names` and `cutover`). */
export type CommonPlan = Omit<InstancePlan, 'kind' | 'source' | 'names' | 'cutover'>;

/**
 * The plan fields every kind of target shares: ids, start time, account and Region, the request,
 * the strategy, and the decisions with the quota and approval notes.
 */
export const planCommon = (args: {
  event: { executionId: string; startedAt?: string };
  request: RotationInput;
  target: RotationTarget;
  strategy: StrategyDecision;
  arn: ReturnType<typeof parseArn>;
  rotationId: string;
  key: Pick<KeyMetadata, 'KeyManager'>;
  quotaNote: string | null;
  /** The planned cutover: its notes (a record of the same name in another zone) join the plan's. */
  cutover: CutoverPlan;
}): CommonPlan => {
  const { event, request, strategy, arn, quotaNote } = args;
  const { decisions, approval } = decidePlan({ request, key: args.key, strategy, quotaNote });
  if ('notes' in args.cutover && args.cutover.notes) decisions.notes.push(...args.cutover.notes);
  return {
    target: args.target,
    strategy,
    rotationId: args.rotationId,
    executionId: event.executionId,
    startedAt: event.startedAt ?? new Date().toISOString(),
    partition: arn.partition,
    region: arn.region,
    accountId: arn.accountId,
    request,
    decisions,
    approval,
  };
};
