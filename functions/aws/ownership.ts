import type { DBInstance, DBSnapshot, Tag } from '@aws-sdk/client-rds';
import { PreconditionFailedError } from '#domain/errors.js';
import { isUserTagKey, TAG_ROLE, TAG_ROTATION_ID, TAG_SOURCE_DB } from '#domain/naming.js';
import type { InstancePlan, RotationPlan } from '#domain/plan.js';
import { rdsTags } from './rds.js';

/**
 * What a rotation creates carries `rekey:rotation-id`, `rekey:source-db` and `rekey:role`. A step
 * that finds a resource under one of its names adopts it only if it carries this rotation's id:
 * Rekey never adopts (and so never deletes or cuts over to) a resource it did not create.
 */
export type RekeyRole =
  | 'source-snapshot'
  | 'reencrypted-snapshot'
  | 'new-instance'
  | 'new-cluster'
  | 'blue-green-deployment'
  | 'green';

/** `userTags` plus this rotation's tags; a user tag can never override a `rekey:*` tag. */
export const rotationTags = (
  plan: RotationPlan,
  role: RekeyRole,
  userTags: Record<string, string> = {},
): Tag[] =>
  rdsTags({
    ...Object.fromEntries(Object.entries(userTags).filter(([key]) => isUserTagKey(key))),
    [TAG_ROTATION_ID]: plan.rotationId,
    [TAG_SOURCE_DB]: plan.target.identifier,
    [TAG_ROLE]: role,
  });

export const carriesRotationId = (tags: Tag[] | undefined, rotationId: string): boolean =>
  (tags ?? []).some((t) => t.Key === TAG_ROTATION_ID && t.Value === rotationId);

const tagValue = (tags: Tag[] | undefined, key: string): string | undefined =>
  (tags ?? []).find((t) => t.Key === key)?.Value;

/**
 * Throws `PreconditionFailedError` unless `snapshot` is this rotation's: taken from the source DB
 * instance and tagged with this rotation's id.
 */
export const assertSnapshotOwned = (snapshot: DBSnapshot, plan: InstancePlan, what: string): void => {
  const id = snapshot.DBSnapshotIdentifier ?? '(unknown)';
  const sourceId = plan.source.dbInstanceIdentifier;
  // A rename cutover moves the source aside before the freeze, so its snapshot names the aside identifier.
  const sourceIds = [sourceId, ...(plan.cutover.type === 'rename' ? [plan.cutover.asideIdentifier] : [])];
  const problems: string[] = [];
  if (!sourceIds.includes(snapshot.DBInstanceIdentifier ?? '')) {
    problems.push(
      `it was taken from DB instance ${snapshot.DBInstanceIdentifier ?? '(unknown)'}, not ${sourceId}`,
    );
  }
  if (!carriesRotationId(snapshot.TagList, plan.rotationId)) {
    const found = tagValue(snapshot.TagList, TAG_ROTATION_ID);
    problems.push(
      found === undefined
        ? `it has no ${TAG_ROTATION_ID} tag`
        : `its ${TAG_ROTATION_ID} tag is "${found}", not "${plan.rotationId}"`,
    );
  }
  if (problems.length > 0) {
    throw new PreconditionFailedError(
      `A DB snapshot named ${id} already exists, but it is not the ${what} of rotation ${plan.rotationId}: ` +
        `${problems.join('; ')}. Rekey never adopts a snapshot it did not create. Nothing was changed; ` +
        'find out who owns that snapshot, then start the rotation under another execution name.',
    );
  }
};

/** Throws `PreconditionFailedError` unless `db` carries this rotation's id. */
export const assertInstanceOwned = (db: DBInstance, plan: RotationPlan): void => {
  if (carriesRotationId(db.TagList, plan.rotationId)) return;
  const found = tagValue(db.TagList, TAG_ROTATION_ID);
  const why =
    found === undefined ? `it has no ${TAG_ROTATION_ID} tag` : `its ${TAG_ROTATION_ID} tag is "${found}"`;
  throw new PreconditionFailedError(
    `A DB instance named ${db.DBInstanceIdentifier} already exists, but it was not created by rotation ` +
      `${plan.rotationId} (${why}). Rekey never adopts, changes or cuts over to an instance it did not create, ` +
      'and did not touch it. Find out who owns it, then start the rotation under another execution name.',
  );
};
