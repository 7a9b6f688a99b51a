import { type DBInstance, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { CutoverFailedError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { InstancePlan } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';

/**
 * The rename cutover: the source moves aside to `<id>-old-<rotation id>` and the new instance
 * takes the original identifier, so clients keep their hostname (RDS derives the endpoint
 * address from the identifier). RDS cannot modify a stopped instance, so with a write freeze the source
 * is moved aside before it is stopped (its hostname disappears at once, which is the freeze); with
 * `writeFreeze: "none"` it is moved aside at the cutover.
 *
 * Every rename, of an instance or of a cluster (through a RenameAdapter), is a reconciler keyed on
 * names alone: the database under the target name tells whether the rename happened. RDS refuses
 * to rename onto an existing identifier (the emulator silently overwrites it), so Rekey checks the
 * target name first and never renames onto anything that is not the database it expects there.
 */

/** The source's identifier once the freeze has run: a rename cutover with a freeze moves it aside first. */
export const frozenSourceIdentifier = (plan: InstancePlan): string =>
  plan.cutover.type === 'rename' && plan.decisions.stopSource
    ? plan.cutover.asideIdentifier
    : plan.source.dbInstanceIdentifier;

/**
 * Where the source instance is now: moved aside, or under its own identifier. `null` when neither
 * holds it (the original name may hold this rotation's new instance after a rename cutover).
 */
export const locateSource = async (rds: RDSClient, plan: InstancePlan): Promise<DBInstance | null> => {
  if (plan.cutover.type === 'rename') {
    const aside = await findInstance(rds, plan.cutover.asideIdentifier);
    if (aside) return aside;
  }
  const db = await findInstance(rds, plan.source.dbInstanceIdentifier);
  return db && !carriesRotationId(db.TagList, plan.rotationId) ? db : null;
};

/**
 * What the rename reconciler needs to know of a kind of database: how to find one by name, read
 * its status, and rename it. One for DB instances here; the cluster steps have theirs.
 */
export interface RenameAdapter<R> {
  /** For messages: "DB instance" or "DB cluster". */
  noun: string;
  find: (rds: RDSClient, identifier: string) => Promise<R | null>;
  statusOf: (resource: R) => string | undefined;
  /** Sends the rename (and the other changes of the same call). */
  rename: (
    rds: RDSClient,
    from: string,
    to: string,
    alsoModify: RenameStep<R>['alsoModify'],
  ) => Promise<void>;
  /** Where its error names are in RDS_ERRORS ("busy now", "that name is taken"). */
  errors: 'instance' | 'cluster';
}

export interface RenameStep<R = DBInstance> {
  from: string;
  to: string;
  /** True when the database found under `to` is the one being renamed (a rename that already happened). */
  expectedAtTarget: (resource: R) => boolean;
  /** Optional: true when the database under `from` is the one to rename; any other is never renamed. */
  expectedAtSource?: (resource: R) => boolean;
  /** True when an earlier call issued this rename (an answer may have been lost). */
  requested: boolean;
  /** Other changes to make in the same Modify call, e.g. lifting deletion protection. */
  alsoModify?: { DeletionProtection?: boolean };
  /** For messages, e.g. "Moving orders-db aside". */
  what: string;
}

export interface RenameProgress {
  done: boolean;
  /** The status of the database, under whichever name it was seen. */
  status: string;
  /** True once this call or an earlier one issued the rename. */
  requested: boolean;
}

/** Statuses in which a renamed database has settled. */
const SETTLED = ['available', 'stopped'];

/**
 * One check of a rename, acting only when needed: done once the database is under `to` and
 * settled; issues the rename when it is still under `from` and `available`; otherwise waits.
 * Never renames onto a name that holds a database it does not expect there, nor renames one it
 * does not expect under `from`.
 */
export const reconcileRenameOf = async <R>(
  adapter: RenameAdapter<R>,
  rds: RDSClient,
  step: RenameStep<R>,
): Promise<RenameProgress> => {
  const { noun } = adapter;
  const errors = RDS_ERRORS[adapter.errors];
  const atTarget = await adapter.find(rds, step.to);
  if (atTarget) {
    if (!step.expectedAtTarget(atTarget)) {
      throw new CutoverFailedError(
        `${step.what}: a ${noun} named ${step.to} already exists and is not the one being renamed, ` +
          `so ${step.from} was not renamed (RDS refuses to rename onto an existing identifier). ` +
          `Find out who created ${step.to}; Rekey did not touch it.`,
      );
    }
    const status = adapter.statusOf(atTarget) ?? 'unknown';
    return { done: SETTLED.includes(status), status, requested: true };
  }
  const atSource = await adapter.find(rds, step.from);
  if (!atSource) {
    if (step.requested) return { done: false, status: 'renaming', requested: true };
    throw new PreconditionFailedError(
      `${step.what}: neither ${step.from} nor ${step.to} exists. Someone deleted or renamed the ${noun} during the rotation. ` +
        'Check the RDS console and its recent events.',
    );
  }
  if (step.expectedAtSource && !step.expectedAtSource(atSource)) {
    throw new CutoverFailedError(
      `${step.what}: the ${noun} named ${step.from} is not the one Rekey expected there, so it was not renamed. ` +
        `Find out who created it; Rekey did not touch it.`,
    );
  }
  const status = adapter.statusOf(atSource) ?? 'unknown';
  if (status !== 'available') return { done: false, status, requested: step.requested };
  try {
    await adapter.rename(rds, step.from, step.to, step.alsoModify);
    logger.info(`renaming ${noun}`, { from: step.from, to: step.to });
  } catch (error) {
    if (isAwsError(error, ...errors.invalidState)) {
      return { done: false, status, requested: step.requested };
    }
    if (isAwsError(error, ...errors.alreadyExists)) {
      throw new CutoverFailedError(
        `${step.what}: RDS refused to rename ${step.from} to ${step.to}, which now exists. Nothing was renamed; ` +
          `find out who created ${step.to}.`,
        { cause: error },
      );
    }
    throw error;
  }
  return { done: false, status: 'renaming', requested: true };
};

/** DB instances, for the rename reconciler. */
export const instanceRenames: RenameAdapter<DBInstance> = {
  noun: 'DB instance',
  find: findInstance,
  statusOf: (db) => db.DBInstanceStatus,
  rename: async (rds, from, to, alsoModify) => {
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: from,
        NewDBInstanceIdentifier: to,
        ApplyImmediately: true,
        ...alsoModify,
      }),
    );
  },
  errors: 'instance',
};

/** One check of a DB instance rename (see reconcileRenameOf). */
export const reconcileRename = (rds: RDSClient, step: RenameStep<DBInstance>): Promise<RenameProgress> =>
  reconcileRenameOf(instanceRenames, rds, step);
