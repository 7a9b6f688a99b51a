import {
  DescribeKeyCommand,
  type KeyMetadata,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
} from '@aws-sdk/client-kms';
import { type DBInstance, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand } from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import {
  captureInstanceConfig,
  diffConfig,
  formatDiff,
  type InstanceConfig,
} from '#domain/instance-config.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { type RunOptions, type RunResult, runStateMachine } from '../../cli/runner.js';
import type { SeededSample } from '../../cli/seed.js';
import { scopeTasks } from './faults.js';

/**
 * Helpers for tests that break a rotation on purpose and then judge what it left behind, reading
 * the emulator only (never the step code's own view of what it did).
 */

/** The real ASL and handlers on the emulator: no waits, the local lock table, AWS calls tagged with their Task. */
export const runRotation = (options: Omit<RunOptions, 'fastWaits' | 'lockTable'>): Promise<RunResult> =>
  runStateMachine({
    fastWaits: true,
    lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    ...options,
    wrapTask: scopeTasks(options.wrapTask),
  });

const keyIdOf = (keyIdOrArn: string): string => keyIdOrArn.split('/').pop() ?? keyIdOrArn;

interface KeyRoles {
  /** `old`, `new(<rotation id>)` or `other#<n>`, by key id. */
  roleOf(keyIdOrArn: string | undefined): string;
  keys: { metadata: KeyMetadata; role: string }[];
}

const keyRoles = async (sample: SeededSample): Promise<KeyRoles> => {
  const { kms } = getClients();
  const { Keys } = await kms.send(new ListKeysCommand({}));
  const roles = new Map<string, string>();
  const keys: KeyRoles['keys'] = [];
  let others = 0;
  for (const { KeyId } of Keys ?? []) {
    if (!KeyId) continue;
    const { KeyMetadata: metadata } = await kms.send(new DescribeKeyCommand({ KeyId }));
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId }));
    const rotation = Tags?.find((t) => t.TagKey === TAG_ROTATION_ID)?.TagValue;
    const role =
      KeyId === keyIdOf(sample.oldKeyArn) ? 'old' : rotation ? `new(${rotation})` : `other#${++others}`;
    roles.set(KeyId, role);
    if (metadata) keys.push({ metadata, role });
  }
  return {
    keys,
    roleOf: (keyIdOrArn) => (keyIdOrArn ? (roles.get(keyIdOf(keyIdOrArn)) ?? keyIdOrArn) : 'none'),
  };
};

export const cnameValue = async (sample: SeededSample): Promise<string | undefined> => {
  const { ResourceRecordSets } = await getClients().route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: sample.hostedZoneId,
      StartRecordName: sample.recordName,
      StartRecordType: 'CNAME',
      MaxItems: 1,
    }),
  );
  return ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value;
};

export const allInstances = async (): Promise<DBInstance[]> =>
  (await getClients().rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];

const manualSnapshots = async () =>
  (await getClients().rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'manual' }))).DBSnapshots ?? [];

const lockItems = async (): Promise<Record<string, unknown>[]> => {
  try {
    const { Items } = await getClients().dynamodb.send(new ScanCommand({ TableName: LOCAL_LOCK_TABLE }));
    return Items ?? [];
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return [];
    throw error;
  }
};

/** Rotation locks still held (`db#...`, `key#...`); idempotency records (`once#...`) are kept on purpose. */
export const heldLocks = async (): Promise<string[]> =>
  (await lockItems())
    .map((item) => String(item.lockKey))
    .filter((key) => key.startsWith('db#') || key.startsWith('key#'));

/**
 * Everything a rotation of the sample can leave behind, as sorted lines with KMS keys named by
 * role (`old`, `new(<rotation id>)`, `other#n`) instead of their random ids: two runs under the same
 * execution name (so the same rotation id and resource names) give equal lines when they end in the
 * same state. Key lines count keys, so a second key for the rotation shows as a second line.
 */
export const rotationEndState = async (sample: SeededSample): Promise<string[]> => {
  const { kms } = getClients();
  const roles = await keyRoles(sample);
  const lines: string[] = roles.keys.map(({ metadata, role }) => `key ${role} ${metadata.KeyState}`);
  const { Aliases } = await kms.send(new ListAliasesCommand({}));
  for (const alias of Aliases ?? []) {
    if (alias.AliasName?.startsWith('alias/aws/')) continue;
    lines.push(`alias ${alias.AliasName} -> ${roles.roleOf(alias.TargetKeyId)}`);
  }
  for (const db of await allInstances()) {
    lines.push(
      `instance ${db.DBInstanceIdentifier} ${db.DBInstanceStatus} key=${roles.roleOf(db.KmsKeyId)} ` +
        `protection=${db.DeletionProtection} endpoint=${db.Endpoint?.Address}`,
    );
  }
  for (const snapshot of await manualSnapshots()) {
    lines.push(
      `snapshot ${snapshot.DBSnapshotIdentifier} ${snapshot.Status} key=${roles.roleOf(snapshot.KmsKeyId)}`,
    );
  }
  lines.push(`cname ${sample.recordName} -> ${await cnameValue(sample)}`);
  // The event-driven waits' registrations and events (wait#..., event#...) expire by their TTL;
  // which are left depends on which waits an event ended, not on the end state.
  const waitItem = (item: Record<string, unknown>) => /^(wait|event)#/.test(String(item.lockKey));
  for (const item of (await lockItems()).filter((item) => !waitItem(item))) {
    const lockKey = String(item.lockKey).replace(
      /^key#(.+)$/,
      (_, arn: string) => `key#${roles.roleOf(arn)}`,
    );
    lines.push(`lock ${lockKey} ${item.rotationId}`);
  }
  return lines.sort();
};

/** The source as it was before the rotation: what compensation must give back. */
export interface SourceBaseline {
  sample: SeededSample;
  source: DBInstance;
  config: InstanceConfig;
}

export const captureBaseline = async (sample: SeededSample): Promise<SourceBaseline> => {
  const source = await findInstance(getClients().rds, sample.dbInstanceIdentifier);
  if (!source) throw new Error(`the seeded source ${sample.dbInstanceIdentifier} is missing`);
  return { sample, source, config: captureInstanceConfig(source) };
};

const named = (cause: string, ...names: (string | undefined)[]): boolean =>
  names.some((name) => name !== undefined && name.length > 0 && cause.includes(name));

/**
 * What must hold after a failed rotation was compensated (before any cutover): the source exists, is
 * available, is the same instance under its original key with its original configuration (deletion
 * protection included); the CNAME points at it; the old key is Enabled; everything the rotation
 * created is deleted (a key: PendingDeletion) or named in the failure cause; no rotation lock is
 * held. Returns one line per violation, so a failing test lists them all.
 */
export const compensationProblems = async (baseline: SourceBaseline, cause: string): Promise<string[]> => {
  const { sample } = baseline;
  const problems: string[] = [];
  const source = await findInstance(getClients().rds, sample.dbInstanceIdentifier);
  if (!source) {
    problems.push(`the source ${sample.dbInstanceIdentifier} no longer exists`);
  } else {
    if (source.DBInstanceStatus !== 'available') problems.push(`the source is "${source.DBInstanceStatus}"`);
    if (source.DbiResourceId !== baseline.source.DbiResourceId)
      problems.push('the source identifier now names another instance');
    if (source.KmsKeyId !== baseline.source.KmsKeyId)
      problems.push(`the source key is ${source.KmsKeyId}, was ${baseline.source.KmsKeyId}`);
    const differences = diffConfig(baseline.config, captureInstanceConfig(source));
    if (differences.length > 0) problems.push(`the source configuration changed: ${formatDiff(differences)}`);
  }
  const record = await cnameValue(sample);
  if (record !== sample.endpointAddress)
    problems.push(`the CNAME points at ${record}, not at ${sample.endpointAddress}`);
  problems.push(...(await leftoverProblems(baseline, cause, [sample.dbInstanceIdentifier])));
  return problems;
};

/**
 * What must hold after a failure once clients were switched (RetireInstance, RetireKey): the CNAME
 * points at the rotation's new instance, which is available under its new key with the source's
 * configuration, and the cause does not offer them for deletion; the old instance, if still there,
 * is kept (never lost) and the cause says so; the old key is Enabled; every other leftover is named
 * in the cause; no rotation lock is held.
 */
export const afterCutoverProblems = async (
  baseline: SourceBaseline,
  rotationId: string,
  cause: string,
): Promise<string[]> => {
  const { sample } = baseline;
  const problems: string[] = [];
  const record = await cnameValue(sample);
  const serving = (await allInstances()).find((db) => db.Endpoint?.Address === record);
  if (!serving) {
    problems.push(`the CNAME points at ${record}, which is no instance's endpoint`);
  } else {
    if (!serving.DBInstanceIdentifier?.endsWith(`-${rotationId}`))
      problems.push(`the CNAME points at ${serving.DBInstanceIdentifier}, not at the new instance`);
    if (serving.DBInstanceStatus !== 'available')
      problems.push(`the new instance is "${serving.DBInstanceStatus}"`);
    const roles = await keyRoles(sample);
    if (roles.roleOf(serving.KmsKeyId) !== `new(${rotationId})`)
      problems.push(`the new instance is under the ${roles.roleOf(serving.KmsKeyId)} key`);
    const differences = diffConfig(baseline.config, captureInstanceConfig(serving));
    if (differences.length > 0)
      problems.push(`the new instance's configuration differs: ${formatDiff(differences)}`);
  }
  if (/Left in place[^.]*DB instance/.test(cause) || /Left in place[^.]*KMS key/.test(cause))
    problems.push('the cause lists the instance or key in service among the leftovers to delete');
  const old = await findInstance(getClients().rds, sample.dbInstanceIdentifier);
  if (old && !cause.includes(`The old instance ${sample.dbInstanceIdentifier} was not deleted`))
    problems.push(`the old instance is left (${old.DBInstanceStatus}) and the cause does not say so`);
  const keep = [sample.dbInstanceIdentifier, serving?.DBInstanceIdentifier ?? ''];
  problems.push(...(await leftoverProblems(baseline, cause, keep)));
  return problems;
};

/** The old key, leftovers and locks: shared by both kinds of failure. */
const leftoverProblems = async (
  baseline: SourceBaseline,
  cause: string,
  expectedInstances: string[],
): Promise<string[]> => {
  const { sample } = baseline;
  const problems: string[] = [];
  const roles = await keyRoles(sample);
  for (const { metadata, role } of roles.keys) {
    if (role === 'old') {
      if (metadata.KeyState !== 'Enabled') problems.push(`the old key is ${metadata.KeyState}`);
    } else if (metadata.KeyState !== 'PendingDeletion' && !named(cause, metadata.Arn, metadata.KeyId)) {
      problems.push(`the ${role} key ${metadata.Arn} is ${metadata.KeyState} and not named in the cause`);
    }
  }
  for (const db of await allInstances()) {
    const id = db.DBInstanceIdentifier ?? '';
    if (!expectedInstances.includes(id) && !named(cause, id))
      problems.push(`the DB instance ${id} is left and not named in the cause`);
  }
  for (const snapshot of await manualSnapshots()) {
    if (!named(cause, snapshot.DBSnapshotIdentifier))
      problems.push(`the DB snapshot ${snapshot.DBSnapshotIdentifier} is left and not named in the cause`);
  }
  const locks = await heldLocks();
  if (locks.length > 0) problems.push(`rotation locks still held: ${locks.join(', ')}`);
  return problems;
};
