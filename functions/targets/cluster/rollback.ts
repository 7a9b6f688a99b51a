import {
  DeleteDBClusterCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
  ModifyDBClusterCommand,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { normaliseDns, recordsNamed, targetOf, upsertCname } from '#aws/dns.js';
import { describeKeyOrNull } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { approvalFailureMessage, neverCutOver } from '#domain/approval.js';
import { isAwsError } from '#domain/errors.js';
import { messageOf } from '#domain/failure.js';
import type { RollbackResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { removeArtifacts } from '#reconcilers/cleanup.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import {
  CLUSTER_NOT_FOUND,
  CLUSTER_NOT_NOW,
  CLUSTER_SNAPSHOT_NOT_FOUND,
  carriesOurTag,
  clusterNames,
  findCluster,
  findClusterSnapshot,
  INSTANCE_NOT_FOUND,
  INSTANCE_NOT_NOW,
  locateSource,
} from './common.js';
import { ensureClusterStarted } from './start.js';

/**
 * Rollback of a failed cluster rotation, with the instance rollback's rules:
 * - refused (preflight, lock): nothing was changed;
 * - cutover verified: nothing is rolled back;
 * - cname cutover submitted but not verified: the records are pointed back at the source endpoints;
 *   the new cluster is kept (clients may have written to it);
 * - rename cutover: undone in reverse order: the new cluster leaves the original identifier (if it
 *   took it; it is then kept, like a submitted cname cutover), then the source, started first if
 *   stopped (RDS cannot modify a stopped cluster), takes its original identifier back;
 * - the source is started again if Rekey stopped it, and its deletion protection restored;
 * - before any cutover: the new members, the new cluster and both cluster snapshots (each only with
 *   this rotation's tag) are deleted and the unused new key scheduled for deletion, unless
 *   `keepArtifactsOnFailure`.
 * A reconciling loop: `undone` is carried between polls.
 */
export const rollbackCluster = async (state: ClusterState): Promise<RollbackResult> => {
  const plan = state.plan as ClusterState['plan'] | undefined;
  if (!plan || state.lock?.acquired !== true) {
    return {
      done: true,
      undone: [],
      leftBehind: [],
      cause: `${messageOf(state.failure).replace(/\.?$/, '.')} Nothing was changed in AWS.`,
    };
  }
  const { rds } = getClients();
  const names = clusterNames(plan);
  const undone = [...(state.rollback?.undone ?? [])];
  const note = (line: string) => {
    if (!undone.includes(line)) undone.push(line);
  };
  const waiting = (status: string): RollbackResult => ({
    done: false,
    poll: nextPoll(state.rollback?.poll, 'startSource', status, 'Rolling back the failed cluster rotation'),
    undone,
    leftBehind: [],
    cause: '',
  });

  const cutoverDone = state.cutover?.verified === true;
  const original = plan.source.dbClusterIdentifier;
  let cutoverSubmitted = false;
  if (!cutoverDone && plan.cutover.type === 'cname') {
    // With an approval gate, a validated cluster whose approval never came did not reach the Cutover.
    cutoverSubmitted = !neverCutOver(state) && Boolean(state.cutover?.changeId || state.validation);
    if (cutoverSubmitted) for (const line of await pointRecordsBack(state)) note(line);
  }

  if (!cutoverDone && plan.cutover.type === 'rename') {
    // 1. The new cluster leaves the original identifier, if it took it.
    const atOriginal = await findCluster(rds, original);
    if (atOriginal && carriesOurTag(atOriginal, plan)) {
      cutoverSubmitted = true;
      if (atOriginal.Status !== 'available') return waiting(atOriginal.Status ?? 'unknown');
      await rename(original, names.newDbClusterIdentifier);
      note(`renamed the new cluster back from ${original} to ${names.newDbClusterIdentifier}`);
      return waiting('renaming');
    }
    // It held the name if the cutover says so, or if an earlier poll of this rollback took it back.
    if (
      state.cutover?.renamed?.newToOriginal ||
      undone.some((line) => line.startsWith('renamed the new cluster back from'))
    )
      cutoverSubmitted = true;
    // 2. The source takes its identifier back: started first, since a stopped cluster cannot be modified.
    const aside = plan.cutover.asideIdentifier;
    const source = await findCluster(rds, aside);
    if (source && !carriesOurTag(source, plan) && !atOriginal) {
      if (source.Status === 'stopped' || source.Status === 'starting') {
        const started = await ensureClusterStarted(
          rds,
          plan,
          state.rollback?.poll,
          `Starting ${aside} again after the failure`,
        );
        if (started.started) note(`started ${aside} again`);
        if (!started.done) return waiting(started.status);
      }
      if (source.Status !== 'available' && source.Status !== 'stopped')
        return waiting(source.Status ?? 'unknown');
      await rename(aside, original);
      note(`renamed the source back from ${aside} to ${original}`);
      return waiting('renaming');
    }
  }

  if (!cutoverDone && plan.decisions.stopSource) {
    const started = await ensureClusterStarted(
      rds,
      plan,
      state.rollback?.poll,
      `Starting ${original} again after the failure`,
    );
    if (started.started) note(`started ${started.identifier} again`);
    if (!started.done) return waiting(started.status);
    if (plan.source.config.deletionProtection && plan.decisions.deleteOldInstance) {
      const located = await locateSource(rds, plan);
      if (located && !located.cluster.DeletionProtection) {
        await rds.send(
          new ModifyDBClusterCommand({
            DBClusterIdentifier: located.identifier,
            DeletionProtection: true,
            ApplyImmediately: true,
          }),
        );
        note(`turned deletion protection on again for ${located.identifier}`);
      }
    }
  }

  const removeNow =
    !cutoverDone && !cutoverSubmitted && plan.decisions.artifactsOnFailure.action === 'remove';
  if (removeNow) {
    const step = await removeClusterArtifacts(state);
    for (const line of step.removed) note(line);
    if (!step.done) return waiting('deleting');
  }

  const leftBehind = removeNow ? [] : await artifactsOf(state, cutoverDone);
  const why = cutoverSubmitted
    ? 'kept because clients may have written to the new cluster after the cutover started'
    : cutoverDone
      ? 'the rotation completed its cutover'
      : 'kept because the input says keepArtifactsOnFailure';
  const parts = [approvalFailureMessage(state) ?? messageOf(state.failure).replace(/\.?$/, '.')];
  if (cutoverDone && state.cutover) {
    parts.push(
      `The cutover had completed: clients use the new cluster (${state.cutover.newValue}), so nothing was rolled back.` +
        (state.newKey
          ? ` Keep the new cluster ${names.newDbClusterIdentifier} and its key ${state.newKey.keyArn}: they hold the data clients use now.`
          : ''),
    );
  }
  parts.push(undone.length > 0 ? `Undone: ${undone.join('; ')}.` : 'Nothing needed undoing.');
  if (leftBehind.length > 0) {
    parts.push(
      `Left in place (${why}): ${leftBehind.join(', ')}. Delete them when done (README: Rolling back by hand).`,
    );
  }
  parts.push(
    state.oldKey?.state === 'PendingDeletion'
      ? `The old key ${state.oldKey.keyArn} is scheduled for deletion on ${state.oldKey.deletionDate}; cancel with aws kms cancel-key-deletion if needed.`
      : `The old key ${plan.source.kmsKeyArn} was not touched.`,
  );
  logger.error('cluster rotation failed', { failure: state.failure, undone, leftBehind });
  return { done: true, undone, leftBehind, cause: parts.join(' ') };
};

const rename = async (from: string, to: string): Promise<void> => {
  try {
    await getClients().rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: from,
        NewDBClusterIdentifier: to,
        ApplyImmediately: true,
      }),
    );
  } catch (error) {
    if (!isAwsError(error, ...CLUSTER_NOT_NOW)) throw error;
  }
};

/** UPSERT each record back to the source endpoint if it points at the new one. */
const pointRecordsBack = async (state: ClusterState): Promise<string[]> => {
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
  const lines: string[] = [];
  for (const record of records) {
    if (!record.newValue) continue;
    const found = (await recordsNamed(route53, record.hostedZoneId, record.recordName)).find(
      (r) => r.Type === 'CNAME',
    );
    if (!found || targetOf(found) !== normaliseDns(record.newValue)) continue;
    await upsertCname(route53, {
      hostedZoneId: record.hostedZoneId,
      recordName: record.recordName,
      ttl: record.ttl,
      value: record.previousValue,
      comment: `Rekey ${plan.rotationId}: rollback to the source endpoint`,
    });
    lines.push(`pointed ${record.recordName} back at ${record.previousValue}`);
  }
  return lines;
};

/** Deletes the new members, then the new cluster, then both cluster snapshots, then schedules the new key. */
const removeClusterArtifacts = async (state: ClusterState): Promise<{ done: boolean; removed: string[] }> => {
  const { plan } = state;
  const { rds } = getClients();
  const names = clusterNames(plan);
  const removed: string[] = [];
  let membersLeft = false;
  for (const memberId of Object.values(names.newMemberIdentifiers)) {
    const db = await findInstance(rds, memberId);
    if (!db) {
      if (
        state.restore?.members?.some(
          (m) => m.dbInstanceIdentifier === memberId && m.status !== 'waiting-for-writer',
        )
      )
        removed.push(`deleted the new DB instance ${memberId}`);
      continue;
    }
    if (!carriesRotationId(db.TagList, plan.rotationId)) continue;
    membersLeft = true;
    if (db.DBInstanceStatus === 'deleting') continue;
    try {
      await rds.send(
        new DeleteDBInstanceCommand({ DBInstanceIdentifier: memberId, SkipFinalSnapshot: true }),
      );
      removed.push(`deleted the new DB instance ${memberId}`);
    } catch (error) {
      if (!isAwsError(error, ...INSTANCE_NOT_NOW, ...INSTANCE_NOT_FOUND)) throw error;
    }
  }
  if (membersLeft) return { done: false, removed };

  const cluster = await findCluster(rds, names.newDbClusterIdentifier);
  if (cluster && carriesOurTag(cluster, plan)) {
    if (cluster.Status === 'deleting') return { done: false, removed };
    try {
      if (cluster.DeletionProtection) {
        await rds.send(
          new ModifyDBClusterCommand({
            DBClusterIdentifier: names.newDbClusterIdentifier,
            DeletionProtection: false,
            ApplyImmediately: true,
          }),
        );
      } else {
        await rds.send(
          new DeleteDBClusterCommand({
            DBClusterIdentifier: names.newDbClusterIdentifier,
            SkipFinalSnapshot: true,
          }),
        );
        removed.push(`deleted the new DB cluster ${names.newDbClusterIdentifier}`);
      }
    } catch (error) {
      if (!isAwsError(error, ...CLUSTER_NOT_NOW, ...CLUSTER_NOT_FOUND)) throw error;
    }
    return { done: false, removed };
  }
  if (!cluster && state.restore) removed.push(`deleted the new DB cluster ${names.newDbClusterIdentifier}`);

  for (const [snapshotId, createdBy] of [
    [plan.names.copySnapshotIdentifier, state.copySnapshot],
    [plan.names.sourceSnapshotIdentifier, state.sourceSnapshot],
  ] as const) {
    const snapshot = await findClusterSnapshot(rds, snapshotId);
    if (!snapshot && createdBy) removed.push(`deleted the DB cluster snapshot ${snapshotId}`);
    if (!snapshot || !carriesRotationId(snapshot.TagList, plan.rotationId)) continue;
    try {
      await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: snapshotId }));
      removed.push(`deleted the DB cluster snapshot ${snapshotId}`);
    } catch (error) {
      if (isAwsError(error, ...CLUSTER_SNAPSHOT_NOT_FOUND)) continue;
      if (isAwsError(error, 'InvalidDBClusterSnapshotStateFault', 'InvalidDBClusterSnapshotState'))
        return { done: false, removed };
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
  return { done: key.done, removed };
};

const artifactsOf = async (state: ClusterState, inService: boolean): Promise<string[]> => {
  const { rds, kms } = getClients();
  const names = clusterNames(state.plan);
  const items: string[] = [];
  if (!inService) {
    const cluster =
      (await findCluster(rds, names.newDbClusterIdentifier)) ??
      (await findCluster(rds, state.plan.source.dbClusterIdentifier));
    if (cluster && carriesOurTag(cluster, state.plan))
      items.push(`DB cluster ${cluster.DBClusterIdentifier}`);
    for (const memberId of Object.values(names.newMemberIdentifiers)) {
      if (await findInstance(rds, memberId)) items.push(`DB instance ${memberId}`);
    }
  }
  for (const snapshotId of [
    state.plan.names.copySnapshotIdentifier,
    state.plan.names.sourceSnapshotIdentifier,
  ]) {
    if (await findClusterSnapshot(rds, snapshotId)) items.push(`DB cluster snapshot ${snapshotId}`);
  }
  if (state.newKey && !inService) {
    const key = await describeKeyOrNull(kms, state.newKey.keyId);
    if (key && key.KeyState !== 'PendingDeletion')
      items.push(`KMS key ${state.newKey.keyArn} (${state.newKey.alias})`);
  }
  return items;
};
