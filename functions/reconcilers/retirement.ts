import {
  AddTagsToResourceCommand,
  type RDSClient,
  RemoveTagsFromResourceCommand,
  type Tag,
} from '@aws-sdk/client-rds';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError } from '#domain/errors.js';
import { TAG_RETIRED_BY, TAG_ROLE } from '#domain/naming.js';
import { logger } from '#runtime/logger.js';

/**
 * Which database may be deleted is carried by tags, so that IAM can enforce it (template.yaml):
 * once clients are verified on the new database, the step that verified it (Cutover, Switchover)
 * tags the new database `rekey:role=serving`, which no role of the stack may delete, and the old
 * source `rekey:role=retired-source` with `rekey:retired-by=<rotation id>`, which is all the
 * retire steps may delete. `rekey:retired-by` and not `rekey:rotation-id`: the source was not
 * created by the rotation, and the rotation-id tag means exactly that everywhere else.
 *
 * Both marks are idempotent (AddTagsToResource overwrites a tag with the same value), so a
 * retried step marks again. A rollback that undoes a cutover takes the retired mark off again.
 */

export const SERVING = 'serving';
export const RETIRED_SOURCE = 'retired-source';

export interface Retirement {
  /** ARNs of the new database's resources (instance, or cluster and members) as they are named now. */
  serving: string[];
  /** ARNs of the old source's resources, when the plan deletes them; otherwise empty. */
  retired: string[];
}

const addTags = async (rds: RDSClient, arn: string, tags: Tag[]): Promise<void> => {
  await rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: tags }));
};

/** Tags the new resources serving, then the old ones retired: the deletable mark comes last. */
export const markRetirement = async (
  rds: RDSClient,
  rotationId: string,
  marks: Retirement,
): Promise<void> => {
  for (const arn of marks.serving) await addTags(rds, arn, [{ Key: TAG_ROLE, Value: SERVING }]);
  for (const arn of marks.retired) {
    await addTags(rds, arn, [
      { Key: TAG_ROLE, Value: RETIRED_SOURCE },
      { Key: TAG_RETIRED_BY, Value: rotationId },
    ]);
  }
  logger.info('marked the new database serving and the old one retired', { ...marks });
};

/** True when `tags` say this rotation retired the resource (the retire steps check it before deleting). */
export const isRetiredBy = (tags: Tag[] | undefined, rotationId: string): boolean => {
  const value = (key: string) => (tags ?? []).find((tag) => tag.Key === key)?.Value;
  return value(TAG_ROLE) === RETIRED_SOURCE && value(TAG_RETIRED_BY) === rotationId;
};

/**
 * Takes the retired mark off the resources at `arns` that carry it from this rotation (a rollback
 * after a cutover whose answer was lost). An ARN whose resource is not there is skipped: a rename
 * may have moved it, and every candidate name is passed.
 */
export const unmarkRetired = async (
  rds: RDSClient,
  rotationId: string,
  candidates: { arn: string; tags: Tag[] | undefined }[],
): Promise<string[]> => {
  const unmarked: string[] = [];
  for (const { arn, tags } of candidates) {
    if (!isRetiredBy(tags, rotationId)) continue;
    try {
      await rds.send(
        new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: [TAG_ROLE, TAG_RETIRED_BY] }),
      );
      unmarked.push(arn);
    } catch (error) {
      if (!isAwsError(error, ...RDS_ERRORS.instance.notFound, ...RDS_ERRORS.cluster.notFound)) throw error;
    }
  }
  return unmarked;
};

/**
 * The retire steps' result when a resource they would delete does not carry this rotation's
 * retired mark (the cutover that should have set it ran under an older version, or someone took
 * it off): kept, with how to finish by hand. IAM would refuse the delete anyway.
 */
export const notMarkedRetired = (identifier: string, rotationId: string, status: string) => ({
  done: true as const,
  outcome: 'retained' as const,
  status,
  reason:
    `${identifier} does not carry the tags ${TAG_ROLE}=${RETIRED_SOURCE} and ${TAG_RETIRED_BY}=${rotationId} that the cutover ` +
    'sets once clients use the new database, so Rekey did not delete it. If clients no longer use it, delete it by hand.',
});
