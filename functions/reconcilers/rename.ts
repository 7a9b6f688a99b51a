import { type DBInstance, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { CutoverFailedError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { InstancePlan } from '#domain/plan.js';
import { logger } from '#runtime/logger.js';

/**
 * The rename cutover: the source moves aside to `<id>-old-<rotation id>` and the new instance
 * takes the original identifier, so clients keep their hostname (DOMAIN fact 7: the endpoint
 * follows the identifier). RDS cannot modify a stopped instance, so with a write freeze the source
 * is moved aside before it is stopped (its hostname disappears at once, which is the freeze); with
 * `writeFreeze: "none"` it is moved aside at the cutover.
 *
 * Every rename is a reconciler keyed on names alone: the instance under the target name tells
 * whether the rename happened. RDS refuses to rename onto an existing identifier (the emulator
 * silently overwrites it), so Rekey checks the target name first and never renames onto anything
 * that is not the instance it expects there.
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

export interface RenameStep {
  from: string;
  to: string;
  /** True when the instance found under `to` is the one being renamed (a rename that already happened). */
  expectedAtTarget: (db: DBInstance) => boolean;
  /** True when an earlier call issued this rename (an answer may have been lost). */
  requested: boolean;
  /** Other changes to make in the same ModifyDBInstance call, e.g. lifting deletion protection. */
  alsoModify?: { DeletionProtection?: boolean };
  /** For messages, e.g. "Moving orders-db aside". */
  what: string;
}

export interface RenameProgress {
  done: boolean;
  /** The status of the instance, under whichever name it was seen. */
  status: string;
  /** True once this call or an earlier one issued the rename. */
  requested: boolean;
}

/** Statuses in which a renamed instance has settled. */
const SETTLED = ['available', 'stopped'];

/**
 * One check of a rename, acting only when needed: done once the instance is under `to` and
 * settled; issues the rename when it is still under `from` and `available`; otherwise waits.
 */
export const reconcileRename = async (rds: RDSClient, step: RenameStep): Promise<RenameProgress> => {
  const atTarget = await findInstance(rds, step.to);
  if (atTarget) {
    if (!step.expectedAtTarget(atTarget)) {
      throw new CutoverFailedError(
        `${step.what}: a DB instance named ${step.to} already exists and is not the one being renamed, ` +
          `so ${step.from} was not renamed (RDS refuses to rename onto an existing identifier). ` +
          `Find out who created ${step.to}; Rekey did not touch it.`,
      );
    }
    const status = atTarget.DBInstanceStatus ?? 'unknown';
    return { done: SETTLED.includes(status), status, requested: true };
  }
  const atSource = await findInstance(rds, step.from);
  if (!atSource) {
    if (step.requested) return { done: false, status: 'renaming', requested: true };
    throw new PreconditionFailedError(
      `${step.what}: neither ${step.from} nor ${step.to} exists. Someone deleted or renamed the instance during the rotation. ` +
        'Check the RDS console and its recent events.',
    );
  }
  const status = atSource.DBInstanceStatus ?? 'unknown';
  if (status !== 'available') return { done: false, status, requested: step.requested };
  try {
    await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: step.from,
        NewDBInstanceIdentifier: step.to,
        ApplyImmediately: true,
        ...step.alsoModify,
      }),
    );
    logger.info('renaming DB instance', { from: step.from, to: step.to });
  } catch (error) {
    if (isAwsError(error, 'InvalidDBInstanceStateFault', 'InvalidDBInstanceState')) {
      return { done: false, status, requested: step.requested };
    }
    if (isAwsError(error, 'DBInstanceAlreadyExistsFault', 'DBInstanceAlreadyExists')) {
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
