import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { type AccountQuota, DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import {
  GetHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
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

/** A CNAME that exists, is simple, and points at `sourceEndpoint`; its zone found when not given. */
export const planCname = async (
  cutover: { hostedZoneId?: string | undefined; recordName: string; ttl: number },
  sourceEndpoint: string,
  field = 'cutover.recordName',
): Promise<CnameCutoverPlan> => {
  const { route53 } = getClients();
  const hostedZoneId = cutover.hostedZoneId ?? (await findHostedZone(cutover.recordName));
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
  const record = named.find((r) => r.Type === 'CNAME');
  if (named.length === 0) {
    throw new PreconditionFailedError(
      `${field}: there is no record ${cutover.recordName} in hosted zone ${hostedZoneId}. ` +
        'Create a CNAME that points at the database endpoint first, or use cutover type "none".',
    );
  }
  if (!record) {
    throw new PreconditionFailedError(
      `${field}: ${cutover.recordName} is of type ${named.map((r) => r.Type).join(', ')}, not CNAME. Rekey only moves CNAME records.`,
    );
  }
  const current = targetOf(record) ?? '';
  if (current !== normaliseDns(sourceEndpoint)) {
    throw new PreconditionFailedError(
      `${field}: ${cutover.recordName} points at ${current || 'nothing'}, not at the source endpoint ${sourceEndpoint}. ` +
        'Rekey only moves a record that points at the database it rotates: fix the record or the input.',
    );
  }
  return {
    type: 'cname',
    hostedZoneId,
    recordName: cutover.recordName,
    ttl: cutover.ttl,
    previousValue: current,
  };
};

/** The one hosted zone that holds `recordName` (the longest matching zone name). */
const findHostedZone = async (recordName: string): Promise<string> => {
  const { route53 } = getClients();
  const zones: HostedZone[] = [];
  let marker: { DNSName?: string; HostedZoneId?: string } = {};
  do {
    const page = await route53.send(new ListHostedZonesByNameCommand({ ...marker, MaxItems: 100 }));
    zones.push(...(page.HostedZones ?? []));
    marker = page.IsTruncated ? { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId } : {};
  } while (marker.DNSName);
  const matching = zones.filter((zone) => {
    const zoneName = normaliseDns(zone.Name ?? '');
    return recordName === zoneName || recordName.endsWith(`.${zoneName}`);
  });
  const longest = Math.max(0, ...matching.map((zone) => normaliseDns(zone.Name ?? '').length));
  const candidates = matching.filter((zone) => normaliseDns(zone.Name ?? '').length === longest);
  if (candidates.length === 0) {
    throw new PreconditionFailedError(
      `cutover.recordName: no hosted zone in this account holds ${recordName}. Check the name, or give cutover.hostedZoneId.`,
    );
  }
  if (candidates.length > 1) {
    const list = candidates
      .map(
        (zone) =>
          `${zone.Id?.replace('/hostedzone/', '')} (${zone.Config?.PrivateZone ? 'private' : 'public'})`,
      )
      .join(', ');
    throw new PreconditionFailedError(
      `cutover.recordName: ${candidates.length} hosted zones could hold ${recordName}: ${list}. Say which with cutover.hostedZoneId.`,
    );
  }
  return (candidates[0]?.Id ?? '').replace('/hostedzone/', '');
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
}): CommonPlan => {
  const { event, request, strategy, arn, quotaNote } = args;
  const { decisions, approval } = decidePlan({ request, key: args.key, strategy, quotaNote });
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
