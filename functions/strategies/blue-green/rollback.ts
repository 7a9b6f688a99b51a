import { DeleteBlueGreenDeploymentCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { describeKeyOrNull } from '#aws/kms-keys.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { decisionsOf } from '#domain/decisions.js';
import { isAwsError } from '#domain/errors.js';
import type { LeftResource } from '#domain/facts.js';
import {
  failureSentence,
  leftInPlaceSentences,
  oldKeySentence,
  undoneSentence,
  whatWentWrong,
} from '#domain/failure.js';
import type { RetireBlueResult, RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { removeArtifacts } from '#reconcilers/cleanup.js';
import { setDeletionProtection } from '#reconcilers/deletion-protection.js';
import { UndoLog } from '#reconcilers/undo-log.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { deploymentOfState, describeResource, membersOf, resourceOfArn } from './deployment.js';

/**
 * The rollback of a Blue/Green rotation (rollback.ts sends it here once the lock was taken).
 *
 * - Before the switchover (CreateGreen, ValidateGreen or Switchover refused), and after
 *   `SWITCHOVER_FAILED` (RDS rolled the switchover back by itself): the blue database never stopped
 *   serving. Delete the deployment with `DeleteTarget` (its green resources go with it), wait until
 *   they are gone, then schedule the unused new key for deletion (minimum window). With
 *   `keepArtifactsOnFailure` nothing is deleted and the cause names what is left.
 * - While `SWITCHOVER_IN_PROGRESS`: wait; RDS completes it or rolls it back within its timeout.
 * - After `SWITCHOVER_COMPLETED`: the green resources serve clients under the new key. Nothing is
 *   deleted; the cause says what is left (the deployment, the old `-old1` resources, the old key).
 *
 * Never touches the blue database or the old key before the switchover completed.
 */
export const rollbackBlueGreen = async (state: RotationState): Promise<RollbackResult> => {
  const { plan } = state;
  const { rds } = getClients();
  const log = new UndoLog(state);
  const waiting = (status: string): RollbackResult =>
    log.waiting(
      nextPoll(state.rollback?.poll, 'startSource', status, 'Rolling back the failed Blue/Green rotation'),
    );

  const deployment = await deploymentOfState(rds, state);
  const status =
    deployment?.Status ??
    (state.switchover?.status === 'SWITCHOVER_COMPLETED' ? 'SWITCHOVER_COMPLETED' : 'GONE');
  if (status === 'SWITCHOVER_IN_PROGRESS') return waiting(status);
  const switchedOver =
    status === 'SWITCHOVER_COMPLETED' || state.switchover?.status === 'SWITCHOVER_COMPLETED';

  if (switchedOver) {
    const left = await afterSwitchoverLeftovers(state, deployment !== null);
    return log.finish(
      left,
      ({ undone, leftBehind }) => afterSwitchoverCause(state, leftBehind, undone),
      'Blue/Green rotation failed after the switchover',
    );
  }

  const keep = decisionsOf(plan).artifactsOnFailure.action === 'keep';
  const greens = [
    ...new Set([
      ...(deployment ? membersOf(deployment) : []).map((m) => m.targetArn),
      ...(state.greenDeployment?.members ?? []).map((m) => m.targetArn),
    ]),
  ].filter((arn) => arn.length > 0);
  const greenIds = greens.map((arn) => resourceOfArn(arn).identifier);

  if (!keep) {
    if (deployment) {
      const id = deployment.BlueGreenDeploymentIdentifier ?? '';
      if (deployment.Status !== 'DELETING') {
        // RDS (and the emulator) refuse DeleteTarget while a green resource has deletion protection,
        // which the green copies from the blue. Lift it first: these resources never served a client.
        const protectedGreen = await liftGreenDeletionProtection(greens, log);
        if (protectedGreen) return waiting(`lifting deletion protection on ${protectedGreen}`);
        try {
          await rds.send(
            new DeleteBlueGreenDeploymentCommand({ BlueGreenDeploymentIdentifier: id, DeleteTarget: true }),
          );
          logger.info('deleting the Blue/Green deployment and its green resources', {
            deploymentId: id,
            greens,
          });
        } catch (error) {
          // Still provisioning (RDS refuses to delete it now), or already gone: look again.
          if (!isAwsError(error, ...RDS_ERRORS.blueGreen.invalidState, ...RDS_ERRORS.blueGreen.notFound))
            throw error;
          return waiting(deployment.Status ?? 'unknown');
        }
      }
      return waiting('deleting the deployment');
    }
    const name = state.greenDeployment?.deploymentName ?? null;
    if (name || greenIds.length > 0) {
      log.note({ kind: 'blue-green-deleted', deploymentName: name, greenIdentifiers: greenIds });
    }
    // DeleteTarget deletes the green resources; wait until each is gone.
    for (const arn of greens) {
      const green = await describeResource(rds, arn);
      if (green) return waiting(`${green.identifier} ${green.status}`);
    }
    const cleanup = await removeArtifacts(state);
    log.note(...cleanup.removed);
    log.keySearch = cleanup.keySearch;
    log.observe(...(cleanup.observed ?? []));
    if (!cleanup.done) return waiting('deleting');
  }

  const left: LeftResource[] = [];
  if (keep) {
    if (deployment) {
      left.push({
        kind: 'blue-green-deployment',
        identifier: deployment.BlueGreenDeploymentIdentifier ?? '',
        afterSwitchover: false,
      });
    }
    for (const arn of greens) {
      if (!(await describeResource(rds, arn))) continue;
      const { kind, identifier } = resourceOfArn(arn);
      left.push({ kind: 'green', resource: kind, identifier });
    }
    if (state.newKey?.keyId) {
      const key = await describeKeyOrNull(getClients().kms, state.newKey.keyId);
      if (key && key.KeyState !== 'PendingDeletion')
        left.push({ kind: 'kms-key', keyArn: state.newKey.keyArn, alias: state.newKey.alias });
    }
  }
  return log.finish(
    left,
    ({ undone, leftBehind }) => {
      const message = whatWentWrong(state);
      const parts = [message];
      if (!message.includes('No switchover was asked'))
        parts.push(
          status === 'SWITCHOVER_FAILED' || state.failure?.Error === 'CutoverFailedError'
            ? `The switchover did not complete; RDS rolled it back, so ${plan.target.identifier} still serves clients under the old key.`
            : `No switchover happened: ${plan.target.identifier} was not changed and still serves clients under the old key.`,
        );
      parts.push(
        undoneSentence(undone),
        ...leftInPlaceSentences(
          leftBehind,
          'kept because the input says keepArtifactsOnFailure',
          'Delete them when done (aws rds delete-blue-green-deployment --delete-target, then schedule the key for deletion).',
        ),
        oldKeySentence(state),
      );
      return parts.join(' ');
    },
    'Blue/Green rotation failed before the switchover',
  );
};

/** Lifts deletion protection on the green resources; returns one still protected (busy), or null. */
const liftGreenDeletionProtection = async (greens: string[], log: UndoLog): Promise<string | null> => {
  const { rds } = getClients();
  for (const arn of greens) {
    const green = await describeResource(rds, arn);
    if (green) log.observe({ resource: green.kind, identifier: green.identifier, kmsKeyArn: green.kmsKeyId });
    if (!green?.deletionProtection) continue;
    if (green.status !== 'available') return green.identifier;
    await setDeletionProtection(rds, green.kind, green.identifier, false);
    logger.info('lifted deletion protection on a green resource', { id: green.identifier });
  }
  return null;
};

/** After the switchover: what still exists, for a person (nothing here is deleted by the rollback). */
const afterSwitchoverLeftovers = async (
  state: RotationState,
  deploymentExists: boolean,
): Promise<LeftResource[]> => {
  const { rds } = getClients();
  const items: LeftResource[] = [];
  if (deploymentExists && state.greenDeployment) {
    items.push({
      kind: 'blue-green-deployment',
      identifier: state.greenDeployment.deploymentId,
      afterSwitchover: true,
    });
  }
  for (const member of state.switchover?.members ?? []) {
    if (!member.sourceArn) continue;
    const blue = await describeResource(rds, member.sourceArn);
    if (blue)
      items.push({ kind: 'old-blue', resource: blue.kind, identifier: blue.identifier, status: blue.status });
  }
  return items;
};

const afterSwitchoverCause = (state: RotationState, leftBehind: string[], undone: string[]): string => {
  const { plan } = state;
  const parts = [failureSentence(state.failure)];
  const greens = (state.switchover?.members ?? [])
    .map((m) => resourceOfArn(m.targetArn).identifier)
    .join(', ');
  parts.push(
    `The switchover had completed: clients use the green resources (${greens || plan.target.identifier}) under the new key` +
      `${state.newKey ? ` ${state.newKey.keyArn}` : ''}, so nothing was rolled back or deleted. Keep them and the new key.`,
  );
  parts.push(
    undoneSentence(undone),
    ...leftInPlaceSentences(
      leftBehind,
      null,
      'Delete them by hand once you no longer need them (README: Rolling back by hand).',
    ),
  );
  const retired = state.retireInstance as RetireBlueResult | undefined;
  if (retired?.deleted?.length) parts.push(`Already deleted: ${retired.deleted.join(', ')}.`);
  parts.push(
    state.oldKey?.state === 'PendingDeletion'
      ? `The old key ${state.oldKey.keyArn} is scheduled for deletion on ${state.oldKey.deletionDate}.`
      : `The old key ${plan.source.kmsKeyArn} was not touched: schedule its deletion once nothing is encrypted under it.`,
  );
  return parts.join(' ');
};
