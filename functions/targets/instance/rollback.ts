import type { DBInstance } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { describeKeyOrNull } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance, findSnapshot } from '#aws/rds.js';
import { neverCutOver } from '#domain/approval.js';
import { decisionsOf } from '#domain/decisions.js';
import {
  cutoverAttempted,
  type LeftResource,
  newDatabaseHeldOriginalName,
  type RollbackFact,
} from '#domain/facts.js';
import { leftInPlaceSentences, oldKeySentence, undoneSentence, whatWentWrong } from '#domain/failure.js';
import type { RollbackResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { removeArtifacts } from '#reconcilers/cleanup.js';
import { pointCnameBack } from '#reconcilers/cname.js';
import { setDeletionProtection } from '#reconcilers/deletion-protection.js';
import { ensureInstanceStarted } from '#reconcilers/ensure-started.js';
import { locateSource, reconcileRename } from '#reconcilers/rename.js';
import { nothingChanged, UndoLog } from '#reconcilers/undo-log.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * Runs after any failure. It undoes what is safe to undo given how far the rotation got, and
 * writes the execution's failure cause: what went wrong, what was undone, what is left. It never
 * touches the old key and never deletes anything a client may have written to.
 *
 * - Refused (preflight, or another rotation holds the lock): this execution changed nothing.
 * - Cutover verified: clients already use the new instance; nothing is rolled back.
 * - Cutover submitted but not verified (or the Cutover step failed, which may have moved the record
 *   after its answer was lost): the CNAME is pointed back at the source endpoint if it points at the
 *   new instance. The new instance is kept: clients may have written to it in between.
 * - Whenever the cutover is not verified and writes were frozen: the source is started again and
 *   awaited until `available`, and its deletion protection, if stop-source lifted it, is restored.
 * - Before any cutover: the restored instance and both snapshots are deleted and the unused new
 *   key is scheduled for deletion (7 days), unless the input says `keepArtifactsOnFailure`.
 *
 * It is a reconciling loop like the other steps: it carries `undone` forward between polls.
 */
export const rollbackInstance = async (state: InstanceState): Promise<RollbackResult> => {
  // Absent when preflight itself failed.
  const plan = state.plan as InstanceState['plan'] | undefined;
  if (!plan || state.lock?.acquired !== true) return nothingChanged(state);
  const log = new UndoLog(state);
  const nextCheck = (status: string) =>
    nextPoll(state.rollback?.poll, 'startSource', status, 'Rolling back the failed rotation');

  const cutoverDone = state.cutover?.verified === true;
  if (!cutoverDone && plan.cutover.type === 'rename') {
    const undo = await undoRenames(state, plan.cutover.asideIdentifier);
    log.note(...undo.facts);
    if (!undo.done) return log.waiting(undo.poll);
  }
  // CNAME: the Cutover step records `attempted` before its first change, so a change whose answer
  // was lost counts. Rename: clients could reach the new instance once it had the original
  // identifier. With an approval gate, a rotation whose approval never came did not reach the Cutover.
  const cutoverSubmitted =
    !cutoverDone &&
    !neverCutOver(state) &&
    (plan.cutover.type === 'cname'
      ? cutoverAttempted(state.cutover)
      : plan.cutover.type === 'rename' &&
        ((state.cutover?.type === 'rename' && state.cutover.newRenameRequested) ||
          newDatabaseHeldOriginalName(log.facts)));
  if (cutoverSubmitted && plan.cutover.type === 'cname') {
    const { recordName, previousValue } = plan.cutover;
    const newValue = state.cutover?.newValue ?? state.validation?.endpointAddress;
    const reverted =
      newValue !== undefined &&
      (await pointCnameBack(getClients().route53, {
        record: plan.cutover,
        from: newValue,
        to: previousValue,
        comment: `Rekey ${plan.rotationId}: rollback to the source endpoint`,
      }));
    if (reverted) log.note({ kind: 'record-pointed-back', recordName, value: previousValue });
  }

  if (!cutoverDone && plan.decisions.stopSource) {
    // Aside when its original identifier could not be given back (see undoRenames).
    const id =
      (plan.cutover.type === 'rename' &&
        (await locateSource(getClients().rds, plan))?.DBInstanceIdentifier) ||
      plan.source.dbInstanceIdentifier;
    const started = await ensureInstanceStarted(
      getClients().rds,
      id,
      state.rollback?.poll,
      'startSource',
      `Starting ${id} again after the failure`,
    );
    if (started.started) log.note({ kind: 'source-started', identifier: id });
    if (!started.done) return log.waiting(started.poll);
    if (await restoreDeletionProtection(state, id))
      log.note({ kind: 'deletion-protection-restored', identifier: id });
  }

  const removeArtifactsNow =
    !cutoverDone && !cutoverSubmitted && decisionsOf(plan).artifactsOnFailure.action === 'remove';
  if (removeArtifactsNow) {
    const cleanup = await removeArtifacts(state);
    log.note(...cleanup.removed);
    log.keySearch = cleanup.keySearch;
    log.observe(...(cleanup.observed ?? []));
    if (!cleanup.done) return log.waiting(nextCheck('deleting'));
  }

  // After the cutover, the new instance and its key hold the data clients use: not leftovers.
  const left = removeArtifactsNow ? [] : await artifactsOf(state, { inService: cutoverDone });
  const why = cutoverSubmitted
    ? 'kept because clients may have written to the new instance after the cutover started'
    : cutoverDone
      ? 'the rotation completed its cutover'
      : 'kept because the input says keepArtifactsOnFailure';
  return log.finish(
    left,
    ({ undone, leftBehind }) => describeOutcome(state, undone, leftBehind, why, cutoverDone),
    'rotation failed',
  );
};

interface UndoRenames {
  done: boolean;
  facts: RollbackFact[];
  poll?: RollbackResult['poll'];
}

/**
 * Rename cutover, in reverse order: the new instance gives the original identifier back, then the
 * source returns from the aside name (started first if stopped: RDS cannot rename a stopped
 * instance). Keyed on names, so a re-run after a lost answer picks up where it was.
 */
const undoRenames = async (state: InstanceState, aside: string): Promise<UndoRenames> => {
  const { plan } = state;
  const { rds } = getClients();
  const original = plan.source.dbInstanceIdentifier;
  const newId = plan.names.newDbInstanceIdentifier;
  const facts: RollbackFact[] = [];
  const poll = (status: string) =>
    nextPoll(state.rollback?.poll, 'startSource', status, `Undoing the renames of ${original}`);
  const isOurs = (db: DBInstance) => carriesRotationId(db.TagList, plan.rotationId);

  const atOriginal = await findInstance(rds, original);
  if (atOriginal && isOurs(atOriginal)) {
    const back = await reconcileRename(rds, {
      from: original,
      to: newId,
      expectedAtTarget: isOurs,
      requested: false,
      what: `Giving ${original} back: renaming the new instance to ${newId}`,
    });
    if (back.requested)
      facts.push({ kind: 'renamed-back', resource: 'db-instance', which: 'new', from: original, to: newId });
    return { done: false, facts, poll: poll(back.status) };
  }
  const source = await findInstance(rds, aside);
  if (!source) return { done: true, facts };
  if (atOriginal) {
    // Someone else's instance took the name: never rename onto it. The source stays aside.
    facts.push({ kind: 'source-left-aside', identifier: aside, original });
    return { done: true, facts };
  }
  if (source.DBInstanceStatus === 'stopped' || source.DBInstanceStatus === 'starting') {
    const started = await ensureInstanceStarted(
      rds,
      aside,
      state.rollback?.poll,
      'startSource',
      `Starting ${aside} again to rename it back`,
    );
    if (started.started) facts.push({ kind: 'source-started', identifier: aside });
    return { done: false, facts, poll: started.poll ?? poll(started.status) };
  }
  const home = await reconcileRename(rds, {
    from: aside,
    to: original,
    // Checked just above that nothing holds the original name.
    expectedAtTarget: () => false,
    requested: false,
    what: `Renaming the source ${aside} back to ${original}`,
  });
  if (home.requested)
    facts.push({ kind: 'renamed-back', resource: 'db-instance', which: 'source', from: aside, to: original });
  return { done: false, facts, poll: poll(home.status) };
};

/**
 * Stop-source lifts the source's deletion protection before the stop when the plan deletes the
 * old instance. Derived from the plan, not from the freeze result, so a lifted protection whose
 * response was lost is restored too. True if it turned the protection on.
 */
const restoreDeletionProtection = async (state: InstanceState, id: string): Promise<boolean> => {
  const { plan } = state;
  if (!plan.source.config.deletionProtection || !plan.decisions.deleteOldInstance) return false;
  const { rds } = getClients();
  const db = await findInstance(rds, id);
  if (!db || db.DeletionProtection) return false;
  await setDeletionProtection(rds, 'db-instance', id, true);
  return true;
};

/** What the rotation created that still exists, for a person to inspect or delete (not what is in service). */
const artifactsOf = async (
  state: InstanceState,
  { inService }: { inService: boolean },
): Promise<LeftResource[]> => {
  // Only what still exists: RetireKey, for one, deletes the source snapshot before it schedules the old key.
  const { rds, kms } = getClients();
  const items: LeftResource[] = [];
  if (state.restore && !inService && (await findInstance(rds, state.restore.dbInstanceIdentifier))) {
    items.push({ kind: 'db-instance', identifier: state.restore.dbInstanceIdentifier });
  }
  for (const snapshot of [state.copySnapshot, state.sourceSnapshot]) {
    if (snapshot && (await findSnapshot(rds, snapshot.snapshotIdentifier))) {
      items.push({ kind: 'db-snapshot', identifier: snapshot.snapshotIdentifier });
    }
  }
  if (state.newKey?.keyId && !inService) {
    const key = await describeKeyOrNull(kms, state.newKey.keyId);
    if (key && key.KeyState !== 'PendingDeletion')
      items.push({ kind: 'kms-key', keyArn: state.newKey.keyArn, alias: state.newKey.alias });
  }
  return items;
};

const describeOutcome = (
  state: InstanceState,
  undone: string[],
  leftBehind: string[],
  whyLeft: string,
  cutoverDone: boolean,
): string => {
  const parts = [whatWentWrong(state)];
  if (cutoverDone && state.cutover) {
    parts.push(
      `The cutover had completed: clients use the new instance (${state.cutover.newValue}), so nothing was rolled back.`,
    );
    if (state.newKey) {
      parts.push(
        `Keep the new instance ${state.plan.names.newDbInstanceIdentifier} and its key ${state.newKey.keyArn}: they hold the data clients use now.`,
      );
    }
    const { plan } = state;
    if (plan.decisions.deleteOldInstance && state.retireInstance?.done !== true) {
      const lifted = plan.source.config.deletionProtection ? ' and lifted its deletion protection' : '';
      parts.push(
        `The old instance ${plan.cutover.type === 'rename' ? plan.cutover.asideIdentifier : plan.source.dbInstanceIdentifier} was not deleted: Rekey stopped it to freeze writes${lifted}. ` +
          'RDS starts a stopped instance again by itself after 7 days: delete it by hand once you no longer need it ' +
          '(README: Rolling back by hand).',
      );
    }
  }
  parts.push(undoneSentence(undone), ...leftInPlaceSentences(leftBehind, whyLeft), oldKeySentence(state));
  return parts.join(' ');
};
