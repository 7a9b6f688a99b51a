import {
  AddTagsToResourceCommand,
  type BlueGreenDeployment,
  CreateBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { carriesRotationId, rotationTags } from '#aws/ownership.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, ResourceFailedError } from '#domain/errors.js';
import type { GreenDeploymentResult } from '#domain/results.js';
import { type RotationState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import {
  deploymentNameFor,
  describeResource,
  findDeployment,
  membersOf,
  RESOURCE_NOUN,
  sourceArnOf,
  statusLine,
  TERMINAL_DEPLOYMENT_STATUS,
  targetResourceConfigurations,
} from './deployment.js';

/**
 * Blue/Green, step 1: create the deployment whose green resources are under the new key, and wait
 * until the deployment and every green resource are `available`.
 *
 * Reconciler: it looks for the deployment by its name (`rekey-<db>-<rotation id>`, tagged with the
 * rotation id) and creates it only when missing, so a retry after a lost answer never creates a
 * second one. `INVALID_CONFIGURATION` (or `PROVISIONING_FAILED`) ends the wait as a failure with
 * RDS's own details; the rollback then deletes the deployment and its green resources.
 */
export const createGreen = async (state: RotationState): Promise<GreenDeploymentResult> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const { rds } = getClients();
  const name = deploymentNameFor(plan);

  let created = state.greenDeployment?.created ?? false;
  let deployment = await findDeployment(rds, plan);
  if (!deployment) {
    deployment = await create(state, name, newKey.keyArn);
    created = true;
  }
  // Tag the green resources as soon as they exist: the rollback may delete only tagged ones (IAM).
  await tagGreenResources(state, deployment);
  const id = deployment.BlueGreenDeploymentIdentifier ?? '';
  const status = deployment.Status ?? 'unknown';
  const members = membersOf(deployment);
  const result = (done: boolean, lastStatus: string): GreenDeploymentResult => ({
    done,
    ...(done
      ? {}
      : {
          poll: nextPoll(
            state.greenDeployment?.poll,
            'createGreen',
            lastStatus,
            `Creating the Blue/Green deployment ${name} (${id})`,
          ),
        }),
    deploymentId: id,
    deploymentName: name,
    status,
    created,
    members,
  });

  if (TERMINAL_DEPLOYMENT_STATUS.includes(status) || status === 'DELETING') {
    throw new ResourceFailedError(
      `The Blue/Green deployment ${name} (${id}) of ${plan.target.identifier} is in status ${statusLine(deployment)}, ` +
        'so it cannot be switched over. No client was switched; the rollback deletes the deployment and its green resources. ' +
        'Fix the cause RDS names (see the RDS console, Blue/Green deployments and events), then start a new rotation.',
    );
  }
  if (status !== 'AVAILABLE') return result(false, status);

  // The deployment is AVAILABLE: every member must be too, and every green resource must exist and be available.
  for (const member of members) {
    if (member.status !== 'AVAILABLE' || !member.targetArn) return result(false, `member ${member.status}`);
    const green = await describeResource(rds, member.targetArn);
    if (!green) return result(false, 'green resource not visible yet');
    if (green.terminal) {
      throw new ResourceFailedError(
        `The green ${RESOURCE_NOUN[green.kind]} ${green.identifier} of the Blue/Green deployment ${name} is in status "${green.status}", ` +
          'which RDS does not recover from by itself. No client was switched; the rollback deletes the deployment and its green resources.',
      );
    }
    if (green.status !== 'available') return result(false, `${green.identifier} ${green.status}`);
  }
  logger.info('the green environment is available', { deploymentId: id, members });
  return result(true, status);
};

const create = async (
  state: RotationState,
  name: string,
  newKeyArn: string,
): Promise<BlueGreenDeployment> => {
  const { plan } = state;
  const { rds } = getClients();
  try {
    const { BlueGreenDeployment } = await rds.send(
      new CreateBlueGreenDeploymentCommand({
        BlueGreenDeploymentName: name,
        Source: sourceArnOf(plan),
        TargetResourceConfigurations: targetResourceConfigurations(plan, newKeyArn),
        Tags: rotationTags(plan, 'blue-green-deployment'),
      }),
    );
    logger.info('created the Blue/Green deployment', {
      deploymentId: BlueGreenDeployment?.BlueGreenDeploymentIdentifier,
      name,
    });
    if (!BlueGreenDeployment) throw new Error(`CreateBlueGreenDeployment returned no deployment for ${name}`);
    return BlueGreenDeployment;
  } catch (error) {
    // An earlier attempt created it and lost the answer: adopt it (findDeployment checks the tag).
    if (!isAwsError(error, ...RDS_ERRORS.blueGreen.alreadyExists)) throw error;
    const found = await findDeployment(rds, plan);
    if (!found) throw error;
    return found;
  }
};

/** Everything Rekey creates carries the rotation id: the green resources get it once they exist. */
const tagGreenResources = async (state: RotationState, deployment: BlueGreenDeployment): Promise<void> => {
  const { rds } = getClients();
  for (const member of membersOf(deployment)) {
    if (!member.targetArn) continue;
    const green = await describeResource(rds, member.targetArn);
    if (!green) continue;
    const tags = 'TagList' in green.raw ? green.raw.TagList : undefined;
    if (carriesRotationId(tags, state.plan.rotationId)) continue;
    await rds.send(
      new AddTagsToResourceCommand({ ResourceName: green.arn, Tags: rotationTags(state.plan, 'green') }),
    );
  }
};
