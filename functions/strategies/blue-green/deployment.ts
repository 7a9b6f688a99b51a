import {
  type BlueGreenDeployment,
  type DBCluster,
  type DBInstance,
  DescribeBlueGreenDeploymentsCommand,
  type RDSClient,
  type TargetResourceConfiguration,
} from '@aws-sdk/client-rds';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance, isTerminalInstanceStatus } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import type { BlueGreenMember } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { findCluster } from '#targets/cluster/lookups.js';
import { blueGreenOf } from '#targets/registry.js';

/**
 * What the Blue/Green steps share: the deployment's name, how to find it, which resources it holds.
 *
 * RDS facts (API reference, CreateBlueGreenDeployment / DescribeBlueGreenDeployments /
 * SwitchoverBlueGreenDeployment / DeleteBlueGreenDeployment):
 * - `TargetResourceConfigurations: [{ SourceArn, TargetKmsKeyId }]`: for RDS one entry per DB
 *   instance (the primary and each read replica); for Aurora one entry for the cluster ARN.
 * - Deployment `Status`: PROVISIONING, AVAILABLE, SWITCHOVER_IN_PROGRESS, SWITCHOVER_COMPLETED,
 *   INVALID_CONFIGURATION, SWITCHOVER_FAILED, DELETING. `SwitchoverDetails[]` pairs each
 *   `SourceMember` (blue) with its `TargetMember` (green) and a per-member status.
 * - Switchover renames the blue resources `<id>-old1` and gives the green ones the original names
 *   and endpoints; `SwitchoverTimeout` (default 300 s) rolls it back by itself when exceeded.
 * - `DeleteTarget` deletes the green resources, and is refused once the switchover completed.
 */

/** 60 characters at most, letters, digits and hyphens (the deployment name's limits). */
const MAX_DEPLOYMENT_NAME = 60;

/** `rekey-<database>-<rotation id>`: a re-run finds its deployment by this name. */
export const deploymentNameFor = (plan: RotationPlan): string => {
  const suffix = `-${plan.rotationId}`;
  const base = `rekey-${plan.target.identifier.toLowerCase()}`
    .slice(0, MAX_DEPLOYMENT_NAME - suffix.length)
    .replace(/-+$/, '');
  return `${base}${suffix}`;
};

export const TERMINAL_DEPLOYMENT_STATUS = ['INVALID_CONFIGURATION', 'PROVISIONING_FAILED'];

/** The ARN of the database the deployment starts from (the target kind says which). */
export const sourceArnOf = (plan: RotationPlan): string => blueGreenOf(plan).sourceArn(plan);

/** The green resources' key: the new key for every blue resource the target kind covers. */
export const targetResourceConfigurations = (
  plan: RotationPlan,
  newKeyArn: string,
): TargetResourceConfiguration[] =>
  blueGreenOf(plan)
    .blueArns(plan)
    .map((SourceArn) => ({ SourceArn, TargetKmsKeyId: newKeyArn }));

/**
 * This rotation's deployment, found by its name, or `null`. A deployment of that name that does
 * not carry this rotation's tag is refused: Rekey never adopts (or deletes) one it did not create.
 */
export const findDeployment = async (
  rds: RDSClient,
  plan: RotationPlan,
): Promise<BlueGreenDeployment | null> => {
  const name = deploymentNameFor(plan);
  const { BlueGreenDeployments } = await rds.send(
    new DescribeBlueGreenDeploymentsCommand({
      Filters: [{ Name: 'blue-green-deployment-name', Values: [name] }],
    }),
  );
  const found = (BlueGreenDeployments ?? []).find((d) => d.BlueGreenDeploymentName === name);
  if (!found) return null;
  if (!carriesRotationId(found.TagList, plan.rotationId)) {
    throw new PreconditionFailedError(
      `A Blue/Green deployment named ${name} (${found.BlueGreenDeploymentIdentifier}) already exists, but it does not carry ` +
        `the tag ${TAG_ROTATION_ID}=${plan.rotationId}, so it is not this rotation's. Rekey did not touch it. ` +
        'Find out who created it, then start the rotation under another execution name.',
    );
  }
  return found;
};

/** The deployment by its identifier, or `null` once it is gone. */
export const describeDeployment = async (
  rds: RDSClient,
  deploymentId: string,
): Promise<BlueGreenDeployment | null> => {
  try {
    const { BlueGreenDeployments } = await rds.send(
      new DescribeBlueGreenDeploymentsCommand({ BlueGreenDeploymentIdentifier: deploymentId }),
    );
    return BlueGreenDeployments?.[0] ?? null;
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.blueGreen.notFound)) return null;
    throw error;
  }
};

/** This rotation's deployment: by the id a step recorded, else by its name. */
export const deploymentOfState = async (
  rds: RDSClient,
  state: RotationState,
): Promise<BlueGreenDeployment | null> => {
  const id = state.greenDeployment?.deploymentId;
  return id ? describeDeployment(rds, id) : findDeployment(rds, state.plan);
};

export const membersOf = (deployment: BlueGreenDeployment): BlueGreenMember[] =>
  (deployment.SwitchoverDetails ?? []).map((d) => ({
    sourceArn: d.SourceMember ?? '',
    targetArn: d.TargetMember ?? '',
    status: d.Status ?? 'unknown',
  }));

/** `db-instance` or `db-cluster` and the identifier, from an RDS ARN (`...:db:<id>`, `...:cluster:<id>`). */
export type ResourceType = 'db-instance' | 'db-cluster';

/** What each resource type is called in messages. */
export const RESOURCE_NOUN = {
  'db-instance': 'DB instance',
  'db-cluster': 'DB cluster',
} satisfies { [T in ResourceType]: string };

export const resourceOfArn = (arn: string): { kind: ResourceType; identifier: string } => {
  const match = /:(db|cluster):([^:]+)$/.exec(arn);
  return {
    kind: match?.[1] === 'cluster' ? 'db-cluster' : 'db-instance',
    identifier: match?.[2] ?? arn,
  };
};

export interface DescribedResource {
  kind: ResourceType;
  identifier: string;
  arn: string;
  status: string;
  /** A status RDS does not recover from by itself. */
  terminal: boolean;
  kmsKeyId: string | null;
  deletionProtection: boolean;
  /** Instances only: set on a read replica. */
  replicaOf: string | null;
  /** Instances only: the resource id, which a rename keeps. */
  resourceId: string | null;
  raw: DBInstance | DBCluster;
}

/** How to describe a resource of each type (one entry per type). */
const DESCRIBE = {
  'db-cluster': async (rds, identifier, arn) => {
    const cluster = await findCluster(rds, identifier);
    if (!cluster) return null;
    return {
      kind: 'db-cluster',
      identifier,
      arn: cluster.DBClusterArn ?? arn,
      status: cluster.Status ?? 'unknown',
      // What a create waits for is not checked for clusters: RDS reports their failures on the deployment.
      terminal: false,
      kmsKeyId: cluster.KmsKeyId ?? null,
      deletionProtection: cluster.DeletionProtection === true,
      replicaOf: null,
      resourceId: cluster.DbClusterResourceId ?? null,
      raw: cluster,
    };
  },
  'db-instance': async (rds, identifier, arn) => {
    const db = await findInstance(rds, identifier);
    if (!db) return null;
    const status = db.DBInstanceStatus ?? 'unknown';
    return {
      kind: 'db-instance',
      identifier,
      arn: db.DBInstanceArn ?? arn,
      status,
      terminal: isTerminalInstanceStatus(status),
      kmsKeyId: db.KmsKeyId ?? null,
      deletionProtection: db.DeletionProtection === true,
      replicaOf: db.ReadReplicaSourceDBInstanceIdentifier ?? null,
      resourceId: db.DbiResourceId ?? null,
      raw: db,
    };
  },
} satisfies {
  [T in ResourceType]: (rds: RDSClient, identifier: string, arn: string) => Promise<DescribedResource | null>;
};

/** The instance or cluster an ARN names, or `null` when it does not exist. */
export const describeResource = async (rds: RDSClient, arn: string): Promise<DescribedResource | null> => {
  const { kind, identifier } = resourceOfArn(arn);
  return DESCRIBE[kind](rds, identifier, arn);
};

/** The deployment's status and its own words, for messages. */
export const statusLine = (deployment: BlueGreenDeployment): string => {
  const details = deployment.StatusDetails ? ` (${deployment.StatusDetails})` : '';
  const failedTasks = (deployment.Tasks ?? [])
    .filter((t) => t.Status === 'FAILED')
    .map((t) => t.Name)
    .join(', ');
  const tasks = failedTasks ? `; failed tasks: ${failedTasks}` : '';
  return `"${deployment.Status ?? 'unknown'}"${details}${tasks}`;
};
