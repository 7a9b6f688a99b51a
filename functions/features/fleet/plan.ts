import type { DBCluster, DBInstance } from '@aws-sdk/client-rds';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { decideStrategy } from '#domain/decisions.js';
import { parseRotationInput, rotationTarget } from '#domain/input.js';
import type { TargetKind } from '#domain/kinds.js';
import { APPROVAL_MINUTES } from '#domain/limits.js';
import { isUserTagKey, namesFor, TAG_ROTATION_ID, TAG_SOURCE_DB } from '#domain/naming.js';
import type { StrategyDecision } from '#domain/plan.js';
import {
  clusterBlueGreenIneligibility,
  instanceBlueGreenIneligibility,
  replicaBlueGreenIneligibility,
} from '#domain/strategy.js';
import {
  type CallCounts,
  counted,
  countManualSnapshots,
  type DiscoveredDatabase,
  type DiscoveredKey,
  type Discovery,
  discover,
} from './discover.js';
import { estimateWriterDowntimeSeconds } from './estimate.js';
import { FLEET_MAX_CONCURRENCY, type FleetInput } from './input.js';
import { executionNameFor, idempotencyKeyFor } from './names.js';
import { countedRoute53, recordBlockers } from './records.js';
import { FLEET_TAGS, type FleetPlan, type PlannedDatabase } from './types.js';

/**
 * The fleet planner: selects databases, builds each one's rotation input from its tags and the
 * input's defaults, and finds every reason a rotation would be refused, the way preflight would
 * (functions/targets/preflight.ts) but without changing anything. docs/fleet.md describes it.
 */

/** Manual snapshots per Region, per kind (instances and clusters are counted apart): docs/fleet.md#pacing. */
export const MANUAL_SNAPSHOT_QUOTA = 100;
/**
 * The manual snapshots one snapshot rotation holds: an instance 2 (the source and its
 * re-encrypted copy), an Aurora cluster 1 (it restores from its source snapshot under the new key).
 */
const SNAPSHOTS_PER_ROTATION: Record<TargetKind, number> = { instance: 2, cluster: 1 };
/** RDS allows 50 tags per resource; what Rekey creates carries 3 `rekey:*` tags of its own. */
const MAX_USER_TAGS = 47;
const DAY_MS = 24 * 60 * 60 * 1000;

export const keyAgeDays = (key: DiscoveredKey | undefined, now: Date): number | null =>
  key?.createdAt ? Math.floor((now.getTime() - Date.parse(key.createdAt)) / DAY_MS) : null;

type Select = FleetInput['fleet']['select'];

/** Whether a database meets every condition of `select` (they combine with AND). */
export const matchesSelect = (
  db: Pick<DiscoveredDatabase, 'id' | 'tags'>,
  key: Pick<DiscoveredKey, 'arn'> | undefined,
  age: number | null,
  select: Select,
): boolean => {
  if (select.tags && !Object.entries(select.tags).every(([k, v]) => db.tags[k] === v)) return false;
  if (select.identifiers && !select.identifiers.includes(db.id)) return false;
  if (select.oldKeyArn && key?.arn !== select.oldKeyArn) return false;
  // A database without a key is selected by age: it is the most overdue of all, and its row says why it is refused.
  if (select.keyOlderThanDays !== undefined && age !== null && age < select.keyOlderThanDays) return false;
  return true;
};

/** A database a Rekey rotation made a new copy of: which rotation, and the copy. */
export interface Supersession {
  rotationId: string;
  /** The copy, and the identifier its `rekey:source-db` tag names. */
  by: string;
  source: string;
}

const kindKey = (kind: TargetKind, id: string) => `${kind}:${id.toLowerCase()}`;

/**
 * The databases a Rekey rotation has superseded, by kind and identifier. What a rotation creates
 * carries `rekey:rotation-id` and `rekey:source-db` (aws/ownership.ts; never copied from the user's
 * tags), so every other database of that kind named as its source, or under the name a rename
 * cutover moved the source to (`<source>-old-<rotation id>`), is the old database that rotation
 * kept: with cutover "none" or oldInstance "retain" it still carries the user's `rekey:rotate` tag
 * and its old key. The copy is in service, or is the one to move clients to, and carries the same
 * tags, so the fleet rotates the copy and leaves the old database to the person who kept it.
 */
export const supersededDatabases = (
  databases: Pick<DiscoveredDatabase, 'id' | 'kind' | 'tags'>[],
): Map<string, Supersession> => {
  const superseded = new Map<string, Supersession>();
  for (const copy of databases) {
    const rotationId = copy.tags[TAG_ROTATION_ID];
    const source = copy.tags[TAG_SOURCE_DB];
    if (!rotationId || !source) continue;
    // After a rename cutover the copy holds the source's identifier: it supersedes the aside name only.
    // After a Blue/Green switchover the green holds it and RDS renamed the old blue <id>-old<n>.
    const blueRenamed = databases
      .filter((db) => db.kind === copy.kind && db.id.toLowerCase().startsWith(`${source.toLowerCase()}-old`))
      .map((db) => db.id)
      .filter((id) => /^\d+$/.test(id.slice(source.length + 4)));
    for (const id of [source, namesFor(rotationId, source).asideDbInstanceIdentifier, ...blueRenamed]) {
      if (id.toLowerCase() !== copy.id.toLowerCase())
        superseded.set(kindKey(copy.kind, id), { rotationId, by: copy.id, source });
    }
  }
  return superseded;
};

const supersededNote = (id: string, { rotationId, by, source }: Supersession): string =>
  `${id} was not selected: Rekey rotation ${rotationId} made ${by} from it under a new key (${by} carries ` +
  `${TAG_SOURCE_DB}=${source}) and kept ${id}, still under its old key; ${by} is selected in its place. ` +
  `Once clients use ${by} (a cutover "none" leaves them on ${id}), delete ${id}. If rotation ${rotationId} did not ` +
  `succeed, delete ${by} and ${id} is selected again.`;

const CUTOVERS = ['cname', 'rename', 'none'] as const;
const STRATEGIES = ['snapshot', 'blue-green', 'auto'] as const;

/**
 * The rotation input for one database: the input's defaults, then its tags, then the target and
 * the fleet's reason. Returns the input (not yet validated) and the blockers of unusable tags.
 */
export const inputFromTags = (
  db: Pick<DiscoveredDatabase, 'id' | 'kind' | 'tags'>,
  fleet: Pick<FleetInput, 'defaults' | 'reason' | 'requestedBy' | 'idempotencyKey'> & {
    fleet: Pick<FleetInput['fleet'], 'approval' | 'approvalTimeoutMinutes'>;
  },
  fleetId: string,
): { input: Record<string, unknown>; blockers: string[] } => {
  const blockers: string[] = [];
  const input: Record<string, unknown> = { ...fleet.defaults };
  const tag = (key: string) => db.tags[key];
  const strategy = tag(FLEET_TAGS.strategy);
  if (strategy !== undefined) {
    if ((STRATEGIES as readonly string[]).includes(strategy)) input.strategy = strategy;
    else
      blockers.push(
        `tag ${FLEET_TAGS.strategy} is "${strategy}": set it to "snapshot", "blue-green" or "auto", or remove it to use the input's defaults.strategy.`,
      );
  }
  const cutover = tag(FLEET_TAGS.cutover);
  if (cutover === undefined) {
    if (fleet.defaults.cutover === undefined) {
      blockers.push(
        `no cutover: set the tag ${FLEET_TAGS.cutover} to "cname", "rename" or "none" on ${db.id}, or give defaults.cutover in the fleet input.`,
      );
    }
  } else if (!(CUTOVERS as readonly string[]).includes(cutover)) {
    blockers.push(`tag ${FLEET_TAGS.cutover} is "${cutover}": set it to "cname", "rename" or "none".`);
  } else if (cutover === 'cname') {
    const recordName = tag(FLEET_TAGS.recordName);
    if (!recordName) {
      blockers.push(
        `tag ${FLEET_TAGS.cutover} is "cname" but ${FLEET_TAGS.recordName} is not set: tag ${db.id} with ${FLEET_TAGS.recordName}=<the DNS name clients use>.`,
      );
    }
    const reader = tag(FLEET_TAGS.readerRecordName);
    const zone = tag(FLEET_TAGS.hostedZoneId);
    input.cutover = {
      type: 'cname',
      recordName,
      ...(reader ? { readerRecordName: reader } : {}),
      ...(zone ? { hostedZoneId: zone } : {}),
    };
  } else {
    input.cutover = { type: cutover };
  }
  input[db.kind === 'cluster' ? 'dbClusterIdentifier' : 'dbInstanceIdentifier'] = db.id;
  input.reason = fleet.reason;
  if (fleet.requestedBy !== undefined) input.requestedBy = fleet.requestedBy;
  input.idempotencyKey = idempotencyKeyFor(fleet.idempotencyKey ?? fleetId, db.id);
  if (fleet.fleet.approval === 'per-database') {
    input.approval = {
      required: true,
      ...(fleet.fleet.approvalTimeoutMinutes !== undefined
        ? { timeoutMinutes: fleet.fleet.approvalTimeoutMinutes }
        : {}),
    };
  }
  return { input, blockers };
};

/** The tag a rotation-input field comes from, to say what to set when it is wrong. */
const FIELD_TAG: [string, string][] = [
  ['cutover.recordName', FLEET_TAGS.recordName],
  ['cutover.readerRecordName', FLEET_TAGS.readerRecordName],
  ['cutover.hostedZoneId', FLEET_TAGS.hostedZoneId],
  ['cutover', FLEET_TAGS.cutover],
  ['strategy', FLEET_TAGS.strategy],
];

const validationBlocker = (message: string): string => {
  const hint = FIELD_TAG.find(([field]) => message.includes(`${field}:`));
  return hint
    ? `${message} Fix the tag ${hint[1]} on the database (or the fleet input's defaults).`
    : `${message} Fix the fleet input's defaults.`;
};

const regionOf = (arn: string | undefined): string => arn?.split(':')[3] ?? '';

const pendingModifications = (db: DBInstance): string[] =>
  Object.entries(db.PendingModifiedValues ?? {})
    .filter(
      ([, value]) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0),
    )
    .map(([field]) => field);

const userTagCount = (tags: Record<string, string>): number => Object.keys(tags).filter(isUserTagKey).length;

const tooManyTags = (id: string, tags: Record<string, string>): string[] => {
  const count = userTagCount(tags);
  return count > MAX_USER_TAGS
    ? [
        `${id} has ${count} tags; RDS allows 50 per resource and Rekey adds 3 of its own: remove tags until at most ${MAX_USER_TAGS} remain.`,
      ]
    : [];
};

/** What instance preflight refuses before the strategy is known (targets/instance/preflight.ts). */
const instanceBlockers = (db: DBInstance, tags: Record<string, string>): string[] => {
  const id = db.DBInstanceIdentifier;
  const blockers: string[] = [];
  if (db.ReadReplicaSourceDBInstanceIdentifier) {
    blockers.push(
      `${id} is a read replica of ${db.ReadReplicaSourceDBInstanceIdentifier}: rotate the primary instead.`,
    );
  }
  if (!db.StorageEncrypted || !db.KmsKeyId) {
    blockers.push(
      `${id} is not encrypted, so there is no key to rotate. To encrypt it, copy a snapshot with a KMS key and restore from it.`,
    );
  }
  if (db.DBInstanceStatus !== 'available') {
    blockers.push(`${id} is "${db.DBInstanceStatus}", not "available": plan again once it is available.`);
  }
  const pending = pendingModifications(db);
  if (pending.length > 0) {
    blockers.push(`${id} has pending modifications (${pending.join(', ')}): apply them first.`);
  }
  if (db.Engine?.startsWith('custom-')) {
    blockers.push(`${id} is an RDS Custom instance (${db.Engine}), which Rekey does not rotate.`);
  }
  return [...blockers, ...tooManyTags(id ?? '', tags)];
};

/** What only the snapshot strategy cannot handle (targets/instance/preflight.ts checkSnapshotStrategy). */
const instanceSnapshotBlockers = (db: DBInstance, writeFreeze: unknown): string[] => {
  const id = db.DBInstanceIdentifier;
  const blockers: string[] = [];
  if ((db.ReadReplicaDBInstanceIdentifiers ?? []).length > 0) {
    blockers.push(
      `${id} has read replicas (${db.ReadReplicaDBInstanceIdentifiers?.join(', ')}), which a snapshot rotation does not carry over: ` +
        `tag it ${FLEET_TAGS.strategy}=blue-green, or delete or promote the replicas first.`,
    );
  }
  if (db.MasterUserSecret?.SecretArn) {
    blockers.push(
      `${id} keeps its master password in Secrets Manager, which a snapshot rotation cannot carry over: turn off the managed master password first.`,
    );
  }
  if (db.Engine?.startsWith('sqlserver') && db.MultiAZ && writeFreeze !== 'none') {
    blockers.push(
      `${id} is a Multi-AZ SQL Server instance, which RDS cannot stop, so writes cannot be frozen.`,
    );
  }
  return blockers;
};

/** What cluster preflight refuses (targets/cluster/preflight.ts). */
const clusterBlockers = (
  cluster: DBCluster,
  instances: Map<string, DBInstance>,
  tags: Record<string, string>,
): string[] => {
  const id = cluster.DBClusterIdentifier;
  const blockers: string[] = [];
  if (cluster.EngineMode === 'serverless') {
    blockers.push(`${id} is Aurora Serverless v1, which Rekey does not rotate.`);
  }
  if (cluster.GlobalClusterIdentifier) {
    blockers.push(
      `${id} is part of the global database ${cluster.GlobalClusterIdentifier}, which Rekey does not rotate.`,
    );
  }
  if (cluster.ReplicationSourceIdentifier) {
    blockers.push(
      `${id} is a replica of ${cluster.ReplicationSourceIdentifier}: rotate the primary cluster instead.`,
    );
  }
  if (!cluster.StorageEncrypted || !cluster.KmsKeyId) {
    blockers.push(`${id} is not encrypted, so there is no key to rotate.`);
  }
  if (cluster.Status !== 'available') {
    blockers.push(`${id} is "${cluster.Status}", not "available": plan again once it is available.`);
  }
  const members = cluster.DBClusterMembers ?? [];
  if (members.length === 0) {
    blockers.push(`${id} has no DB instances: add a writer instance first.`);
  }
  for (const member of members) {
    const db = instances.get(member.DBInstanceIdentifier ?? '');
    if (db && db.DBInstanceStatus !== 'available') {
      blockers.push(
        `the member ${member.DBInstanceIdentifier} of ${id} is "${db.DBInstanceStatus}", not "available".`,
      );
    }
  }
  return [...blockers, ...tooManyTags(id ?? '', tags)];
};

/** The strategy auto, snapshot or blue-green resolves to, the way preflight decides it (domain/decisions.ts). */
const chooseStrategy = (
  db: DiscoveredDatabase,
  requested: 'snapshot' | 'blue-green' | 'auto',
  instances: Map<string, DBInstance>,
): { decision: StrategyDecision | null; blocker: string | null } => {
  let ineligible: string[];
  if (db.instance) {
    const region = regionOf(db.instance.DBInstanceArn);
    const replicas = (db.instance.ReadReplicaDBInstanceIdentifiers ?? [])
      .map((replica) => instances.get(replica))
      .filter((replica): replica is DBInstance => Boolean(replica));
    ineligible = [
      ...instanceBlueGreenIneligibility(db.instance, region),
      ...replicaBlueGreenIneligibility(replicas),
    ];
  } else {
    ineligible = db.cluster ? clusterBlueGreenIneligibility(db.cluster) : [];
  }
  try {
    return { decision: decideStrategy(requested, ineligible, db.id), blocker: null };
  } catch (error) {
    return { decision: null, blocker: `${(error as Error).message} (tag ${FLEET_TAGS.strategy})` };
  }
};

const planDatabase = (
  db: DiscoveredDatabase,
  discovery: Discovery,
  input: FleetInput,
  fleetId: string,
  notes: string[],
  explicit?: Record<string, unknown>,
): Omit<PlannedDatabase, 'order'> => {
  const key = db.kmsKeyId ? discovery.keys.get(db.kmsKeyId) : undefined;
  const built = explicit ? { input: explicit, blockers: [] } : inputFromTags(db, input, fleetId);
  const blockers = [...built.blockers];
  let parsed: ReturnType<typeof parseRotationInput> | null = null;
  if (built.blockers.length === 0) {
    try {
      parsed = parseRotationInput(built.input);
    } catch (error) {
      blockers.push(validationBlocker((error as Error).message));
    }
  }
  blockers.push(
    ...(db.instance
      ? instanceBlockers(db.instance, db.tags)
      : db.cluster
        ? clusterBlockers(db.cluster, discovery.instances, db.tags)
        : []),
  );
  if (db.kmsKeyId && key?.keyState === null) {
    blockers.push(
      `the key of ${db.id} (${db.kmsKeyId}) could not be described (kms:DescribeKey): grant it to the planner's role, or check that the key exists.`,
    );
  }
  if (key && key.keyState !== null && key.keyState !== 'Enabled') {
    blockers.push(
      `the key of ${db.id} (${key.arn}) is ${key.keyState}, so RDS cannot read the data to copy it.`,
    );
  }
  const requested = (parsed?.strategy ?? built.input.strategy ?? 'snapshot') as
    | 'snapshot'
    | 'blue-green'
    | 'auto';
  const { decision, blocker } = chooseStrategy(db, requested, discovery.instances);
  if (blocker) blockers.push(blocker);
  const strategy = decision?.used ?? null;
  const writeFreeze = parsed?.writeFreeze ?? 'stop';
  if (strategy === 'snapshot') {
    if (db.instance) blockers.push(...instanceSnapshotBlockers(db.instance, writeFreeze));
    if (db.cluster?.MasterUserSecret?.SecretArn) {
      blockers.push(
        `${db.id} keeps its master password in Secrets Manager, which a snapshot rotation cannot carry over: tag it ${FLEET_TAGS.strategy}=blue-green or turn off the managed password.`,
      );
    }
  }
  if (key?.keyManager === 'AWS') {
    notes.push(
      `${db.id} is encrypted under the AWS-managed aws/rds key: it moves to a new customer managed key, and the old key is kept (it can never be scheduled for deletion).`,
    );
  }
  const cutoverType = parsed?.cutover.type ?? null;
  return {
    id: db.id,
    kind: db.kind,
    eligible: blockers.length === 0,
    strategy,
    strategyReason:
      decision?.reason ?? blocker ?? 'no strategy: the database is refused before one could be chosen.',
    cutover: strategy === 'blue-green' && cutoverType === 'rename' ? 'none' : cutoverType,
    oldKeyArn: key?.arn ?? db.kmsKeyId,
    blockers,
    estimatedWriterDowntimeSeconds: strategy
      ? estimateWriterDowntimeSeconds({ strategy, writeFreeze, allocatedStorageGiB: db.allocatedStorageGiB })
      : null,
    input: parsed ? (built.input as Record<string, unknown>) : null,
    executionName: executionNameFor(fleetId, db.id),
  };
};

/**
 * The concurrency the fleet can use: the input's, at most FLEET_MAX_CONCURRENCY (snapshot copies in
 * progress per Region), and so that existing manual snapshots + 2 per running instance rotation (1 per
 * Aurora rotation) stay within
 * the quota of 100 per Region, counted per kind (docs/fleet.md#pacing).
 */
export const paceConcurrency = (
  asked: number,
  existing: { instance: number; cluster: number },
  snapshotKinds: Set<TargetKind>,
): { maxConcurrency: number; notes: string[] } => {
  const notes: string[] = [];
  let concurrency = asked;
  if (concurrency > FLEET_MAX_CONCURRENCY) {
    concurrency = FLEET_MAX_CONCURRENCY;
    notes.push(
      `maxConcurrency ${asked} capped at ${FLEET_MAX_CONCURRENCY}: RDS allows a limited number of snapshot copies in progress per Region ` +
        `(the RDS guide says 20, older pages and the Aurora guide 5; Rekey uses 5: docs/fleet.md#pacing).`,
    );
  }
  for (const kind of snapshotKinds) {
    const used = existing[kind];
    const noun = kind === 'cluster' ? 'cluster ' : '';
    const each = SNAPSHOTS_PER_ROTATION[kind];
    const room = Math.floor((MANUAL_SNAPSHOT_QUOTA - used) / each);
    if (room < concurrency) {
      concurrency = Math.max(1, room);
      notes.push(
        room < 1
          ? `The Region has ${used} manual DB ${noun}snapshots of the ${MANUAL_SNAPSHOT_QUOTA} allowed; a snapshot rotation needs ${each} free. ` +
              `Delete old manual ${noun}snapshots or ask for a higher quota before the fleet runs.`
          : `maxConcurrency capped at ${concurrency}: the Region has ${used} manual DB ${noun}snapshots, and ${used} + ${each} × ${concurrency} ` +
              `must stay within the quota of ${MANUAL_SNAPSHOT_QUOTA} (docs/fleet.md#pacing).`,
      );
    }
  }
  return { maxConcurrency: concurrency, notes };
};

/** Eligible databases grouped by old key (groups by key ARN, ids sorted): each group runs one after another. */
export const groupByKey = (databases: Omit<PlannedDatabase, 'order'>[]): FleetPlan['groups'] => {
  const byKey = new Map<string, string[]>();
  for (const db of databases.filter((d) => d.eligible)) {
    const group = db.oldKeyArn ?? `no-key:${db.id}`;
    byKey.set(group, [...(byKey.get(group) ?? []), db.id]);
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, ids]) => ({
      group,
      oldKeyArn: group.startsWith('no-key:') ? null : group,
      ids: ids.sort((a, b) => a.localeCompare(b)),
    }));
};

/** Plans a fleet. Read-only: it lists and describes, and never changes anything in AWS. */
export const planFleet = async (
  input: FleetInput,
  options: { fleetId: string; now?: Date },
): Promise<FleetPlan> => planSelected(input, options);

/**
 * Plans one single rotation input (`rekey plan` of a non-fleet input) as a fleet of one: the
 * input is used as written (no tags read). A database of that name that does not exist is one
 * row with a blocker.
 */
export const planSingleInput = async (
  raw: Record<string, unknown>,
  options: { fleetId: string; now?: Date },
): Promise<FleetPlan> => {
  const request = parseRotationInput(raw);
  const target = rotationTarget(request);
  const input: FleetInput = {
    fleet: {
      select: { identifiers: [target.identifier] },
      maxConcurrency: 1,
      maxFailures: 0,
      onIneligible: 'fail',
      approval: request.approval?.required ? 'per-database' : 'none',
      planOnly: true,
    },
    defaults: {} as FleetInput['defaults'],
    reason: request.reason,
    ...(request.requestedBy !== undefined ? { requestedBy: request.requestedBy } : {}),
  };
  return planSelected(input, options, { raw, kind: target.kind });
};

const planSelected = async (
  input: FleetInput,
  options: { fleetId: string; now?: Date },
  single?: { raw: Record<string, unknown>; kind: TargetKind },
): Promise<FleetPlan> => {
  const now = options.now ?? new Date();
  const calls: CallCounts = {};
  const discovery = await discover(calls);
  const notes: string[] = [];
  // A single input names its database on purpose: it is planned as written.
  const superseded = single ? new Map<string, Supersession>() : supersededDatabases(discovery.databases);
  const selected = discovery.databases.filter((db) => {
    const key = db.kmsKeyId ? discovery.keys.get(db.kmsKeyId) : undefined;
    if (!matchesSelect(db, key, keyAgeDays(key, now), input.fleet.select)) return false;
    const by = superseded.get(kindKey(db.kind, db.id));
    if (by) notes.push(supersededNote(db.id, by));
    return !by;
  });
  const planned = selected.map((db) =>
    planDatabase(db, discovery, input, options.fleetId, notes, single?.raw),
  );
  for (const row of single ? planned : []) {
    if (row.kind !== single?.kind) {
      const [given, wanted] =
        row.kind === 'cluster'
          ? ['dbInstanceIdentifier', 'dbClusterIdentifier']
          : ['dbClusterIdentifier', 'dbInstanceIdentifier'];
      row.blockers.push(
        `${given}: "${row.id}" is ${row.kind === 'cluster' ? 'an Aurora DB cluster' : 'a DB instance'}: give "${wanted}": "${row.id}" instead.`,
      );
      row.eligible = false;
    }
  }
  const route53 = countedRoute53(calls);
  for (const [index, row] of planned.entries()) {
    const db = selected[index];
    if (!row.input || !db) continue;
    const { cutover } = parseRotationInput(row.input);
    if (cutover.type !== 'cname') continue;
    const found = await recordBlockers(route53, db, cutover);
    if (found.length > 0) {
      row.blockers.push(...found);
      row.eligible = false;
    }
  }
  if (single && planned.length === 0) {
    const id = input.fleet.select.identifiers?.[0] ?? '';
    planned.push({
      id,
      kind: single.kind,
      eligible: false,
      strategy: null,
      strategyReason: 'no strategy: the database was not found.',
      cutover: null,
      oldKeyArn: null,
      blockers: [
        `no ${single.kind === 'cluster' ? 'Aurora DB cluster' : 'DB instance'} "${id}" in this Region (Aurora members are rotated with their cluster): check the identifier and the Region.`,
      ],
      estimatedWriterDowntimeSeconds: null,
      input: single.raw,
      executionName: executionNameFor(options.fleetId, id),
    });
  }
  const groups = groupByKey(planned);
  const orderOf = new Map<string, PlannedDatabase['order']>();
  for (const group of groups) {
    group.ids.forEach((id, index) => {
      orderOf.set(id, { group: group.group, position: index + 1, of: group.ids.length });
    });
  }
  const databases: PlannedDatabase[] = planned.map((db) => ({
    ...db,
    order: orderOf.get(db.id) ?? { group: db.oldKeyArn ?? `no-key:${db.id}`, position: 0, of: 0 },
  }));
  const snapshotKinds = new Set(
    databases.filter((d) => d.eligible && d.strategy === 'snapshot').map((d) => d.kind),
  );
  const existing = snapshotKinds.size > 0 ? await countManualSnapshots(calls) : { instance: 0, cluster: 0 };
  const paced = paceConcurrency(input.fleet.maxConcurrency, existing, snapshotKinds);
  if (selected.length === 0) notes.push('No database matches fleet.select: nothing would be rotated.');
  return {
    status: 'PLANNED',
    fleetId: options.fleetId,
    databases,
    groups,
    maxConcurrency: paced.maxConcurrency,
    maxFailures: input.fleet.maxFailures,
    onIneligible: input.fleet.onIneligible,
    approval: input.fleet.approval,
    planOnly: input.fleet.planOnly,
    approvalTimeoutSeconds: (input.fleet.approvalTimeoutMinutes ?? APPROVAL_MINUTES.default) * 60,
    notes: [...paced.notes, ...notes],
    calls,
  };
};

export interface InventoryRow {
  identifier: string;
  kind: TargetKind;
  engine: string;
  encrypted: boolean;
  keyArn: string | null;
  keyAlias: string | null;
  keyManager: 'AWS' | 'CUSTOMER' | null;
  keyCreatedAt: string | null;
  keyAgeDays: number | null;
  /** The newest Rekey evidence record of the database (its start time), when an evidence bucket was given. */
  lastRotation: { startedAt: string; rotationId: string; evidenceUri: string } | null;
  /** Encrypted under a key at least `olderThanDays` old. */
  due: boolean;
}

const EVIDENCE_KEY = /^rotations\/([^/]+)\/(.+)-(rk[0-9a-f]{10})\.json$/;

/** The newest rotation record per database in the evidence bucket (functions/features/evidence). */
const lastRotations = async (
  bucket: string,
  calls: CallCounts,
): Promise<Map<string, NonNullable<InventoryRow['lastRotation']>>> => {
  const { s3 } = getEvidenceClients();
  const newest = new Map<string, NonNullable<InventoryRow['lastRotation']>>();
  const pages = paginateListObjectsV2(
    { client: s3, withCommand: counted(calls, 's3') },
    { Bucket: bucket, Prefix: 'rotations/' },
  );
  for await (const page of pages) {
    for (const object of page.Contents ?? []) {
      const match = EVIDENCE_KEY.exec(object.Key ?? '');
      if (!match) continue;
      const [, db, startedAt, rotationId] = match as unknown as [string, string, string, string];
      const known = newest.get(db);
      if (!known || startedAt > known.startedAt) {
        newest.set(db, { startedAt, rotationId, evidenceUri: `s3://${bucket}/${object.Key}` });
      }
    }
  }
  return newest;
};

/** The compliance view: every database, its key and the key's age. Read-only. */
export const inventory = async (options: {
  olderThanDays: number;
  evidenceBucket?: string;
  now?: Date;
}): Promise<{ rows: InventoryRow[]; calls: CallCounts }> => {
  const now = options.now ?? new Date();
  const calls: CallCounts = {};
  const discovery = await discover(calls);
  const rotations = options.evidenceBucket ? await lastRotations(options.evidenceBucket, calls) : null;
  const rows = discovery.databases.map((db): InventoryRow => {
    const key = db.kmsKeyId ? discovery.keys.get(db.kmsKeyId) : undefined;
    const age = keyAgeDays(key, now);
    return {
      identifier: db.id,
      kind: db.kind,
      engine: db.engine,
      encrypted: db.encrypted,
      keyArn: key?.arn ?? db.kmsKeyId,
      keyAlias: key?.aliases[0] ?? null,
      keyManager: key?.keyManager ?? null,
      keyCreatedAt: key?.createdAt ?? null,
      keyAgeDays: age,
      lastRotation: rotations?.get(db.id.toLowerCase()) ?? null,
      due: age !== null && age >= options.olderThanDays,
    };
  });
  return { rows, calls };
};
