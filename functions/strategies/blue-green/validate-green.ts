import { getClients } from '#aws/clients.js';
import { canonicalKeyArn, isSameKey, type KeyScope } from '#aws/kms-keys.js';
import { ValidationFailedError } from '#domain/errors.js';
import type { GreenResourceCheck, GreenValidationResult } from '#domain/results.js';
import { type RotationState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { blueGreenOf } from '#targets/registry.js';
import { describeDeployment, describeResource, membersOf, resourceOfArn } from './deployment.js';

/**
 * Blue/Green, the gate before the switchover: every green resource the deployment names (its
 * `SwitchoverDetails` TargetMember ARNs) must exist, be `available`, encrypted and under the new key
 * (canonical key ARNs compared), and every blue resource the rotation covers (the instance and each
 * read replica, or the cluster) must have a green counterpart. Read-only; every problem is reported
 * at once. A failure here means no switchover was asked: clients still use the blue database.
 */
export const validateGreen = async (state: RotationState): Promise<GreenValidationResult> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const green = required(state, 'greenDeployment');
  const { rds } = getClients();
  const scope: KeyScope = plan;
  const source = plan.target.identifier;
  const stillServes = `No switchover was asked: clients still use ${source}, which was not changed.`;

  const deployment = await describeDeployment(rds, green.deploymentId);
  if (!deployment) {
    throw new ValidationFailedError(
      `The Blue/Green deployment ${green.deploymentName} (${green.deploymentId}) no longer exists, so there is nothing to switch over to. ` +
        `${stillServes} Start a new rotation.`,
    );
  }
  const problems: string[] = [];
  if (deployment.Status !== 'AVAILABLE') {
    problems.push(`the deployment is "${deployment.Status}", not "AVAILABLE"`);
  }
  const members = membersOf(deployment);
  for (const sourceArn of blueGreenOf(plan).blueArns(plan)) {
    if (!members.some((m) => m.sourceArn === sourceArn && m.targetArn)) {
      problems.push(`${resourceOfArn(sourceArn).identifier} has no green counterpart in the deployment`);
    }
  }

  const resources: GreenResourceCheck[] = [];
  const newKeyArn = canonicalKeyArn(newKey.keyArn, scope);
  for (const member of members) {
    if (!member.targetArn) continue;
    const { kind, identifier } = resourceOfArn(member.targetArn);
    const found = await describeResource(rds, member.targetArn);
    if (!found) {
      problems.push(`the green ${kind} ${identifier} does not exist`);
      continue;
    }
    const kmsKeyArn = found.kmsKeyId ? canonicalKeyArn(found.kmsKeyId, scope) : null;
    resources.push({
      kind,
      identifier,
      arn: found.arn,
      status: found.status,
      kmsKeyArn,
      sourceArn: member.sourceArn,
    });
    if (found.status !== 'available')
      problems.push(`the green ${kind} ${identifier} is "${found.status}", not "available"`);
    const encrypted =
      'StorageEncrypted' in found.raw ? found.raw.StorageEncrypted !== false : Boolean(found.kmsKeyId);
    if (!encrypted) problems.push(`the green ${kind} ${identifier} is not encrypted`);
    if (!isSameKey(found.kmsKeyId, newKeyArn, scope)) {
      const which = kmsKeyArn && isSameKey(kmsKeyArn, plan.source.kmsKeyArn, scope) ? ' (the OLD key)' : '';
      problems.push(
        `the green ${kind} ${identifier} is encrypted with ${kmsKeyArn ?? 'no key'}${which}, not with the new key ${newKeyArn}`,
      );
    }
  }

  if (problems.length > 0) {
    logger.error('the green environment failed validation', { deploymentId: green.deploymentId, problems });
    throw new ValidationFailedError(
      `The green environment of the Blue/Green deployment ${green.deploymentName} (${green.deploymentId}) is not fit to replace ${source}. ` +
        `Problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}. ${stillServes} ` +
        'The rollback deletes the deployment and its green resources. Check that RDS accepted TargetKmsKeyId for every resource ' +
        '(the new key policy must let RDS create grants), then start a new rotation.',
    );
  }
  logger.info('the green environment is valid', { deploymentId: green.deploymentId, resources });
  return { deploymentId: green.deploymentId, resources, checkedAt: new Date().toISOString() };
};
