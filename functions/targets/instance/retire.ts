import {
  type DBInstance,
  DeleteDBInstanceCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RetireInstanceResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { isRetiredBy, notMarkedRetired } from '#reconcilers/retirement.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/** RDS answers this when asked to delete an instance whose deletion protection is on. */
const PROTECTED = 'InvalidParameterCombination';

/**
 * Retire the old (source) instance once clients use the new one, or record why it is kept.
 *
 * Guards, checked before anything is changed:
 * - the cutover was verified (the record was read back pointing at the new instance);
 * - the instance is the one preflight described (same DbiResourceId), not a different instance
 *   that now carries the identifier.
 *
 * Then it reconciles towards "gone": deletes without a final snapshot (stop-source lifted deletion
 * protection before the stop, since a stopped instance cannot be modified), waits through `deleting`,
 * and is done once the instance is not found. No final snapshot: the data is in the new instance
 * and in the re-encrypted snapshot, and a snapshot taken now would be under the old key and keep
 * that key from being retired.
 */
export const retireInstance = async (state: InstanceState): Promise<RetireInstanceResult> => {
  const { plan } = state;
  // A rename cutover gave the original identifier to the new instance; the source is aside.
  const id = plan.cutover.type === 'rename' ? plan.cutover.asideIdentifier : plan.source.dbInstanceIdentifier;
  const { rds } = getClients();

  if (!plan.decisions.deleteOldInstance) {
    const db = await findInstance(rds, id);
    const reason = plan.decisions.keepOldInstanceReason ?? 'the rotation plan keeps the old instance.';
    logger.info('old instance retained', { dbInstanceIdentifier: id, reason });
    return { done: true, outcome: 'retained', status: db?.DBInstanceStatus ?? 'unknown', reason };
  }

  if (state.cutover?.verified !== true) {
    throw new PreconditionFailedError(
      `Refusing to delete the old DB instance ${id}: the cutover was not verified, so clients may still use it. ` +
        'Nothing was deleted. Check that the CNAME points at the new instance, then delete the old instance by hand if you are sure.',
    );
  }
  if (id === plan.names.newDbInstanceIdentifier || id === state.validation?.dbInstanceIdentifier) {
    throw new PreconditionFailedError(
      `Refusing to delete ${id}: it is the new DB instance of this rotation, not the old one. Nothing was deleted. ` +
        'This is a bug in the rotation plan: report it with the execution ARN.',
    );
  }

  const previous = state.retireInstance;
  const what = `Deleting the old DB instance ${id}`;
  const waiting = (status: string): RetireInstanceResult => ({
    done: false,
    outcome: 'deleted',
    status,
    poll: nextPoll(previous?.poll, 'retireInstance', status, what),
  });
  const gone: RetireInstanceResult = { done: true, outcome: 'deleted', status: 'deleted' };

  const db = await findInstance(rds, id);
  if (!db) {
    logger.info('old instance is gone', { dbInstanceIdentifier: id });
    return gone;
  }
  assertIsTheSource(db, plan.source.dbiResourceId, id);

  const status = db.DBInstanceStatus ?? 'unknown';
  if (status === 'deleting') return waiting(status);
  if (!isRetiredBy(db.TagList, plan.rotationId)) {
    logger.warn('old instance kept: not marked retired by the cutover', { dbInstanceIdentifier: id });
    return notMarkedRetired(id, plan.rotationId, status);
  }

  if (db.DeletionProtection) {
    if (status === 'stopped' || status === 'stopping') {
      // Stop-source lifted the protection before the stop, since RDS cannot modify a stopped
      // instance. It is on again: someone turned it back on. Starting the old database now would
      // let clients with a stale DNS answer write to it, so keep it and say how to finish.
      const reason =
        `deletion protection was turned on again while ${id} was stopped, and RDS cannot modify a stopped instance. ` +
        `The rotation is complete; to retire it: aws rds start-db-instance --db-instance-identifier ${id}, then ` +
        `aws rds modify-db-instance --db-instance-identifier ${id} --no-deletion-protection --apply-immediately, then delete it.`;
      logger.warn('old instance kept: deletion protection is on', { dbInstanceIdentifier: id, status });
      return { done: true, outcome: 'retained', status, reason };
    }
    if (status !== 'available') return waiting(status);
    const lifted = await liftDeletionProtection(rds, id);
    if (!lifted) return waiting(status);
  }

  const deletion = await deleteInstance(rds, id);
  if (deletion === 'gone') return gone;
  return waiting(deletion === 'deleting' ? 'deleting' : status);
};

const assertIsTheSource = (db: DBInstance, expected: string | null, id: string): void => {
  if (expected !== null && db.DbiResourceId !== expected) {
    throw new PreconditionFailedError(
      `Refusing to delete ${id}: it is not the instance this rotation started from (resource id ${db.DbiResourceId ?? 'unknown'}, ` +
        `expected ${expected}). The identifier now names a different database. Nothing was deleted; find out who created it.`,
    );
  }
};

/** True when the protection is off once the call returns. */
const liftDeletionProtection = async (rds: RDSClient, id: string): Promise<boolean> => {
  try {
    const { DBInstance } = await rds.send(
      new ModifyDBInstanceCommand({
        DBInstanceIdentifier: id,
        DeletionProtection: false,
        ApplyImmediately: true,
      }),
    );
    logger.info('deletion protection lifted', { dbInstanceIdentifier: id });
    return DBInstance?.DeletionProtection === false;
  } catch (error) {
    // Busy (or just deleted): the next check sees which.
    if (isAwsError(error, ...RDS_ERRORS.instance.invalidState, ...RDS_ERRORS.instance.notFound)) return false;
    throw error;
  }
};

/** `refused`: RDS cannot delete it in its current status, or its protection is not off yet. */
const deleteInstance = async (rds: RDSClient, id: string): Promise<'gone' | 'deleting' | 'refused'> => {
  try {
    await rds.send(
      new DeleteDBInstanceCommand({
        DBInstanceIdentifier: id,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      }),
    );
    logger.info('deleting the old instance', { dbInstanceIdentifier: id });
    return 'deleting';
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.instance.notFound)) return 'gone';
    // Already being deleted, or busy (modifying, backing up): wait and check again.
    if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) return 'refused';
    // Deletion protection not yet off (or turned on again): the next check lifts it.
    if (isAwsError(error, PROTECTED) && /protect/i.test(error.message)) return 'refused';
    throw error;
  }
};
