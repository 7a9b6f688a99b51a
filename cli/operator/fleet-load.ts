import type { S3Client } from '@aws-sdk/client-s3';
import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { getJson as readFleetDocument } from '#features/fleet/documents-read.js';
import { outcomeKey, planKey } from '#features/fleet/store.js';
import type { DatabaseOutcome, FleetPlan } from '#features/fleet/types.js';
import {
  executionArnFor,
  FLEET_STATE_MACHINE_SUFFIX,
  ROTATION_STATE_MACHINE_SUFFIX,
  stateMachineOfExecution,
} from './aws.js';
import { listObjects, s3Problem } from './evidence.js';

/**
 * What `rekey status <fleet execution>` reads besides the execution itself: the plan PlanFleet
 * wrote (`fleets/<name>/plan.json`), the outcomes RecordFleetOutcome wrote so far
 * (`fleets/<name>/databases/<id>.json`), and which child rotations are in flight.
 */

/** A fleet document from the stack's evidence bucket, or null; an S3 error says what to check. */
const getJson = async <T>(s3: S3Client, bucket: string, key: string): Promise<T | null> => {
  try {
    return await readFleetDocument<T>(key, { s3, bucket });
  } catch (error) {
    throw s3Problem(error, bucket, key);
  }
};

export const readFleetPlan = (s3: S3Client, bucket: string, fleetId: string): Promise<FleetPlan | null> =>
  getJson<FleetPlan>(s3, bucket, planKey(fleetId));

/** Outcomes already read, by key and ETag: a watch reads each outcome once, not on every poll. */
export type OutcomeCache = Map<string, { etag: string; outcome: DatabaseOutcome }>;

/**
 * Every outcome recorded so far: one listing of `fleets/<id>/databases/`, then only the objects
 * listed that `cache` does not hold at that ETag.
 */
export const readFleetOutcomes = async (
  s3: S3Client,
  bucket: string,
  fleetId: string,
  cache: OutcomeCache = new Map(),
): Promise<DatabaseOutcome[]> => {
  // `fleets/<id>/databases/`: the outcome key of an empty id, without its `.json`.
  const prefix = outcomeKey(fleetId, '').replace(/\.json$/, '');
  const listed = (await listObjects(s3, bucket, prefix))
    .filter((object) => object.Key?.endsWith('.json'))
    .map((object) => ({ key: object.Key as string, etag: object.ETag ?? '' }));
  const outcomes = await Promise.all(
    listed.map(async ({ key, etag }) => {
      const cached = cache.get(key);
      if (cached && etag && cached.etag === etag) return cached.outcome;
      const outcome = await getJson<DatabaseOutcome>(s3, bucket, key);
      if (outcome && etag) cache.set(key, { etag, outcome });
      return outcome;
    }),
  );
  return outcomes.filter((o): o is DatabaseOutcome => o !== null);
};

/**
 * The rotation state machine the fleet starts its children on: template.yaml names it
 * `<stack>-rotate-instance` beside the fleet's `<stack>-rotate-fleet`, in the same account and Region.
 */
export const rotationMachineOfFleet = (fleetExecutionArn: string): string =>
  stateMachineOfExecution(fleetExecutionArn).replace(
    new RegExp(`${FLEET_STATE_MACHINE_SUFFIX}$`),
    ROTATION_STATE_MACHINE_SUFFIX,
  );

/** The fleet machine beside a rotation machine (`<stack>-rotate-instance` -> `<stack>-rotate-fleet`), if it is one. */
export const fleetMachineOfRotation = (rotationMachineArn: string): string | undefined =>
  rotationMachineArn.endsWith(ROTATION_STATE_MACHINE_SUFFIX)
    ? `${rotationMachineArn.slice(0, -ROTATION_STATE_MACHINE_SUFFIX.length)}${FLEET_STATE_MACHINE_SUFFIX}`
    : undefined;

/**
 * The children that may be in flight: in each group (databases of one old key, run one after
 * another) the first database without an outcome. The Map starts the groups in order, so the
 * search stops after `maxConcurrency` children found running, or `maxConcurrency` groups in a row
 * whose child does not exist yet: at most a few DescribeExecution calls, however big the fleet.
 */
export const childCandidates = (plan: FleetPlan, outcomes: DatabaseOutcome[]): string[] => {
  const done = new Set(outcomes.map((o) => o.id));
  const byId = new Map(plan.databases.map((d) => [d.id, d]));
  return plan.groups.flatMap((group) => {
    const next = group.ids.find((id) => !done.has(id));
    const planned = next ? byId.get(next) : undefined;
    return planned?.eligible ? [planned.executionName] : [];
  });
};

export const findRunningChildren = async (
  plan: FleetPlan,
  outcomes: DatabaseOutcome[],
  rotationMachineArn: string,
  describe: (executionArn: string) => Promise<string | null>,
): Promise<Record<string, string>> => {
  const states: Record<string, string> = {};
  const limit = Math.max(1, plan.maxConcurrency);
  let found = 0;
  let missingInARow = 0;
  for (const name of childCandidates(plan, outcomes)) {
    if (found >= limit || missingInARow >= limit) break;
    const state = await describe(executionArnFor(rotationMachineArn, name));
    if (state) {
      states[name] = state;
      found += 1;
      missingInARow = 0;
    } else missingInARow += 1;
  }
  return states;
};

/** The fleet execution's own output, when it has one (a FleetOutput). */
export const fleetOutputOf = (described: DescribeExecutionCommandOutput): unknown => {
  if (!described.output) return null;
  try {
    return JSON.parse(described.output);
  } catch {
    return null;
  }
};
