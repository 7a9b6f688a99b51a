import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { type AccountQuota, DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { planCname } from '#aws/cname-preflight.js';
import { normaliseDns } from '#aws/dns.js';
import { describeKeyOrNull, listKeyTags } from '#aws/kms-keys.js';
import { decidePlan } from '#domain/decisions.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput, RotationTarget } from '#domain/input.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { CutoverPlan, InstancePlan, StrategyDecision } from '#domain/plan.js';
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
  /**
   * How many manual snapshots a rotation takes: 2 for a DB instance (the source and its
   * re-encrypted copy), 1 for an Aurora cluster (the source; the restore re-encrypts, no copy).
   */
  needed: 1 | 2;
}

/**
 * A rotation takes `needed` manual snapshots. Returns a note when the quota cannot be read: the
 * check is a courtesy (an exhausted quota makes the snapshot call fail, and rollback then restarts
 * the source), so it does not block.
 */
export const checkSnapshotQuota = async ({
  name,
  noun,
  serviceQuota,
  needed,
}: SnapshotQuota): Promise<string | null> => {
  const snapshots = (n: number) => `${n === 1 ? 'a' : n} free manual ${noun}snapshot${n === 1 ? '' : 's'}`;
  const { rds } = getClients();
  let quotas: AccountQuota[] | undefined;
  try {
    ({ AccountQuotas: quotas } = await rds.send(new DescribeAccountAttributesCommand({})));
  } catch (error) {
    logger.warn('could not read the RDS account quotas', { error });
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const why = status ? `DescribeAccountAttributes answered HTTP ${status}` : (error as Error).name;
    return `The manual ${noun}snapshot quota could not be checked (${why}); the rotation needs ${snapshots(needed)}.`;
  }
  const quota = quotas?.find((q) => q.AccountQuotaName === name);
  if (quota?.Max !== undefined && quota.Used !== undefined && quota.Max - quota.Used < needed) {
    throw new PreconditionFailedError(
      `The Region has ${quota.Used} of ${quota.Max} manual DB ${noun}snapshots; the rotation needs ${needed} more. ` +
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
  return planCname(getClients().route53, cutover, sourceEndpoint);
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
