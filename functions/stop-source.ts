import { StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from './commons/clients.js';
import { isAwsError, PreconditionFailedError } from './commons/errors.js';
import { makeHandler } from './commons/handler.js';
import { logger } from './commons/logger.js';
import { nextPoll } from './commons/polling.js';
import { assertInstanceHealthy, findInstance } from './commons/rds.js';
import type { FreezeResult, RotationState } from './commons/types.js';

/**
 * Freeze writes: stop the source so nothing written after the snapshot is lost. Reconciles
 * towards `stopped`: stops an `available` source, waits through `stopping` (and through any
 * transient status such as `backing-up`), and is done once the source is `stopped`. Preflight saw
 * the source `available`, so a stopped source here was stopped by this rotation (possibly by an
 * earlier attempt whose response was lost), and rollback starts it again.
 */
export const stopSource = async (state: RotationState): Promise<FreezeResult> => {
  const { rds } = getClients();
  const id = state.plan.source.dbInstanceIdentifier;
  const db = await findInstance(rds, id);
  if (!db) {
    throw new PreconditionFailedError(
      `The source DB instance ${id} no longer exists. It was deleted while the rotation ran; nothing else was changed.`,
    );
  }
  assertInstanceHealthy(db, 'source');
  const status = db.DBInstanceStatus ?? 'unknown';
  if (status === 'stopped') {
    logger.info('source is stopped', { dbInstanceIdentifier: id });
    return { done: true, stoppedByRekey: true, status };
  }
  if (status === 'available') {
    try {
      await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: id }));
      logger.info('stopping the source', { dbInstanceIdentifier: id });
    } catch (error) {
      // Another attempt of this step already asked for the stop: keep waiting.
      if (!isAwsError(error, 'InvalidDBInstanceStateFault', 'InvalidDBInstanceState')) throw error;
    }
    return {
      done: false,
      stoppedByRekey: true,
      status: 'stopping',
      poll: nextPoll(state.freeze?.poll, 'stopSource', 'stopping', `Stopping ${id}`),
    };
  }
  return {
    done: false,
    stoppedByRekey: true,
    status,
    poll: nextPoll(state.freeze?.poll, 'stopSource', status, `Stopping ${id}`),
  };
};

export const handler = makeHandler(stopSource);
