import { ModifyDBInstanceCommand } from '@aws-sdk/client-rds';
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { getClients } from './commons/clients.js';
import { makeHandler } from './commons/handler.js';
import { logger } from './commons/logger.js';
import { findInstance } from './commons/rds.js';
import { ensureInstanceStarted } from './commons/start-instance.js';
import type { FailureInfo, RollbackResult, RotationState } from './commons/types.js';

/**
 * Runs after any failure past preflight. It undoes what is safe to undo given how far the
 * rotation got, and writes the execution's failure cause: what went wrong, what was undone,
 * what is left. It never touches the old key, and never deletes data.
 *
 * - Cutover verified: clients already use the new instance; nothing is rolled back.
 * - Cutover submitted but not verified: the CNAME is pointed back at the source endpoint.
 * - Otherwise (and after a CNAME revert): if writes were frozen, the source is started again
 *   and awaited until `available`, so no production database is left stopped, and its deletion
 *   protection, if stop-source lifted it, is turned on again.
 *
 * It is a reconciling loop like the other steps: it carries `undone` forward between polls.
 */
export const rollback = async (state: RotationState): Promise<RollbackResult> => {
  // Absent when preflight itself failed.
  const plan = state.plan as RotationState['plan'] | undefined;
  if (!plan) {
    // Preflight refused: it is read-only, so there is nothing to undo.
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

  const cutoverDone = state.cutover?.verified === true;
  if (!cutoverDone && state.cutover?.changeId && plan.cutover.type === 'cname') {
    const reverted = await pointRecordBack(state);
    if (reverted) note(`pointed ${plan.cutover.recordName} back at ${plan.cutover.previousValue}`);
  }

  if (!cutoverDone && plan.decisions.stopSource) {
    const id = plan.source.dbInstanceIdentifier;
    const started = await ensureInstanceStarted(
      getClients().rds,
      id,
      state.rollback?.poll,
      'startSource',
      `Starting ${id} again after the failure`,
    );
    if (started.started) note(`started ${id} again`);
    if (!started.done) {
      return { done: false, poll: started.poll, undone, leftBehind: [], cause: '' };
    }
    if (await restoreDeletionProtection(state)) note(`turned deletion protection on again for ${id}`);
  }

  const leftBehind = artifactsOf(state);
  const cause = describeOutcome(state.failure, undone, leftBehind, cutoverDone, state);
  logger.error('rotation failed', { failure: state.failure, undone, leftBehind });
  return { done: true, undone, leftBehind, cause };
};

/**
 * Stop-source lifts the source's deletion protection before the stop when the plan deletes the
 * old instance. Derived from the plan, not from the freeze result, so a lifted protection whose
 * response was lost is restored too. True if it turned the protection on.
 */
const restoreDeletionProtection = async (state: RotationState): Promise<boolean> => {
  const { plan } = state;
  if (!plan.source.config.deletionProtection || !plan.decisions.deleteOldInstance) return false;
  const { rds } = getClients();
  const db = await findInstance(rds, plan.source.dbInstanceIdentifier);
  if (!db || db.DeletionProtection) return false;
  await rds.send(
    new ModifyDBInstanceCommand({
      DBInstanceIdentifier: plan.source.dbInstanceIdentifier,
      DeletionProtection: true,
      ApplyImmediately: true,
    }),
  );
  return true;
};

/** UPSERT the record back to the source endpoint if it points at the new one. True if it changed it. */
const pointRecordBack = async (state: RotationState): Promise<boolean> => {
  const { plan } = state;
  if (plan.cutover.type !== 'cname' || !state.cutover) return false;
  const { route53 } = getClients();
  const { hostedZoneId, recordName, ttl, previousValue } = plan.cutover;
  const { ResourceRecordSets } = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      StartRecordName: recordName,
      StartRecordType: 'CNAME',
      MaxItems: 1,
    }),
  );
  const record = ResourceRecordSets?.find((r) => r.Name?.toLowerCase().replace(/\.$/, '') === recordName);
  const current = record?.ResourceRecords?.[0]?.Value?.toLowerCase().replace(/\.$/, '');
  if (current !== state.cutover.newValue.toLowerCase().replace(/\.$/, '')) return false;
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Comment: `Rekey ${plan.rotationId}: rollback to the source endpoint`,
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: recordName,
              Type: 'CNAME',
              TTL: ttl,
              ResourceRecords: [{ Value: previousValue }],
            },
          },
        ],
      },
    }),
  );
  return true;
};

/** What the rotation created that still exists, for a person to inspect or delete. */
const artifactsOf = (state: RotationState): string[] => {
  const items: string[] = [];
  if (state.restore) items.push(`DB instance ${state.restore.dbInstanceIdentifier}`);
  if (state.copySnapshot) items.push(`DB snapshot ${state.copySnapshot.snapshotIdentifier}`);
  if (state.sourceSnapshot) items.push(`DB snapshot ${state.sourceSnapshot.snapshotIdentifier}`);
  if (state.newKey) items.push(`KMS key ${state.newKey.keyArn} (${state.newKey.alias})`);
  return items;
};

/** The message of the original error: Lambda reports it as a JSON document in `Cause`. */
export const messageOf = (failure: FailureInfo | undefined): string => {
  if (!failure) return 'The rotation failed for an unknown reason.';
  try {
    const parsed = JSON.parse(failure.Cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is the message itself.
  }
  return failure.Cause || failure.Error;
};

const describeOutcome = (
  failure: FailureInfo | undefined,
  undone: string[],
  leftBehind: string[],
  cutoverDone: boolean,
  state: RotationState,
): string => {
  const parts = [messageOf(failure).replace(/\.?$/, '.')];
  if (cutoverDone && state.cutover) {
    parts.push(
      `The cutover had completed: clients use the new instance (${state.cutover.newValue}), so nothing was rolled back.`,
    );
  }
  parts.push(undone.length > 0 ? `Undone: ${undone.join('; ')}.` : 'Nothing needed undoing.');
  if (leftBehind.length > 0) {
    parts.push(
      `Left in place for inspection: ${leftBehind.join(', ')}. Delete them when done (README: Rolling back by hand).`,
    );
  }
  parts.push(
    state.oldKey?.state === 'PendingDeletion'
      ? `The old key ${state.oldKey.keyArn} is scheduled for deletion on ${state.oldKey.deletionDate}; cancel with aws kms cancel-key-deletion if needed.`
      : `The old key ${state.plan.source.kmsKeyArn} was not touched.`,
  );
  return parts.join(' ');
};

export const handler = makeHandler(rollback);
