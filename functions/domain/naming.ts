import { createHash } from 'node:crypto';

/**
 * Names of everything a rotation creates. They derive only from the rotation id and the source
 * identifier, so a step that runs again (a retry, a Lambda that timed out after its AWS call
 * succeeded) finds what it created the first time instead of creating a second one.
 */

/** RDS DB instance identifier: 1-63 letters, digits or hyphens; starts with a letter; no `--`, no trailing `-`. */
export const DB_IDENTIFIER_PATTERN = /^[a-zA-Z](?:-?[a-zA-Z0-9])*$/;
export const DB_IDENTIFIER_MAX = 63;

/** Tag keys Rekey puts on what it creates; `rekey:*` tags are not part of configuration parity. */
export const TAG_ROTATION_ID = 'rekey:rotation-id';
export const TAG_SOURCE_DB = 'rekey:source-db';
export const TAG_ROLE = 'rekey:role';
/** On the old source once clients moved off it: the rotation that retired it (reconcilers/retirement.ts). */
export const TAG_RETIRED_BY = 'rekey:retired-by';
export const REKEY_TAG_PREFIX = 'rekey:';

/**
 * The `rekey:*` tags that are the user's configuration of a fleet rotation, not Rekey's
 * bookkeeping (FLEET_TAGS in features/fleet/types.ts, docs/fleet.md): they carry over to the new
 * database, so next year's fleet selects it again with the same settings.
 */
export const REKEY_CONFIG_TAG_KEYS: readonly string[] = [
  'rekey:rotate',
  'rekey:cutover',
  'rekey:record-name',
  'rekey:reader-record-name',
  'rekey:strategy',
  'rekey:hosted-zone-id',
];

/**
 * A tag that belongs to the user: not reserved by AWS (`aws:*`), and not Rekey's own bookkeeping
 * (`rekey:*`) unless it is one of the configuration tags (REKEY_CONFIG_TAG_KEYS).
 */
export const isUserTagKey = (key: string): boolean =>
  !key.startsWith('aws:') && (!key.startsWith(REKEY_TAG_PREFIX) || REKEY_CONFIG_TAG_KEYS.includes(key));

/** A short, stable id for one execution: `rk` + 10 hex digits of the execution ARN's SHA-256. */
export const rotationIdFor = (executionId: string): string =>
  `rk${createHash('sha256').update(executionId).digest('hex').slice(0, 10)}`;

const trimIdentifier = (value: string, max: number): string => value.slice(0, max).replace(/-+$/, '');

/** The names every rotation plans, whatever the kind. */
interface NamesOfEveryKind {
  newDbInstanceIdentifier: string;
  /** Where a rename cutover moves the source: `<id>-old-<rotation id>`. */
  asideDbInstanceIdentifier: string;
  /** The snapshot of the source, under the old key. */
  sourceSnapshotIdentifier: string;
  keyAlias: string;
}

/** A DB instance rotation's names: the instance restore takes no key, so the snapshot is copied under the new key first. */
export interface RotationNames extends NamesOfEveryKind {
  /** The copy of the source snapshot under the new key (`-reencrypted`), which the new instance is restored from. */
  copySnapshotIdentifier: string;
}

/**
 * An Aurora cluster rotation's names. No snapshot copy: RestoreDBClusterFromSnapshot takes
 * `KmsKeyId`, so the new cluster is restored straight from the source snapshot under the new key.
 */
export interface ClusterRotationNames extends NamesOfEveryKind {
  /**
   * Only in a plan made before Aurora rotations stopped copying (an execution that ran across that
   * deploy may have created the copy): the rollback still removes a copy of that name.
   */
  copySnapshotIdentifier?: string;
  /** The new cluster, its members and where a rename cutover moves the source cluster. */
  cluster: ClusterNames;
}

export interface ClusterNames {
  newDbClusterIdentifier: string;
  /** Where a rename cutover moves the source cluster: `<cluster>-old-<rotation id>`. */
  asideDbClusterIdentifier: string;
  /** Source member identifier -> the identifier of the member created in the new cluster: `<member>-<rotation id>`. */
  newMemberIdentifiers: Record<string, string>;
}

export const namesFor = (rotationId: string, sourceDbInstanceIdentifier: string): RotationNames => {
  const source = sourceDbInstanceIdentifier.toLowerCase();
  const suffix = `-${rotationId}`;
  const base = trimIdentifier(source, DB_IDENTIFIER_MAX - suffix.length);
  const aside = `-old-${rotationId}`;
  return {
    newDbInstanceIdentifier: `${base}${suffix}`,
    asideDbInstanceIdentifier: `${trimIdentifier(source, DB_IDENTIFIER_MAX - aside.length)}${aside}`,
    sourceSnapshotIdentifier: `rekey-${base}-${rotationId}-source`,
    copySnapshotIdentifier: `rekey-${base}-${rotationId}-reencrypted`,
    keyAlias: `alias/rekey/${source}/${rotationId}`,
  };
};

/**
 * Names for an Aurora cluster rotation: the source snapshot is a cluster snapshot with the same
 * pattern, and there is no copy (see ClusterRotationNames).
 */
export const clusterNamesFor = (
  rotationId: string,
  sourceDbClusterIdentifier: string,
  memberIdentifiers: string[],
): ClusterRotationNames => {
  const { copySnapshotIdentifier: _noCopy, ...names } = namesFor(rotationId, sourceDbClusterIdentifier);
  const suffix = `-${rotationId}`;
  const newMemberIdentifiers = Object.fromEntries(
    memberIdentifiers.map((member) => [
      member,
      `${trimIdentifier(member.toLowerCase(), DB_IDENTIFIER_MAX - suffix.length)}${suffix}`,
    ]),
  );
  return {
    ...names,
    cluster: {
      newDbClusterIdentifier: names.newDbInstanceIdentifier,
      asideDbClusterIdentifier: names.asideDbInstanceIdentifier,
      newMemberIdentifiers,
    },
  };
};

/** The ARN RDS gives a DB instance (`db`) or cluster (`cluster`) under its current identifier. */
export const rdsArn = (
  where: { partition: string; region: string; accountId: string },
  type: 'db' | 'cluster',
  identifier: string,
): string => `arn:${where.partition}:rds:${where.region}:${where.accountId}:${type}:${identifier}`;
