import { CreateDBSnapshotCommand, type DBSnapshot } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { assertSnapshotOwned, rotationTags } from '#aws/ownership.js';
import { assertSnapshotHealthy, findSnapshot } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError } from '#domain/errors.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { SnapshotResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { frozenSourceIdentifier } from '#reconcilers/rename.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/**
 * Snapshot the source (still under the old key) and wait until the snapshot is `available`.
 * Reconciles: a re-run finds the snapshot this rotation created (by name, then checks it was taken
 * from the source and carries this rotation's tag) and only polls it.
 *
 * Tags: CreateDBSnapshot with `Tags` does not copy the instance's tags even when the instance has
 * CopyTagsToSnapshot (docs/aws-facts.md#snapshot-tags), so the source's
 * user tags are passed explicitly when the source copies tags to its snapshots.
 */
export const snapshotInstance = async (state: InstanceState): Promise<SnapshotResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const id = plan.names.sourceSnapshotIdentifier;
  // A rename cutover moved the source aside before stopping it.
  const sourceId = frozenSourceIdentifier(plan);
  const what = `The snapshot ${id} of ${sourceId}`;
  const waiting = (status: string, snapshot?: DBSnapshot): SnapshotResult => ({
    done: false,
    poll: nextPoll(state.sourceSnapshot?.poll, 'snapshotSource', status, what, {
      percent: snapshot?.PercentProgress,
      awaits: awaiting('SNAPSHOT', id, RDS_EVENTS.snapshotCreated),
      expectedSeconds: EXPECTED_SECONDS.snapshot(plan.source.config.allocatedStorage),
    }),
    ...snapshotFields(id, status, snapshot),
  });

  let snapshot = await findSnapshot(rds, id);
  if (!snapshot) {
    try {
      const { DBSnapshot: created } = await rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: sourceId,
          DBSnapshotIdentifier: id,
          Tags: rotationTags(
            plan,
            'source-snapshot',
            plan.source.config.copyTagsToSnapshot ? plan.source.config.tags : {},
          ),
        }),
      );
      logger.info('creating the source snapshot', {
        dbSnapshotIdentifier: id,
        dbInstanceIdentifier: sourceId,
      });
      if (!created) return waiting('creating');
      snapshot = created;
    } catch (error) {
      // A racing attempt of this step created it: the next check finds it (and checks it is ours).
      if (isAwsError(error, ...RDS_ERRORS.snapshot.alreadyExists)) {
        return waiting('creating');
      }
      // The source is busy (e.g. `backing-up`, `modifying`): RDS snapshots it once it is available or stopped.
      if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) {
        logger.info('the source cannot be snapshotted yet', { error: error.message });
        return waiting('waiting-for-source');
      }
      if (isAwsError(error, ...RDS_ERRORS.instance.notFound)) {
        throw new PreconditionFailedError(
          `The source DB instance ${sourceId} no longer exists, so it cannot be snapshotted. ` +
            'It was deleted while the rotation ran; nothing else was changed.',
          { cause: error },
        );
      }
      if (isAwsError(error, ...RDS_ERRORS.snapshot.quotaExceeded)) {
        throw new PreconditionFailedError(
          `RDS refused to snapshot ${sourceId}: the Region's manual DB snapshot quota is used up. ` +
            'Delete old manual snapshots or ask for a higher quota (Service Quotas: "Manual DB instance snapshots"), ' +
            'then start a new rotation.',
          { cause: error },
        );
      }
      throw error;
    }
  }

  assertSnapshotOwned(snapshot, plan, 'source snapshot');
  assertSnapshotHealthy(snapshot, 'source');
  const status = snapshot.Status ?? 'unknown';
  if (status === 'available') {
    logger.info('the source snapshot is available', { dbSnapshotIdentifier: id });
    return { done: true, ...snapshotFields(id, status, snapshot) };
  }
  return waiting(status, snapshot);
};

const snapshotFields = (id: string, status: string, snapshot: DBSnapshot | undefined) => ({
  snapshotIdentifier: id,
  snapshotArn: snapshot?.DBSnapshotArn ?? null,
  kmsKeyId: snapshot?.KmsKeyId ?? null,
  status,
});
