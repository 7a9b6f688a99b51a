import { type DBInstance, ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { normaliseDns, recordsNamed, targetOf, upsertCname } from '#aws/dns.js';
import { describeKeyOrNull } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance, findSnapshot } from '#aws/rds.js';
import { approvalFailureMessage, neverCutOver } from '#domain/approval.js';
import { messageOf } from '#domain/failure.js';
import type { FailureInfo, RollbackResult } from '#domain/results.js';
import type { InstanceState, RotationState } from '#domain/state.js';
import { removeArtifacts } from '#reconcilers/cleanup.js';
import { locateSource, reconcileRename } from '#reconcilers/rename.js';
import { ensureInstanceStarted } from '#reconcilers/start-instance.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { rollbackBlueGreen } from '#strategies/blue-green/rollback.js';
import { rollbackCluster } from '#targets/cluster/rollback.js';
import { byKind } from '#targets/dispatch.js';

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
const rollbackOfInstance = async (state: InstanceState): Promise<RollbackResult> => {
  // Absent when preflight itself failed.
  const plan = state.plan as InstanceState['plan'] | undefined;
  if (!plan || state.lock?.acquired !== true) {
    return {
      done: true,
      undone: [],
      leftBehind: [],
      cause: `${messageOf(state.failure).replace(/\.?$/, '.')} Nothing was changed in AWS.`,
    };
  }
  const undone = [...(state.rollback?.undone ?? [])];
  const note = (line: string) => {
    if (!undone.includes(line)) undone.push(line);
  };
  const waiting = (poll: RollbackResult['poll']): RollbackResult => ({
    done: false,
    poll,
    undone,
    leftBehind: [],
    cause: '',
  });
  const nextCheck = (status: string) =>
    nextPoll(state.rollback?.poll, 'startSource', status, 'Rolling back the failed rotation');

  const cutoverDone = state.cutover?.verified === true;
  // A validated instance means the Cutover step ran. Without a change id it may still have moved the
  // record: its UPSERT succeeded but the answer was lost, and the retry failed. Treat it as submitted.
  if (!cutoverDone && plan.cutover.type === 'rename') {
    const undo = await undoRenames(state, plan.cutover.asideIdentifier);
    for (const line of undo.lines) note(line);
    if (!undo.done) return waiting(undo.poll);
  }
  // Rename: the same holds once the new instance had the original identifier (clients could reach it).
  // With an approval gate, a validated instance whose approval never came did not reach the Cutover.
  const cutoverSubmitted =
    !cutoverDone &&
    !neverCutOver(state) &&
    (plan.cutover.type === 'cname'
      ? Boolean((state.cutover?.type === 'cname' && state.cutover.changeId) || state.validation)
      : plan.cutover.type === 'rename' &&
        ((state.cutover?.type === 'rename' && state.cutover.newRenameRequested) ||
          undone.some((line) => line.startsWith(RENAMED_NEW_BACK))));
  if (cutoverSubmitted && plan.cutover.type === 'cname') {
    const reverted = await pointRecordBack(state);
    if (reverted) note(`pointed ${plan.cutover.recordName} back at ${plan.cutover.previousValue}`);
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
    if (started.started) note(`started ${id} again`);
    if (!started.done) return waiting(started.poll);
    if (await restoreDeletionProtection(state, id)) note(`turned deletion protection on again for ${id}`);
  }

  const removeArtifactsNow =
    !cutoverDone && !cutoverSubmitted && plan.decisions.artifactsOnFailure.action === 'remove';
  if (removeArtifactsNow) {
    const cleanup = await removeArtifacts(state);
    for (const line of cleanup.removed) note(line);
    if (!cleanup.done) return waiting(nextCheck('deleting'));
  }

  // After the cutover, the new instance and its key hold the data clients use: not leftovers.
  const leftBehind = removeArtifactsNow ? [] : await artifactsOf(state, { inService: cutoverDone });
  const why = cutoverSubmitted
    ? 'kept because clients may have written to the new instance after the cutover started'
    : cutoverDone
      ? 'the rotation completed its cutover'
      : 'kept because the input says keepArtifactsOnFailure';
  const cause = describeOutcome(state.failure, undone, leftBehind, why, cutoverDone, state);
  logger.error('rotation failed', { failure: state.failure, undone, leftBehind });
  return { done: true, undone, leftBehind, cause };
};

const RENAMED_NEW_BACK = 'renamed the new instance back';

interface UndoRenames {
  done: boolean;
  lines: string[];
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
  const lines: string[] = [];
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
    if (back.requested) lines.push(`${RENAMED_NEW_BACK} from ${original} to ${newId}`);
    return { done: false, lines, poll: poll(back.status) };
  }
  const source = await findInstance(rds, aside);
  if (!source) return { done: true, lines };
  if (atOriginal) {
    // Someone else's instance took the name: never rename onto it. The source stays aside.
    lines.push(
      `could not rename the source back: ${original} now names another DB instance, so the source keeps the name ${aside} ` +
        `(rename it back by hand once ${original} is free: aws rds modify-db-instance --db-instance-identifier ${aside} ` +
        `--new-db-instance-identifier ${original} --apply-immediately)`,
    );
    return { done: true, lines };
  }
  if (source.DBInstanceStatus === 'stopped' || source.DBInstanceStatus === 'starting') {
    const started = await ensureInstanceStarted(
      rds,
      aside,
      state.rollback?.poll,
      'startSource',
      `Starting ${aside} again to rename it back`,
    );
    if (started.started) lines.push(`started ${aside} again`);
    return { done: false, lines, poll: started.poll ?? poll(started.status) };
  }
  const home = await reconcileRename(rds, {
    from: aside,
    to: original,
    // Checked just above that nothing holds the original name.
    expectedAtTarget: () => false,
    requested: false,
    what: `Renaming the source ${aside} back to ${original}`,
  });
  if (home.requested) lines.push(`renamed the source ${aside} back to ${original}`);
  return { done: false, lines, poll: poll(home.status) };
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
  await rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: id,
      DeletionProtection: true,
      ApplyImmediately: true,
    }),
  );
  return true;
};

/** UPSERT the record back to the source endpoint if it points at the new one. True if it changed it. */
const pointRecordBack = async (state: InstanceState): Promise<boolean> => {
  const { plan } = state;
  const newValue = state.cutover?.newValue ?? state.validation?.endpointAddress;
  if (plan.cutover.type !== 'cname' || !newValue) return false;
  const { route53 } = getClients();
  const { hostedZoneId, recordName, ttl, previousValue } = plan.cutover;
  const record = (await recordsNamed(route53, hostedZoneId, recordName)).find((r) => r.Type === 'CNAME');
  if (!record || targetOf(record) !== normaliseDns(newValue)) return false;
  await upsertCname(route53, {
    hostedZoneId,
    recordName,
    ttl,
    value: previousValue,
    comment: `Rekey ${plan.rotationId}: rollback to the source endpoint`,
  });
  return true;
};

/** What the rotation created that still exists, for a person to inspect or delete (not what is in service). */
const artifactsOf = async (
  state: InstanceState,
  { inService }: { inService: boolean },
): Promise<string[]> => {
  // Only what still exists: RetireKey, for one, deletes the source snapshot before it schedules the old key.
  const { rds, kms } = getClients();
  const items: string[] = [];
  if (state.restore && !inService && (await findInstance(rds, state.restore.dbInstanceIdentifier))) {
    items.push(`DB instance ${state.restore.dbInstanceIdentifier}`);
  }
  for (const snapshot of [state.copySnapshot, state.sourceSnapshot]) {
    if (snapshot && (await findSnapshot(rds, snapshot.snapshotIdentifier))) {
      items.push(`DB snapshot ${snapshot.snapshotIdentifier}`);
    }
  }
  if (state.newKey && !inService) {
    const key = await describeKeyOrNull(kms, state.newKey.keyId);
    if (key && key.KeyState !== 'PendingDeletion')
      items.push(`KMS key ${state.newKey.keyArn} (${state.newKey.alias})`);
  }
  return items;
};

const describeOutcome = (
  failure: FailureInfo | undefined,
  undone: string[],
  leftBehind: string[],
  whyLeft: string,
  cutoverDone: boolean,
  state: InstanceState,
): string => {
  const parts = [approvalFailureMessage(state) ?? messageOf(failure).replace(/\.?$/, '.')];
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
  parts.push(undone.length > 0 ? `Undone: ${undone.join('; ')}.` : 'Nothing needed undoing.');
  if (leftBehind.length > 0) {
    parts.push(
      `Left in place (${whyLeft}): ${leftBehind.join(', ')}. Delete them when done (README: Rolling back by hand).`,
    );
  }
  parts.push(
    state.oldKey?.state === 'PendingDeletion'
      ? `The old key ${state.oldKey.keyArn} is scheduled for deletion on ${state.oldKey.deletionDate}; cancel with aws kms cancel-key-deletion if needed.`
      : `The old key ${state.plan.source.kmsKeyArn} was not touched.`,
  );
  return parts.join(' ');
};

const rollbackByKind = byKind('Rollback', { instance: rollbackOfInstance, cluster: rollbackCluster });

/** A Blue/Green rotation that took its lock has its own compensation (blue-green-rollback.ts). */
export const rollback = (state: RotationState): Promise<RollbackResult> =>
  state.plan?.strategy?.used === 'blue-green' && state.lock?.acquired === true
    ? rollbackBlueGreen(state)
    : rollbackByKind(state);
