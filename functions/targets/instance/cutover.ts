import type { DBInstance } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { normaliseDns } from '#aws/dns.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { PreconditionFailedError } from '#domain/errors.js';
import {
  type CnameCutoverResult,
  type CutoverResult,
  FIRST_CUTOVER_POLL,
  type RenameCutoverResult,
} from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { NOT_SUBMITTED, reconcileCname } from '#reconcilers/cname.js';
import { reconcileRename } from '#reconcilers/rename.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * Cut over: point the CNAME clients use at the validated new instance, or (rename cutover) give it
 * the source's identifier. The first call changes nothing: it records `attempted: true` (see
 * CutoverAttempt), so a rollback knows from then on that clients may have moved. Then, with the
 * CNAME reconciler (reconcilers/cname.ts): the record must still point at the source endpoint (or
 * already at the new one, after a lost answer), else someone changed it and it is left alone; it
 * is UPSERTed, awaited until INSYNC and read back (`verified`), which is what allows the old
 * instance to be retired.
 */
export const cutoverInstance = async (state: InstanceState): Promise<CutoverResult> =>
  state.plan.cutover.type === 'rename' ? renameCutover(state) : cnameCutover(state);

const cnameCutover = async (state: InstanceState): Promise<CnameCutoverResult> => {
  const { plan } = state;
  if (plan.cutover.type !== 'cname') {
    throw new PreconditionFailedError(
      `Cutover runs only for cutover type "cname", but this rotation's cutover is "${plan.cutover.type}". ` +
        'Nothing was changed in Route 53. This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const validation = state.validation;
  if (!validation) {
    throw new PreconditionFailedError(
      `Cutover needs a validated new instance, but state.validation is missing: ${plan.cutover.recordName} was not changed ` +
        'and still points at the source. This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const cname = plan.cutover;
  const { route53 } = getClients();
  const previousValue = normaliseDns(cname.previousValue);
  const newValue = normaliseDns(validation.endpointAddress);
  const previous = state.cutover?.type === 'cname' ? state.cutover : undefined;
  const what = `Switching ${cname.recordName} to ${newValue}`;
  const result = { type: 'cname', attempted: true, previousValue, newValue } as const;

  if (!state.cutover) {
    // The first call changes nothing: it records that the cutover started (see CutoverAttempt).
    return {
      ...result,
      done: false,
      changeId: null,
      changeStatus: NOT_SUBMITTED,
      verified: false,
      poll: FIRST_CUTOVER_POLL,
    };
  }
  const progress = await reconcileCname(
    route53,
    {
      record: cname,
      from: previousValue,
      to: newValue,
      comment: `Rekey rotation ${plan.rotationId}: point ${cname.recordName} at the new DB instance ${validation.dbInstanceIdentifier}`,
      newWhat: 'instance',
    },
    previous,
  );
  if (progress.verified) {
    logger.info('cutover verified', { recordName: cname.recordName, newValue, changeId: progress.changeId });
    return { ...result, ...progress, done: true };
  }
  const status = progress.changeId === null ? 'PriorRequestNotComplete' : progress.changeStatus;
  return { ...result, ...progress, done: false, poll: nextPoll(previous?.poll, 'cutover', status, what) };
};

/**
 * Rename cutover: the new instance takes the source's identifier, so clients keep their hostname.
 * Two renames, in order, each checked before it is made: the source moves aside (already done
 * before the stop when writes were frozen), then the new instance takes the original identifier.
 * Verified once the new instance answers under the original identifier, `available`, with the
 * original endpoint address. Rollback undoes the renames in reverse order.
 */
const renameCutover = async (state: InstanceState): Promise<RenameCutoverResult> => {
  const { plan } = state;
  const validation = state.validation;
  if (plan.cutover.type !== 'rename' || !validation) {
    throw new PreconditionFailedError(
      'The rename cutover needs a rename plan and a validated new instance. Nothing was renamed. ' +
        'This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const { rds } = getClients();
  const original = plan.source.dbInstanceIdentifier;
  const aside = plan.cutover.asideIdentifier;
  const endpoint = normaliseDns(plan.cutover.endpointAddress);
  const previous = state.cutover?.type === 'rename' ? state.cutover : undefined;
  const result = {
    type: 'rename',
    attempted: true,
    oldIdentifier: aside,
    newIdentifier: original,
    previousValue: endpoint,
    newValue: endpoint,
    sourceMoveRequested: previous?.sourceMoveRequested ?? false,
    newRenameRequested: previous?.newRenameRequested ?? false,
  } as const;
  const waiting = (
    phase: RenameCutoverResult['phase'],
    status: string,
    requested: Partial<RenameCutoverResult>,
  ): RenameCutoverResult => ({
    ...result,
    ...requested,
    phase,
    status,
    done: false,
    verified: false,
    poll: nextPoll(
      previous?.poll,
      'cutover',
      status,
      `Renaming ${validation.dbInstanceIdentifier} to ${original}`,
    ),
  });
  const isOurs = (db: DBInstance) => carriesRotationId(db.TagList, plan.rotationId);
  if (!state.cutover) {
    // The first call changes nothing: it records that the cutover started (see CutoverAttempt).
    return {
      ...result,
      phase: 'moving-source-aside',
      status: 'cutover started',
      done: false,
      verified: false,
      poll: FIRST_CUTOVER_POLL,
    };
  }

  const movedAside = await reconcileRename(rds, {
    from: original,
    to: aside,
    expectedAtTarget: () => true,
    requested: result.sourceMoveRequested,
    what: `Moving the source ${original} aside to ${aside}`,
  });
  if (!movedAside.done) {
    // The original name may already be ours: the new instance got it and the source is settling aside.
    return waiting('moving-source-aside', movedAside.status, { sourceMoveRequested: movedAside.requested });
  }

  const renamed = await reconcileRename(rds, {
    from: validation.dbInstanceIdentifier,
    to: original,
    expectedAtTarget: isOurs,
    requested: result.newRenameRequested,
    what: `Giving the new instance ${validation.dbInstanceIdentifier} the original identifier ${original}`,
  });
  const requested = { sourceMoveRequested: true, newRenameRequested: renamed.requested };
  if (!renamed.done) return waiting('renaming-new-instance', renamed.status, requested);

  const db = await findInstance(rds, original);
  const address = normaliseDns(db?.Endpoint?.Address ?? '');
  if (db?.DBInstanceStatus !== 'available' || address !== endpoint) {
    // RDS publishes the new endpoint within about 10 minutes of a rename.
    return waiting(
      'renaming-new-instance',
      address ? `${db?.DBInstanceStatus} at ${address}` : 'no endpoint yet',
      requested,
    );
  }
  logger.info('rename cutover verified', { dbInstanceIdentifier: original, endpoint, aside });
  return { ...result, ...requested, phase: 'done', status: 'available', done: true, verified: true };
};
