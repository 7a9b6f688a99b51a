import { SwitchoverBlueGreenDeploymentCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { CutoverFailedError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { SWITCHOVER_TIMEOUT_SECONDS } from '#domain/limits.js';
import type { SwitchoverResult } from '#domain/results.js';
import { type RotationState, required } from '#domain/state.js';
import { markRetirement } from '#reconcilers/retirement.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { describeDeployment, membersOf, statusLine } from './deployment.js';

/**
 * RDS rolls the switchover back by itself when it takes longer than this (API default 300 s). A
 * switchover usually takes under a minute; writes are blocked while it runs.
 */

/**
 * Blue/Green, step 3: switch clients over to the green environment, once.
 *
 * Guard: ValidateGreen must have passed for this deployment (every green resource under the new key).
 * The deployment's status says whether the switchover was already asked: `AVAILABLE` asks it,
 * `SWITCHOVER_IN_PROGRESS` waits, `SWITCHOVER_COMPLETED` is done (the blue resources are renamed
 * `<id>-old1`, the green ones carry the original names and endpoints), `SWITCHOVER_FAILED` is a
 * `CutoverFailedError`: RDS rolled the switchover back and the blue database still serves.
 */
export const switchover = async (state: RotationState): Promise<SwitchoverResult> => {
  const { plan } = state;
  const green = required(state, 'greenDeployment');
  const validation = state.greenValidation;
  const { rds } = getClients();
  const source = plan.target.identifier;
  const deploymentId = green.deploymentId;

  if (!validation || validation.deploymentId !== deploymentId) {
    throw new PreconditionFailedError(
      `Refusing to switch ${source} over to the Blue/Green deployment ${deploymentId}: its green resources were not validated ` +
        'under the new key. Nothing was switched; clients still use the blue database. This is a wiring error: report it with the execution ARN.',
    );
  }

  let requested = state.switchover?.requested ?? false;
  let deployment = await describeDeployment(rds, deploymentId);
  if (!deployment) {
    throw new CutoverFailedError(
      `The Blue/Green deployment ${green.deploymentName} (${deploymentId}) disappeared before the switchover completed. ` +
        `Check in the RDS console which database serves ${source}, then start a new rotation if the old key is still in use.`,
    );
  }
  let status = deployment.Status ?? 'unknown';
  const members = membersOf(deployment);
  const result = (done: boolean): SwitchoverResult => ({
    done,
    ...(done
      ? { completedAt: state.switchover?.completedAt ?? new Date().toISOString() }
      : {
          poll: nextPoll(
            state.switchover?.poll,
            'switchover',
            status,
            `Switching ${source} over to the green environment (${deploymentId})`,
          ),
        }),
    deploymentId,
    status,
    requested,
    switchoverTimeoutSeconds: SWITCHOVER_TIMEOUT_SECONDS,
    members,
  });

  if (status === 'AVAILABLE') {
    // The green set must still be the one validated: nothing was added or replaced since.
    const validated = new Set(validation.resources.map((r) => r.arn));
    const unvalidated = members.filter((m) => !validated.has(m.targetArn)).map((m) => m.targetArn);
    if (unvalidated.length > 0) {
      throw new PreconditionFailedError(
        `Refusing to switch over: the deployment ${deploymentId} now names green resources that were not validated (${unvalidated.join(', ')}). ` +
          `Nothing was switched; clients still use ${source}. Start a new rotation.`,
      );
    }
    try {
      const answer = await rds.send(
        new SwitchoverBlueGreenDeploymentCommand({
          BlueGreenDeploymentIdentifier: deploymentId,
          SwitchoverTimeout: SWITCHOVER_TIMEOUT_SECONDS,
        }),
      );
      requested = true;
      status = answer.BlueGreenDeployment?.Status ?? 'SWITCHOVER_IN_PROGRESS';
      logger.info('asked RDS to switch over', { deploymentId, status });
    } catch (error) {
      // Another attempt asked first (its answer was lost): the next check sees the progress.
      if (!isAwsError(error, ...RDS_ERRORS.blueGreen.invalidState)) throw error;
      deployment = (await describeDeployment(rds, deploymentId)) ?? deployment;
      status = deployment.Status ?? status;
      if (status === 'AVAILABLE') throw error;
    }
    return result(false);
  }
  if (status === 'SWITCHOVER_IN_PROGRESS') {
    requested = true;
    return result(false);
  }
  if (status === 'SWITCHOVER_COMPLETED') {
    requested = true;
    logger.info('switchover completed', { deploymentId, members });
    // The green resources now serve clients; the blue ones (renamed -old1) are what RetireBlue may
    // delete (reconcilers/retirement.ts), and only when the plan deletes the old database.
    await markRetirement(rds, plan.rotationId, {
      serving: members.map((member) => member.targetArn).filter((arn) => arn.length > 0),
      retired: plan.decisions.deleteOldInstance
        ? members.map((member) => member.sourceArn).filter((arn) => arn.length > 0)
        : [],
    });
    return result(true);
  }
  if (status === 'SWITCHOVER_FAILED') {
    throw new CutoverFailedError(
      `The switchover of the Blue/Green deployment ${green.deploymentName} (${deploymentId}) failed: status ${statusLine(deployment)}. ` +
        `RDS rolled it back by itself: the blue database ${source} still serves clients under the old key. ` +
        'The rollback deletes the deployment and its green resources; look at the RDS events for the cause, then start a new rotation.',
    );
  }
  throw new CutoverFailedError(
    `The Blue/Green deployment ${green.deploymentName} (${deploymentId}) is in status ${statusLine(deployment)}, so it cannot be switched over. ` +
      `No switchover was asked; clients still use ${source}. Start a new rotation once the cause is fixed.`,
  );
};
