/**
 * What a rollback did and what it left, as data. The rollback decides from these facts (and from
 * the other typed state), never from its own messages; the messages a person reads (`undone`,
 * `leftBehind`, the failure cause) are rendered from the facts, so rewording one changes no
 * decision.
 */

/** A kind of RDS resource a rollback renames, starts or deletes. */
export type RdsResource = 'db-instance' | 'db-cluster';

/**
 * The key RDS reported on a resource this rotation created, read by the rollback before it removed
 * the resource: after a failed validation, the evidence of which key the new database was really under.
 */
export interface ObservedKey {
  resource: RdsResource;
  identifier: string;
  kmsKeyArn: string | null;
}

/** Something the rollback undid (or, for `source-left-aside` and `key-not-scheduled`, could not). */
export type RollbackFact =
  /** The source was started again after the write freeze. */
  | { kind: 'source-started'; identifier: string }
  /** The source's deletion protection, lifted before the freeze, was turned on again. */
  | { kind: 'deletion-protection-restored'; identifier: string }
  /**
   * A rename of the rename cutover was reversed: the new database gave the original identifier back
   * (`which: 'new'`), or the source took it back from the aside name (`which: 'source'`).
   */
  | { kind: 'renamed-back'; resource: RdsResource; which: 'new' | 'source'; from: string; to: string }
  /** The original identifier holds a database Rekey does not know, so the source stays aside. */
  | { kind: 'source-left-aside'; identifier: string; original: string }
  /** A CNAME that pointed at the new database points at the source again. */
  | { kind: 'record-pointed-back'; recordName: string; value: string }
  /** Something this rotation created before any client could use it was deleted. */
  | {
      kind: 'deleted';
      resource: RdsResource | 'db-snapshot' | 'db-cluster-snapshot';
      identifier: string;
    }
  /** The Blue/Green deployment (named, when known) was deleted with its green resources. */
  | { kind: 'blue-green-deleted'; deploymentName: string | null; greenIdentifiers: string[] }
  /** The unused new key was scheduled for deletion (`deletionDate` null: KMS gave no date). */
  | { kind: 'key-scheduled-for-deletion'; keyArn: string; deletionDate: string | null; windowDays: number }
  /** The unused new key could not be scheduled for deletion: a person must do it. */
  | { kind: 'key-not-scheduled'; keyArn: string; errorName: string };

/** Something the rotation created that still exists after the rollback, for a person. */
export type LeftResource =
  | { kind: RdsResource | 'db-snapshot' | 'db-cluster-snapshot'; identifier: string }
  | { kind: 'kms-key'; keyArn: string; alias: string }
  /** `afterSwitchover`: delete it without its targets, which now serve clients. */
  | { kind: 'blue-green-deployment'; identifier: string; afterSwitchover: boolean }
  /** A green resource of a deployment kept with `keepArtifactsOnFailure`. */
  | { kind: 'green'; resource: RdsResource; identifier: string }
  /** An old blue resource after a completed switchover. */
  | { kind: 'old-blue'; resource: RdsResource; identifier: string; status: string };

const NEW_NOUN: Record<RdsResource, string> = { 'db-instance': 'instance', 'db-cluster': 'cluster' };

const NOUN: Record<RdsResource | 'db-snapshot' | 'db-cluster-snapshot', string> = {
  'db-instance': 'DB instance',
  'db-cluster': 'DB cluster',
  'db-snapshot': 'DB snapshot',
  'db-cluster-snapshot': 'DB cluster snapshot',
};

/** The words for one fact, as `rollback.undone` and the failure cause show it. */
export const renderFact = (fact: RollbackFact): string => {
  switch (fact.kind) {
    case 'source-started':
      return `started ${fact.identifier} again`;
    case 'deletion-protection-restored':
      return `turned deletion protection on again for ${fact.identifier}`;
    case 'renamed-back':
      if (fact.which === 'new')
        return `renamed the new ${NEW_NOUN[fact.resource]} back from ${fact.from} to ${fact.to}`;
      return fact.resource === 'db-instance'
        ? `renamed the source ${fact.from} back to ${fact.to}`
        : `renamed the source back from ${fact.from} to ${fact.to}`;
    case 'source-left-aside':
      return (
        `could not rename the source back: ${fact.original} now names another DB instance, so the source keeps the name ${fact.identifier} ` +
        `(rename it back by hand once ${fact.original} is free: aws rds modify-db-instance --db-instance-identifier ${fact.identifier} ` +
        `--new-db-instance-identifier ${fact.original} --apply-immediately)`
      );
    case 'record-pointed-back':
      return `pointed ${fact.recordName} back at ${fact.value}`;
    case 'deleted':
      return fact.resource === 'db-instance' || fact.resource === 'db-cluster'
        ? `deleted the new ${NOUN[fact.resource]} ${fact.identifier}`
        : `deleted the ${NOUN[fact.resource]} ${fact.identifier}`;
    case 'blue-green-deleted': {
      const ids = fact.greenIdentifiers.join(', ');
      if (fact.deploymentName === null) return `deleted the green resources (${ids})`;
      const which = fact.greenIdentifiers.length > 0 ? ` and its green resources (${ids})` : '';
      return `deleted the Blue/Green deployment ${fact.deploymentName}${which}`;
    }
    case 'key-scheduled-for-deletion':
      return `scheduled the unused new key ${fact.keyArn} for deletion on ${fact.deletionDate ?? `in ${fact.windowDays} days`}`;
    case 'key-not-scheduled':
      return `could not schedule the unused new key ${fact.keyArn} for deletion (${fact.errorName}): schedule it by hand`;
  }
};

/** The words for one leftover, as `rollback.leftBehind` and the failure cause show it. */
export const renderLeft = (left: LeftResource): string => {
  switch (left.kind) {
    case 'kms-key':
      return `KMS key ${left.keyArn} (${left.alias})`;
    case 'blue-green-deployment':
      return left.afterSwitchover
        ? `Blue/Green deployment ${left.identifier} (delete it without --delete-target)`
        : `Blue/Green deployment ${left.identifier}`;
    case 'green':
      return `${left.resource} ${left.identifier}`;
    case 'old-blue':
      return `old blue ${left.resource} ${left.identifier} (${left.status}, under the old key)`;
    default:
      return `${NOUN[left.kind]} ${left.identifier}`;
  }
};

/** Two facts are the same when every field is; key order does not matter. */
const sameFact = (a: RollbackFact, b: RollbackFact): boolean => {
  const entries = (fact: RollbackFact) =>
    JSON.stringify(Object.entries(fact).sort(([x], [y]) => x.localeCompare(y)));
  return entries(a) === entries(b);
};

/**
 * Adds facts not yet recorded, in order. A rollback runs as a loop and re-checks what it already
 * did (a lost answer, a re-run), so the same fact may come up again.
 */
export const withFacts = (facts: readonly RollbackFact[], more: readonly RollbackFact[]): RollbackFact[] => {
  const all = [...facts];
  for (const fact of more) if (!all.some((known) => sameFact(known, fact))) all.push(fact);
  return all;
};

/** True when the rollback gave the original identifier back from the new database (clients could reach it). */
export const newDatabaseHeldOriginalName = (facts: readonly RollbackFact[]): boolean =>
  facts.some((fact) => fact.kind === 'renamed-back' && fact.which === 'new');

/**
 * True once the Cutover step may have moved clients: it writes `attempted: true` in its first
 * result, before any change. A result without the field was written by an earlier version of the
 * step, whose first result already followed its first change, so it counts too.
 */
export const cutoverAttempted = (cutover: { attempted?: boolean } | undefined): boolean =>
  cutover !== undefined && cutover.attempted !== false;
