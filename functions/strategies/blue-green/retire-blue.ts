import {
  DeleteBlueGreenDeploymentCommand,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { isSameKey } from '#aws/kms-keys.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RetireBlueResult } from '#domain/results.js';
import { type RotationState, required } from '#domain/state.js';
import { isRetiredBy, notMarkedRetired } from '#reconcilers/retirement.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { blueGreenOf } from '#targets/registry.js';
import {
  type DescribedResource,
  describeDeployment,
  describeResource,
  type ResourceType,
} from './deployment.js';

const NOT_NOW = [
  ...RDS_ERRORS.instance.invalidState,
  ...RDS_ERRORS.cluster.invalidState,
  ...RDS_ERRORS.blueGreen.invalidState,
];
const GONE = [
  ...RDS_ERRORS.instance.notFound,
  ...RDS_ERRORS.cluster.notFound,
  ...RDS_ERRORS.blueGreen.notFound,
];

/**
 * Blue/Green, step 4, after `SWITCHOVER_COMPLETED`: delete the deployment (without `DeleteTarget`:
 * the green resources are now the database in service), then, when the plan deletes the old
 * database, the old blue resources the switchover renamed `<id>-old1`: read replicas (or cluster
 * members) first, then the primary (or the cluster), lifting deletion protection first. They are
 * running and no longer used. Before deleting anything it checks that each is what the deployment
 * named as a blue (source) member after the switchover, is under the OLD key, and (the primary) has
 * the resource id preflight recorded: a rename keeps it, so a different database that took the name
 * is never deleted. Written to `$.retireInstance`, where RetireKey reads whether the old database is gone.
 */
export const retireBlue = async (state: RotationState): Promise<RetireBlueResult> => {
  const { plan } = state;
  const switched = required(state, 'switchover');
  const green = required(state, 'greenDeployment');
  const { rds } = getClients();
  const previous = state.retireInstance as RetireBlueResult | undefined;
  const deleted = [...(previous?.deleted ?? [])];

  if (!switched.done || switched.status !== 'SWITCHOVER_COMPLETED') {
    throw new PreconditionFailedError(
      `Refusing to retire the blue resources of ${plan.target.identifier}: the switchover did not complete (status "${switched.status}"). ` +
        'Nothing was deleted; clients may still use the blue database.',
    );
  }
  const waiting = (status: string, deploymentDeleted: boolean): RetireBlueResult => ({
    done: false,
    outcome: 'deleted',
    status,
    deploymentDeleted,
    deleted,
    retained: [],
    poll: nextPoll(
      previous?.poll,
      'retireBlue',
      status,
      `Retiring the old blue resources of ${plan.target.identifier}`,
    ),
  });

  // 1. The deployment: it has done its work; without DeleteTarget (refused after a switchover anyway).
  const deployment = await describeDeployment(rds, green.deploymentId);
  if (deployment) {
    if (deployment.Status !== 'DELETING') {
      try {
        await rds.send(
          new DeleteBlueGreenDeploymentCommand({ BlueGreenDeploymentIdentifier: green.deploymentId }),
        );
        logger.info('deleting the Blue/Green deployment', { deploymentId: green.deploymentId });
      } catch (error) {
        if (!isAwsError(error, ...GONE, ...NOT_NOW)) throw error;
      }
    }
    if (await describeDeployment(rds, green.deploymentId)) return waiting('deleting deployment', false);
  }

  // 2. The old blue resources, named by the deployment after the switchover.
  const blueArns = switched.members.map((m) => m.sourceArn).filter((arn) => arn.length > 0);
  const blueIds = blueArns.map((arn) => arn.split(':').pop() ?? arn);
  if (!plan.decisions.deleteOldInstance) {
    const reason = plan.decisions.keepOldInstanceReason ?? 'the rotation plan keeps the old database.';
    logger.info('old blue resources retained', { blueIds, reason });
    return {
      done: true,
      outcome: 'retained',
      status: 'retained',
      reason: `${reason} The old blue resources ${blueIds.join(', ')} are kept (still under the old key).`,
      deploymentDeleted: true,
      deleted,
      retained: blueIds,
    };
  }

  const existing: DescribedResource[] = [];
  for (const arn of blueArns) {
    const found = await describeResource(rds, arn);
    if (!found) {
      const id = arn.split(':').pop() ?? arn;
      if (!deleted.includes(id)) deleted.push(id);
      continue;
    }
    assertIsOldBlue(state, found);
    if (found.status !== 'deleting' && !isRetiredBy(found.raw.TagList, plan.rotationId)) {
      return {
        ...notMarkedRetired(found.identifier, plan.rotationId, found.status),
        deploymentDeleted: true,
        deleted,
        retained: blueIds.filter((id) => !deleted.includes(id)),
      };
    }
    existing.push(found);
  }
  if (existing.length === 0) {
    logger.info('the old blue resources are gone', { deleted });
    return {
      done: true,
      outcome: 'deleted',
      status: 'deleted',
      deploymentDeleted: true,
      deleted,
      retained: [],
    };
  }
  // Replicas and cluster members before what they depend on.
  const rank = (r: DescribedResource) => RETIRE[r.kind].order(r);
  const first = Math.min(...existing.map(rank));
  for (const resource of existing.filter((r) => rank(r) === first)) {
    await retire(resource);
  }
  return waiting(existing.map((r) => `${r.identifier} ${r.status}`).join(', '), true);
};

/** Never delete what is not the old blue database: wrong key, or the primary with another resource id. */
const assertIsOldBlue = (state: RotationState, resource: DescribedResource): void => {
  const { plan } = state;
  const problems: string[] = [];
  if (!isSameKey(resource.kmsKeyId, plan.source.kmsKeyArn, plan)) {
    problems.push(
      `it is encrypted with ${resource.kmsKeyId ?? 'no key'}, not with the old key ${plan.source.kmsKeyArn}`,
    );
  }
  const greenArns = (state.switchover?.members ?? []).map((m) => m.targetArn);
  if (greenArns.includes(resource.arn)) problems.push('the deployment names it as a green resource');
  // The primary instance, or the cluster, must be the one preflight described (resource ids survive renames).
  const target = blueGreenOf(plan);
  const primaryResourceId = target.primaryResourceId(plan);
  if (target.isPrimary(resource) && primaryResourceId && resource.resourceId !== primaryResourceId) {
    problems.push(
      `its resource id is ${resource.resourceId}, not ${primaryResourceId} (the source preflight described)`,
    );
  }
  if (problems.length > 0) {
    throw new PreconditionFailedError(
      `Refusing to delete ${resource.identifier}: ${problems.join('; ')}. Nothing more was deleted. ` +
        `The switchover completed: clients use ${plan.target.identifier} under the new key. Find out what ${resource.identifier} is, ` +
        'delete the old blue resources by hand when sure, then schedule the old key for deletion.',
    );
  }
};

/** How each resource type is retired: in which order, how its deletion protection is lifted, how it is deleted. */
const RETIRE = {
  'db-instance': {
    // Read replicas before their primary.
    order: (r) => (r.replicaOf ? 0 : 1),
    liftProtection: (rds, id) =>
      rds.send(
        new ModifyDBInstanceCommand({
          DBInstanceIdentifier: id,
          DeletionProtection: false,
          ApplyImmediately: true,
        }),
      ),
    remove: (rds, id) =>
      rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: id,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      ),
  },
  'db-cluster': {
    // After its members.
    order: () => 2,
    liftProtection: (rds, id) =>
      rds.send(
        new ModifyDBClusterCommand({
          DBClusterIdentifier: id,
          DeletionProtection: false,
          ApplyImmediately: true,
        }),
      ),
    remove: (rds, id) =>
      rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: id, SkipFinalSnapshot: true })),
  },
} satisfies {
  [T in ResourceType]: {
    order: (resource: DescribedResource) => number;
    liftProtection: (rds: RDSClient, identifier: string) => Promise<unknown>;
    remove: (rds: RDSClient, identifier: string) => Promise<unknown>;
  };
};

const retire = async (resource: DescribedResource): Promise<void> => {
  const { rds } = getClients();
  const type = RETIRE[resource.kind];
  if (resource.status === 'deleting') return;
  try {
    if (resource.deletionProtection) {
      if (resource.status !== 'available') return;
      await type.liftProtection(rds, resource.identifier);
      logger.info('lifted deletion protection on an old blue resource', { id: resource.identifier });
    }
    await type.remove(rds, resource.identifier);
    logger.info('deleting an old blue resource', { id: resource.identifier, kind: resource.kind });
  } catch (error) {
    // Busy, protection not yet off, or already gone: the next check sees which.
    if (isAwsError(error, ...GONE, ...NOT_NOW)) return;
    if (isAwsError(error, 'InvalidParameterCombination') && /protect/i.test(error.message)) return;
    throw error;
  }
};
