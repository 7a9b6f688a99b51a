import { ModifyDBInstanceCommand, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { assertInstanceHealthy, findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { FreezeResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { frozenSourceIdentifier, reconcileRename } from '#reconcilers/rename.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * Freeze writes: stop the source so nothing written after the snapshot is lost. Reconciles
 * towards `stopped`: stops an `available` source, waits through `stopping` (and through any
 * transient status such as `backing-up`), and is done once the source is `stopped`. Preflight saw
 * the source `available`, so a stopped source here was stopped by this rotation (possibly by an
 * earlier attempt whose response was lost), and rollback starts it again.
 *
 * When the plan deletes the old instance after the cutover and it has deletion protection, the
 * protection is lifted first, while the source still runs: RDS cannot modify a stopped instance,
 * and starting the old database again after the cutover would let clients with a stale DNS answer
 * write to a database that is about to be deleted. Rollback turns the protection on again.
 */
export const stopInstance = async (state: InstanceState): Promise<FreezeResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const previous = state.freeze;
  if (plan.cutover.type === 'rename') {
    const moving = await moveAside(state, plan.cutover.asideIdentifier);
    if (moving) return moving;
  }
  const id = frozenSourceIdentifier(plan);
  const db = await findInstance(rds, id);
  if (!db) {
    throw new PreconditionFailedError(
      `The source DB instance ${id} no longer exists. It was deleted while the rotation ran; nothing else was changed.`,
    );
  }
  assertInstanceHealthy(db, 'source');
  const status = db.DBInstanceStatus ?? 'unknown';
  const lifted = previous?.deletionProtectionLifted ?? false;
  const movedAside = previous?.movedAside;
  // Only a stop under way awaits its event and expects its time (from the call that issued it); a
  // status before it (lifting the deletion protection) is checked on the backoff.
  const waiting = (seen: string, deletionProtectionLifted = lifted, stopIssued = false): FreezeResult => ({
    done: false,
    stoppedByRekey: true,
    deletionProtectionLifted,
    ...(movedAside !== undefined && { movedAside }),
    status: seen,
    poll: nextPoll(
      previous?.poll,
      'stopSource',
      seen,
      `Stopping ${id}`,
      seen === 'stopping'
        ? {
            awaits: awaiting('DB_INSTANCE', id, RDS_EVENTS.instanceStopped),
            expectedSeconds: EXPECTED_SECONDS.stop(),
            started: stopIssued,
          }
        : {},
    ),
  });

  if (status === 'stopped') {
    logger.info('source is stopped', { dbInstanceIdentifier: id });
    return {
      done: true,
      stoppedByRekey: true,
      deletionProtectionLifted: lifted,
      ...(movedAside !== undefined && { movedAside }),
      status,
    };
  }
  if (status !== 'available') return waiting(status);

  if (plan.decisions.deleteOldInstance && db.DeletionProtection) {
    try {
      await rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: id,
          DeletionProtection: false,
          ApplyImmediately: true,
        }),
      );
      logger.info('deletion protection lifted before the stop', { dbInstanceIdentifier: id });
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.instance.invalidState)) throw error;
    }
    return waiting('modifying', true);
  }

  try {
    await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: id }));
    logger.info('stopping the source', { dbInstanceIdentifier: id });
  } catch (error) {
    // Another attempt of this step already asked for the stop: keep waiting.
    if (!isAwsError(error, ...RDS_ERRORS.instance.invalidState)) throw error;
  }
  return waiting('stopping', lifted, true);
};

/**
 * Rename cutover: move the running source aside (RDS cannot rename a stopped instance), lifting
 * its deletion protection in the same call when the plan deletes it. Its hostname disappears at
 * once, so clients stop writing to it. `null` once it is aside and settled.
 */
const moveAside = async (state: InstanceState, aside: string): Promise<FreezeResult | null> => {
  const { plan } = state;
  const previous = state.freeze;
  const original = plan.source.dbInstanceIdentifier;
  const liftProtection = plan.decisions.deleteOldInstance && plan.source.config.deletionProtection;
  const progress = await reconcileRename(getClients().rds, {
    from: original,
    to: aside,
    // The aside name carries this rotation's id and preflight found it free: whatever holds it is the source.
    expectedAtTarget: () => true,
    requested: previous?.movedAside === true,
    ...(liftProtection && { alsoModify: { DeletionProtection: false } }),
    what: `Moving ${original} aside to ${aside} before the stop (rename cutover)`,
  });
  const lifted = previous?.deletionProtectionLifted === true || (liftProtection && progress.requested);
  if (progress.done) {
    logger.info('source moved aside', { from: original, to: aside });
    return null;
  }
  return {
    done: false,
    stoppedByRekey: true,
    deletionProtectionLifted: lifted,
    movedAside: progress.requested,
    status: progress.status,
    poll: nextPoll(previous?.poll, 'stopSource', progress.status, `Moving ${original} aside to ${aside}`),
  };
};
