import {
  type DBCluster,
  DeleteDBClusterCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { describeKeyOrNull } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { neverCutOver } from '#domain/approval.js';
import { decisionsOf } from '#domain/decisions.js';
import { isAwsError } from '#domain/errors.js';
import {
  cutoverAttempted,
  type LeftResource,
  newDatabaseHeldOriginalName,
  type ObservedKey,
  type RollbackFact,
} from '#domain/facts.js';
import { leftInPlaceSentences, oldKeySentence, undoneSentence, whatWentWrong } from '#domain/failure.js';
import { COPY_NOT_NEEDED, type RollbackResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { type CleanupStep, removeArtifacts } from '#reconcilers/cleanup.js';
import { pointCnameBack } from '#reconcilers/cname.js';
import { setDeletionProtection } from '#reconcilers/deletion-protection.js';
import { nothingChanged, UndoLog } from '#reconcilers/undo-log.js';
import { nextPoll } from '#runtime/polling.js';
import { carriesOurTag } from './checks.js';
import { clusterNames, findCluster, findClusterSnapshot, locateSource } from './lookups.js';
import { reconcileClusterRename } from './rename.js';
import { ensureClusterStarted } from './start.js';

/**
 * Rollback of a failed cluster rotation, with the instance rollback's rules:
 * - refused (preflight, lock): nothing was changed;
 * - cutover verified: nothing is rolled back;
 * - cname cutover attempted but not verified: the records are pointed back at the source endpoints;
 *   the new cluster is kept (clients may have written to it);
 * - rename cutover: undone in reverse order: the new cluster leaves the original identifier (if it
 *   took it; it is then kept, like an attempted cname cutover), then the source, started first if
 *   stopped (RDS cannot modify a stopped cluster), takes its original identifier back;
 * - the source is started again if Rekey stopped it, and its deletion protection restored;
 * - before any cutover: the new members, the new cluster and the source cluster snapshot (each only
 *   with this rotation's tag; there is no copy) are deleted and the unused new key scheduled for
 *   deletion, unless `keepArtifactsOnFailure`.
 * A reconciling loop: the typed facts of what was undone are carried between polls.
 */
export const rollbackCluster = async (state: ClusterState): Promise<RollbackResult> => {
  const plan = state.plan as ClusterState['plan'] | undefined;
  if (!plan || state.lock?.acquired !== true) return nothingChanged(state);
  const { rds } = getClients();
  const names = clusterNames(plan);
  const log = new UndoLog(state);
  const waiting = (status: string): RollbackResult =>
    log.waiting(
      nextPoll(state.rollback?.poll, 'startSource', status, 'Rolling back the failed cluster rotation'),
    );

  const cutoverDone = state.cutover?.verified === true;
  const original = plan.source.dbClusterIdentifier;
  let cutoverSubmitted = false;
  if (!cutoverDone && plan.cutover.type === 'cname') {
    // With an approval gate, a validated cluster whose approval never came did not reach the Cutover.
    cutoverSubmitted = !neverCutOver(state) && cutoverAttempted(state.cutover);
    if (cutoverSubmitted) log.note(...(await pointRecordsBack(state)));
  }

  if (!cutoverDone && plan.cutover.type === 'rename') {
    const ours = (cluster: DBCluster) => carriesOurTag(cluster, plan);
    // 1. The new cluster leaves the original identifier, if it took it.
    const atOriginal = await findCluster(rds, original);
    if (atOriginal && ours(atOriginal)) {
      cutoverSubmitted = true;
      const back = await reconcileClusterRename(rds, {
        from: original,
        to: names.newDbClusterIdentifier,
        expectedAtTarget: ours,
        requested: false,
        what: `Giving ${original} back: renaming the new cluster to ${names.newDbClusterIdentifier}`,
      });
      if (back.requested) {
        log.note({
          kind: 'renamed-back',
          resource: 'db-cluster',
          which: 'new',
          from: original,
          to: names.newDbClusterIdentifier,
        });
      }
      return waiting(back.requested ? 'renaming' : back.status);
    }
    // It held the name if the cutover says so, or if an earlier poll of this rollback took it back.
    if (state.cutover?.renamed?.newToOriginal || newDatabaseHeldOriginalName(log.facts))
      cutoverSubmitted = true;
    // 2. The source takes its identifier back: started first, since a stopped cluster cannot be modified.
    const aside = plan.cutover.asideIdentifier;
    const source = await findCluster(rds, aside);
    if (source && !ours(source) && !atOriginal) {
      if (source.Status === 'stopped' || source.Status === 'starting') {
        const started = await ensureClusterStarted(
          rds,
          plan,
          state.rollback?.poll,
          `Starting ${aside} again after the failure`,
        );
        if (started.started) log.note({ kind: 'source-started', identifier: aside });
        if (!started.done) return waiting(started.status);
      }
      const home = await reconcileClusterRename(rds, {
        from: aside,
        to: original,
        // Checked just above that nothing holds the original name.
        expectedAtTarget: () => false,
        requested: false,
        what: `Renaming the source ${aside} back to ${original}`,
      });
      if (home.requested) {
        log.note({
          kind: 'renamed-back',
          resource: 'db-cluster',
          which: 'source',
          from: aside,
          to: original,
        });
      }
      return waiting(home.requested ? 'renaming' : home.status);
    }
  }

  if (!cutoverDone && plan.decisions.stopSource) {
    const started = await ensureClusterStarted(
      rds,
      plan,
      state.rollback?.poll,
      `Starting ${original} again after the failure`,
    );
    if (started.started) log.note({ kind: 'source-started', identifier: started.identifier });
    if (!started.done) return waiting(started.status);
    if (plan.source.config.deletionProtection && plan.decisions.deleteOldInstance) {
      const located = await locateSource(rds, plan);
      if (located && !located.cluster.DeletionProtection) {
        await setDeletionProtection(rds, 'db-cluster', located.identifier, true);
        log.note({ kind: 'deletion-protection-restored', identifier: located.identifier });
      }
    }
  }

  const removeNow =
    !cutoverDone && !cutoverSubmitted && decisionsOf(plan).artifactsOnFailure.action === 'remove';
  if (removeNow) {
    const step = await removeClusterArtifacts(state);
    log.note(...step.removed);
    log.keySearch = step.keySearch;
    log.observe(...(step.observed ?? []));
    if (!step.done) return waiting('deleting');
  }

  const left = removeNow ? [] : await artifactsOf(state, cutoverDone);
  const why = cutoverSubmitted
    ? 'kept because clients may have written to the new cluster after the cutover started'
    : cutoverDone
      ? 'the rotation completed its cutover'
      : 'kept because the input says keepArtifactsOnFailure';
  return log.finish(
    left,
    ({ undone, leftBehind }) => {
      const parts = [whatWentWrong(state)];
      if (cutoverDone && state.cutover) {
        parts.push(
          `The cutover had completed: clients use the new cluster (${state.cutover.newValue}), so nothing was rolled back.` +
            (state.newKey
              ? ` Keep the new cluster ${names.newDbClusterIdentifier} and its key ${state.newKey.keyArn}: they hold the data clients use now.`
              : ''),
        );
      }
      parts.push(undoneSentence(undone), ...leftInPlaceSentences(leftBehind, why), oldKeySentence(state));
      return parts.join(' ');
    },
    'cluster rotation failed',
  );
};

/** UPSERT each record back to the source endpoint if it points at the new one. */
const pointRecordsBack = async (state: ClusterState): Promise<RollbackFact[]> => {
  const { plan } = state;
  if (plan.cutover.type !== 'cname') return [];
  const { route53 } = getClients();
  const records = [
    { ...plan.cutover, newValue: state.cutover?.newValue ?? state.validation?.endpointAddress },
    ...('reader' in plan.cutover && plan.cutover.reader
      ? [
          {
            ...plan.cutover.reader,
            ttl: plan.cutover.ttl,
            newValue: state.cutover?.reader?.newValue ?? state.validation?.readerEndpointAddress ?? undefined,
          },
        ]
      : []),
  ];
  const facts: RollbackFact[] = [];
  for (const record of records) {
    if (!record.newValue) continue;
    const reverted = await pointCnameBack(route53, {
      record,
      from: record.newValue,
      to: record.previousValue,
      comment: `Rekey ${plan.rotationId}: rollback to the source endpoint`,
    });
    if (reverted)
      facts.push({ kind: 'record-pointed-back', recordName: record.recordName, value: record.previousValue });
  }
  return facts;
};

/**
 * The cluster snapshots this rotation may have created, each with the result of the step that
 * created it: the source snapshot, and only in a plan made before Aurora rotations stopped copying
 * (an execution that ran across that deploy), the copy it may have made.
 */
const clusterSnapshotsOf = (state: ClusterState): [string, unknown][] => {
  const { names } = state.plan;
  const legacyCopy = names.copySnapshotIdentifier;
  return [
    ...(legacyCopy && state.copySnapshot?.status !== COPY_NOT_NEEDED
      ? [[legacyCopy, state.copySnapshot] as [string, unknown]]
      : []),
    [names.sourceSnapshotIdentifier, state.sourceSnapshot],
  ];
};

/** Deletes the new members, then the new cluster, then the cluster snapshot(s), then schedules the new key. */
const removeClusterArtifacts = async (state: ClusterState): Promise<CleanupStep> => {
  const { plan } = state;
  const { rds } = getClients();
  const names = clusterNames(plan);
  const removed: RollbackFact[] = [];
  let membersLeft = false;
  const observed: ObservedKey[] = [];
  for (const memberId of Object.values(names.newMemberIdentifiers)) {
    const db = await findInstance(rds, memberId);
    if (!db) {
      if (
        state.restore?.members?.some(
          (m) => m.dbInstanceIdentifier === memberId && m.status !== 'waiting-for-writer',
        )
      )
        removed.push({ kind: 'deleted', resource: 'db-instance', identifier: memberId });
      continue;
    }
    if (!carriesRotationId(db.TagList, plan.rotationId)) continue;
    observed.push({ resource: 'db-instance', identifier: memberId, kmsKeyArn: db.KmsKeyId ?? null });
    membersLeft = true;
    if (db.DBInstanceStatus === 'deleting') continue;
    try {
      await rds.send(
        new DeleteDBInstanceCommand({ DBInstanceIdentifier: memberId, SkipFinalSnapshot: true }),
      );
      removed.push({ kind: 'deleted', resource: 'db-instance', identifier: memberId });
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.instance.invalidState, ...RDS_ERRORS.instance.notFound))
        throw error;
    }
  }
  if (membersLeft) return { done: false, removed, observed };

  const newClusterDeleted: RollbackFact = {
    kind: 'deleted',
    resource: 'db-cluster',
    identifier: names.newDbClusterIdentifier,
  };
  const cluster = await findCluster(rds, names.newDbClusterIdentifier);
  if (cluster && carriesOurTag(cluster, plan)) {
    observed.push({
      resource: 'db-cluster',
      identifier: names.newDbClusterIdentifier,
      kmsKeyArn: cluster.KmsKeyId ?? null,
    });
    if (cluster.Status === 'deleting') return { done: false, removed, observed };
    try {
      if (cluster.DeletionProtection) {
        await setDeletionProtection(rds, 'db-cluster', names.newDbClusterIdentifier, false);
      } else {
        await rds.send(
          new DeleteDBClusterCommand({
            DBClusterIdentifier: names.newDbClusterIdentifier,
            SkipFinalSnapshot: true,
          }),
        );
        removed.push(newClusterDeleted);
      }
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.cluster.invalidState, ...RDS_ERRORS.cluster.notFound)) throw error;
    }
    return { done: false, removed, observed };
  }
  if (!cluster && state.restore) removed.push(newClusterDeleted);

  for (const [snapshotId, createdBy] of clusterSnapshotsOf(state)) {
    const snapshot = await findClusterSnapshot(rds, snapshotId);
    const deleted: RollbackFact = {
      kind: 'deleted',
      resource: 'db-cluster-snapshot',
      identifier: snapshotId,
    };
    if (!snapshot && createdBy) removed.push(deleted);
    if (!snapshot || !carriesRotationId(snapshot.TagList, plan.rotationId)) continue;
    try {
      await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotId }));
      removed.push(deleted);
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.notFound)) continue;
      if (isAwsError(error, ...RDS_ERRORS.clusterSnapshot.invalidState)) return { done: false, removed };
      throw error;
    }
  }

  // The shared cleanup schedules the unused new key; the instance fields are left out so that it
  // looks for (and reports) no DB instance or DB snapshot, which a cluster rotation never creates.
  const key = await removeArtifacts({
    ...state,
    restore: undefined,
    copySnapshot: undefined,
    sourceSnapshot: undefined,
  });
  removed.push(...key.removed);
  return { done: key.done, removed, observed, ...(key.keySearch && { keySearch: key.keySearch }) };
};

const artifactsOf = async (state: ClusterState, inService: boolean): Promise<LeftResource[]> => {
  const { rds, kms } = getClients();
  const names = clusterNames(state.plan);
  const items: LeftResource[] = [];
  if (!inService) {
    const cluster =
      (await findCluster(rds, names.newDbClusterIdentifier)) ??
      (await findCluster(rds, state.plan.source.dbClusterIdentifier));
    if (cluster && carriesOurTag(cluster, state.plan))
      items.push({
        kind: 'db-cluster',
        identifier: cluster.DBClusterIdentifier ?? names.newDbClusterIdentifier,
      });
    for (const memberId of Object.values(names.newMemberIdentifiers)) {
      if (await findInstance(rds, memberId)) items.push({ kind: 'db-instance', identifier: memberId });
    }
  }
  for (const [snapshotId] of clusterSnapshotsOf(state)) {
    if (await findClusterSnapshot(rds, snapshotId))
      items.push({ kind: 'db-cluster-snapshot', identifier: snapshotId });
  }
  if (state.newKey && !inService) {
    const key = await describeKeyOrNull(kms, state.newKey.keyId);
    if (key && key.KeyState !== 'PendingDeletion')
      items.push({ kind: 'kms-key', keyArn: state.newKey.keyArn, alias: state.newKey.alias });
  }
  return items;
};
