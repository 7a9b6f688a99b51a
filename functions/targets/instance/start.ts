import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { StartSourceResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { ensureInstanceStarted } from '#reconcilers/ensure-started.js';
import { logger } from '#runtime/logger.js';

/**
 * Cutover "none": the new instance stands beside the source and clients keep using the source.
 * If Rekey stopped the source to freeze writes, start it again and wait until it is `available`.
 * If Rekey did not stop it, there is nothing to do (a read, no write).
 *
 * `started` says whether Rekey issued the start; it stays true on every poll after that.
 */
export const startInstance = async (state: InstanceState): Promise<StartSourceResult> => {
  const { plan } = state;
  const id = plan.source.dbInstanceIdentifier;
  if (plan.cutover.type !== 'none') {
    // After a CNAME cutover, clients with a cached answer still reach the source: starting it would
    // let them write to a database that is about to be retired.
    throw new PreconditionFailedError(
      `StartSource runs only when cutover is "none", but this rotation's cutover is "${plan.cutover.type}". ` +
        `The source ${id} was left as it is. This is a state machine wiring error: report it with the execution ARN.`,
    );
  }
  const { rds } = getClients();

  if (!plan.decisions.stopSource) {
    const db = await findInstance(rds, id);
    logger.info('source was not stopped by Rekey: nothing to start', { dbInstanceIdentifier: id });
    return { done: true, status: db?.DBInstanceStatus ?? 'unknown', started: false };
  }

  const previous = state.startSource;
  const result = await ensureInstanceStarted(
    rds,
    id,
    previous?.poll,
    'startSource',
    `Starting the source ${id} again (cutover "none": clients still use it)`,
  );
  const started = result.started || previous?.started === true;
  return result.done
    ? { done: true, status: result.status, started }
    : { done: false, status: result.status, started, poll: result.poll };
};
