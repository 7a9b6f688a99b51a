import { DescribeKeyCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { type AccountQuota, type DBInstance, DescribeAccountAttributesCommand } from '@aws-sdk/client-rds';
import {
  GetHostedZoneCommand,
  type HostedZone,
  ListHostedZonesByNameCommand,
} from '@aws-sdk/client-route-53';
import { getClients } from './commons/clients.js';
import { normaliseDns, recordsNamed, targetOf } from './commons/dns.js';
import { InvalidInputError, isAwsError, PreconditionFailedError } from './commons/errors.js';
import { makeHandler } from './commons/handler.js';
import { parseRotationInput, type RotationInput } from './commons/input.js';
import { captureInstanceConfig, capturePlacement, userTags } from './commons/instance-config.js';
import { describeKeyOrNull, listKeyTags } from './commons/kms-keys.js';
import { logger } from './commons/logger.js';
import { namesFor, rotationIdFor, TAG_ROTATION_ID } from './commons/naming.js';
import { carriesRotationId } from './commons/ownership.js';
import { findInstance, findSnapshot } from './commons/rds.js';
import type { CutoverPlan, Decisions, RotationPlan } from './commons/types.js';

export interface PreflightInput {
  /** The execution input, as given. */
  input: unknown;
  /** `$$.Execution.Id`: the rotation id derives from it, so a retried preflight plans the same names. */
  executionId: string;
  /** `$$.Execution.StartTime`. */
  startedAt: string;
}

/**
 * Everything Rekey checks before it changes anything. Read-only: a refusal here leaves AWS
 * exactly as it was. The plan it returns (names, configuration, decisions) drives every later step.
 */
export const preflight = async (event: PreflightInput): Promise<RotationPlan> => {
  const request = parseRotationInput(event.input);
  if (typeof event.executionId !== 'string' || event.executionId.length === 0) {
    throw new InvalidInputError('executionId is missing: Preflight must be called by the state machine.');
  }
  const { rds } = getClients();
  const id = request.dbInstanceIdentifier;

  const db = await findInstance(rds, id);
  if (!db) {
    throw new PreconditionFailedError(
      `dbInstanceIdentifier: no DB instance "${id}" in ${process.env.AWS_REGION ?? 'this Region'}. ` +
        'Check the identifier and the Region (aws rds describe-db-instances --query "DBInstances[].DBInstanceIdentifier").',
    );
  }
  const arn = parseArn(db.DBInstanceArn ?? '');
  checkInstance(db);
  const key = await describeSourceKey(db, arn.region);
  const rotationId = rotationIdFor(event.executionId);
  const names = namesFor(rotationId, id);
  await checkNamesAreFree(rotationId, names);
  const quotaNote = await checkSnapshotQuota();
  const endpointAddress = db.Endpoint?.Address ?? '';
  const cutover = await planCutover(request, endpointAddress);
  const decisions = decide(request, key);
  if (quotaNote) decisions.notes.push(quotaNote);

  const plan: RotationPlan = {
    rotationId,
    executionId: event.executionId,
    startedAt: event.startedAt ?? new Date().toISOString(),
    partition: arn.partition,
    region: arn.region,
    accountId: arn.accountId,
    request,
    source: {
      dbInstanceIdentifier: db.DBInstanceIdentifier ?? id,
      dbInstanceArn: db.DBInstanceArn ?? '',
      dbiResourceId: db.DbiResourceId ?? null,
      endpointAddress,
      port: db.Endpoint?.Port ?? null,
      kmsKeyArn: key.Arn ?? '',
      keyManager: key.KeyManager ?? 'CUSTOMER',
      config: captureInstanceConfig(db),
      placement: capturePlacement(db),
    },
    names,
    cutover,
    decisions,
  };
  logger.info('preflight passed', { rotationId, source: id, oldKey: key.Arn, decisions });
  return plan;
};

const parseArn = (arn: string) => {
  const [, partition, , region, accountId] = arn.split(':');
  if (!partition || !region || !accountId) {
    throw new PreconditionFailedError(`RDS returned an unexpected DB instance ARN "${arn}".`);
  }
  return { partition, region, accountId };
};

/** RDS allows 50 tags per resource; the new instance and snapshots carry 3 `rekey:*` tags too. */
const MAX_USER_TAGS = 47;

/** The source must be a standalone, encrypted, available instance whose writes can be frozen. */
const checkInstance = (db: DBInstance): void => {
  const id = db.DBInstanceIdentifier;
  if (db.DBClusterIdentifier) {
    throw new PreconditionFailedError(
      `dbInstanceIdentifier: ${id} is a member of the Aurora cluster ${db.DBClusterIdentifier}. ` +
        'Its storage and key belong to the cluster; rotate the cluster, not the instance.',
    );
  }
  if (db.ReadReplicaSourceDBInstanceIdentifier) {
    throw new PreconditionFailedError(
      `dbInstanceIdentifier: ${id} is a read replica of ${db.ReadReplicaSourceDBInstanceIdentifier}. ` +
        'Rotate the primary instead.',
    );
  }
  if ((db.ReadReplicaDBInstanceIdentifiers ?? []).length > 0) {
    throw new PreconditionFailedError(
      `${id} has read replicas (${db.ReadReplicaDBInstanceIdentifiers?.join(', ')}), which a snapshot rotation does not carry over ` +
        'and which prevent stopping the source. Delete or promote them first, then start the rotation again.',
    );
  }
  if (!db.StorageEncrypted || !db.KmsKeyId) {
    throw new PreconditionFailedError(
      `${id} is not encrypted, so there is no key to rotate. To encrypt it, copy a snapshot with a KMS key and restore from it.`,
    );
  }
  if (db.DBInstanceStatus !== 'available') {
    throw new PreconditionFailedError(
      `${id} is "${db.DBInstanceStatus}", not "available". Start the rotation once the instance is available.`,
    );
  }
  const pending = Object.entries(db.PendingModifiedValues ?? {}).filter(
    ([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0),
  );
  if (pending.length > 0) {
    throw new PreconditionFailedError(
      `${id} has pending modifications (${pending.map(([field]) => field).join(', ')}). ` +
        'Apply them (or wait for the maintenance window) first, so the new instance copies a settled configuration.',
    );
  }
  if (db.MasterUserSecret?.SecretArn) {
    throw new PreconditionFailedError(
      `${id} keeps its master password in Secrets Manager (${db.MasterUserSecret.SecretArn}). A restored instance does not ` +
        'take over that secret, and RDS deletes the secret with the old instance, so clients reading it would break. ' +
        'Rekey does not rotate such instances yet: turn off the managed master password first (aws rds modify-db-instance ' +
        '--no-manage-master-user-password --master-user-password ...), or rotate by hand.',
    );
  }
  const userTagCount = Object.keys(userTags(db.TagList)).length;
  if (userTagCount > MAX_USER_TAGS) {
    throw new PreconditionFailedError(
      `${id} has ${userTagCount} tags; RDS allows 50 per resource and Rekey adds 3 of its own (rekey:*) to what it creates. ` +
        `Remove tags until at most ${MAX_USER_TAGS} remain, then start again.`,
    );
  }
  if (db.Engine?.startsWith('custom-')) {
    throw new PreconditionFailedError(
      `${id} is an RDS Custom instance (${db.Engine}), which Rekey does not rotate: RDS Custom manages its storage differently.`,
    );
  }
  if (db.Engine?.startsWith('sqlserver') && db.MultiAZ) {
    throw new PreconditionFailedError(
      `${id} is a Multi-AZ SQL Server instance, which RDS cannot stop, so writes cannot be frozen. ` +
        'Use writeFreeze "none" only if you accept losing writes made after the snapshot.',
    );
  }
};

const describeSourceKey = async (db: DBInstance, region: string): Promise<KeyMetadata> => {
  const { kms } = getClients();
  const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId: db.KmsKeyId }));
  if (!key) throw new PreconditionFailedError(`KMS could not describe the key ${db.KmsKeyId}.`);
  if (key.KeyState !== 'Enabled') {
    throw new PreconditionFailedError(
      `The key of ${db.DBInstanceIdentifier} (${key.Arn}) is ${key.KeyState}, so RDS cannot read the data to copy it. ` +
        'If it is pending deletion: aws kms cancel-key-deletion --key-id <id> && aws kms enable-key --key-id <id>, then start again.',
    );
  }
  if (key.KeySpec && key.KeySpec !== 'SYMMETRIC_DEFAULT') {
    throw new PreconditionFailedError(
      `The key of ${db.DBInstanceIdentifier} is ${key.KeySpec}; RDS keys are symmetric.`,
    );
  }
  const keyRegion = key.Arn?.split(':')[3];
  if (keyRegion && keyRegion !== region) {
    throw new PreconditionFailedError(
      `The key of ${db.DBInstanceIdentifier} is in ${keyRegion}, not ${region}. Run Rekey in the database's Region.`,
    );
  }
  return key;
};

/** The names this rotation will create must be free, or already carry this rotation's tag (a retry). */
const checkNamesAreFree = async (rotationId: string, names: ReturnType<typeof namesFor>): Promise<void> => {
  const { rds } = getClients();
  const existing = await findInstance(rds, names.newDbInstanceIdentifier);
  if (existing && !carriesRotationId(existing.TagList, rotationId)) {
    throw new PreconditionFailedError(
      `A DB instance named ${names.newDbInstanceIdentifier} already exists and does not belong to this rotation. ` +
        'Rename or delete it, or start the rotation under another execution name.',
    );
  }
  for (const snapshotId of [names.sourceSnapshotIdentifier, names.copySnapshotIdentifier]) {
    const snapshot = await findSnapshot(rds, snapshotId);
    if (snapshot && !carriesRotationId(snapshot.TagList, rotationId)) {
      throw new PreconditionFailedError(
        `A DB snapshot named ${snapshotId} already exists and does not belong to this rotation. ` +
          'Delete it, or start the rotation under another execution name.',
      );
    }
  }
  const { kms } = getClients();
  const aliased = await describeKeyOrNull(kms, names.keyAlias);
  if (aliased?.KeyId && (await listKeyTags(kms, aliased.KeyId)).get(TAG_ROTATION_ID) !== rotationId) {
    throw new PreconditionFailedError(
      `The KMS alias ${names.keyAlias} already exists and points at a key that does not belong to this rotation ` +
        `(${aliased.Arn}). Delete the alias, or start the rotation under another execution name.`,
    );
  }
};

/**
 * A rotation takes two manual snapshots (the source and its re-encrypted copy). Returns a note
 * when the quota cannot be read: the check is a courtesy (an exhausted quota makes
 * CreateDBSnapshot fail, and rollback then restarts the source), so it does not block.
 */
const checkSnapshotQuota = async (): Promise<string | null> => {
  const { rds } = getClients();
  let quotas: AccountQuota[] | undefined;
  try {
    ({ AccountQuotas: quotas } = await rds.send(new DescribeAccountAttributesCommand({})));
  } catch (error) {
    logger.warn('could not read the RDS account quotas', { error });
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const why = status ? `DescribeAccountAttributes answered HTTP ${status}` : (error as Error).name;
    return `The manual snapshot quota could not be checked (${why}); the rotation needs 2 free manual snapshots.`;
  }
  const quota = quotas?.find((q) => q.AccountQuotaName === 'ManualSnapshots');
  if (quota?.Max !== undefined && quota.Used !== undefined && quota.Max - quota.Used < 2) {
    throw new PreconditionFailedError(
      `The Region has ${quota.Used} of ${quota.Max} manual DB snapshots; the rotation needs 2 more. ` +
        'Delete old manual snapshots or ask for a higher quota (Service Quotas: "Manual DB instance snapshots").',
    );
  }
  return null;
};

const planCutover = async (request: RotationInput, sourceEndpoint: string): Promise<CutoverPlan> => {
  const cutover = request.cutover;
  if (cutover.type === 'none') return { type: 'none' };
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
      `cutover.recordName: there is no record ${cutover.recordName} in hosted zone ${hostedZoneId}. ` +
        'Create a CNAME that points at the database endpoint first, or use cutover type "none".',
    );
  }
  if (!record) {
    throw new PreconditionFailedError(
      `cutover.recordName: ${cutover.recordName} is of type ${named.map((r) => r.Type).join(', ')}, not CNAME. Rekey only moves CNAME records.`,
    );
  }
  const current = targetOf(record) ?? '';
  if (current !== normaliseDns(sourceEndpoint)) {
    throw new PreconditionFailedError(
      `cutover.recordName: ${cutover.recordName} points at ${current || 'nothing'}, not at the source endpoint ${sourceEndpoint}. ` +
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

/** What the rotation will do, and why wherever it departs from the request. */
export const decide = (request: RotationInput, key: Pick<KeyMetadata, 'KeyManager'>): Decisions => {
  const notes: string[] = [];
  const stopSource = request.writeFreeze === 'stop';
  const switchClients = request.cutover.type === 'cname';

  let keepOldInstanceReason: string | null = null;
  if (request.oldInstance === 'retain') {
    keepOldInstanceReason = 'oldInstance is "retain" in the input.';
  } else if (!switchClients) {
    keepOldInstanceReason = 'cutover is "none": clients still use the old instance.';
  } else if (!stopSource) {
    keepOldInstanceReason =
      'writeFreeze is "none": writes made after the snapshot exist only in the old instance, so it is kept for you to reconcile.';
  }
  if (keepOldInstanceReason && request.oldInstance === 'delete')
    notes.push(`Old instance kept: ${keepOldInstanceReason}`);

  let keepOldKeyReason: string | null = null;
  if (key.KeyManager === 'AWS') {
    keepOldKeyReason =
      'the old key is the AWS-managed aws/rds key, which can never be scheduled for deletion.';
  } else if (request.oldKey === 'retain') {
    keepOldKeyReason = 'oldKey is "retain" in the input.';
  } else if (keepOldInstanceReason) {
    keepOldKeyReason = `the old instance is kept (${keepOldInstanceReason}) and is still encrypted under it.`;
  }
  if (keepOldKeyReason && request.oldKey === 'schedule-deletion')
    notes.push(`Old key kept: ${keepOldKeyReason}`);
  if (!stopSource) {
    notes.push(
      'writeFreeze is "none": writes made to the source after the snapshot are not in the new instance.',
    );
  }

  return {
    stopSource,
    switchClients,
    deleteOldInstance: keepOldInstanceReason === null,
    keepOldInstanceReason,
    retireOldKey: keepOldKeyReason === null,
    keepOldKeyReason,
    notes,
  };
};

export const handler = makeHandler(preflight);
