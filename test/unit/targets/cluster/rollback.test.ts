import { DescribeKeyCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import {
  DeleteDBClusterCommand,
  DeleteDBClusterSnapshotCommand,
  DeleteDBInstanceCommand,
  ModifyDBClusterCommand,
  StartDBClusterCommand,
} from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { UNUSED_KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import type { ClusterPlan } from '#domain/plan.js';
import type { ClusterState } from '#domain/state.js';
import { rollbackCluster } from '#targets/cluster/rollback.js';
import { READER_CONFIG, WRITER_CONFIG } from '../../../support/cluster-fixtures.js';

import {
  ASIDE,
  COPY_SNAPSHOT,
  kms,
  NEW_CLUSTER,
  NEW_KEY,
  NEW_KEY_ID,
  NEW_READER,
  NEW_WRITER,
  newCluster,
  newMember,
  OLD_KEY,
  RENAME,
  RID,
  rds,
  route53,
  SOURCE,
  SOURCE_ENDPOINT,
  SOURCE_SNAPSHOT,
  snapshot,
  sourceCluster,
  state,
  validation,
  verifiedRename,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: rollback', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('rollback', () => {
    const failed = (cutover: ClusterPlan['cutover'], extra: Partial<ClusterState> = {}) =>
      state(cutover, {
        failure: {
          Error: 'ValidationFailedError',
          Cause: JSON.stringify({ errorMessage: 'the new cluster is wrong' }),
        },
        sourceSnapshot: {
          done: true,
          snapshotIdentifier: SOURCE_SNAPSHOT,
          snapshotArn: null,
          kmsKeyId: OLD_KEY,
          status: 'available',
        },
        // No copy: the new cluster was restored straight from the source snapshot under the new key.
        restore: {
          done: true,
          dbInstanceIdentifier: NEW_CLUSTER,
          dbInstanceArn: null,
          status: 'available',
          restoredFrom: { snapshotIdentifier: SOURCE_SNAPSHOT, reencryptedBy: 'restore' },
        },
        ...extra,
      });

    it('before any cutover: deletes only the new members that carry this rotation tag, before the new cluster', async () => {
      // Prepare: the reader name holds an instance this rotation did not create.
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({
        clusters: [sourceCluster(), newCluster()],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { TagList: [] }),
        ],
      });
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await rollbackCluster(current);

      // Assess
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, { DBInstanceIdentifier: NEW_WRITER });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: false, undone: [`deleted the new DB instance ${NEW_WRITER}`] });
    });

    it('lifts the new cluster deletion protection, then deletes it, then its source snapshot and schedules the new key', async () => {
      // Prepare: a snapshot of the copy's old name is not this plan's: a cluster plan names no copy.
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      const clusters = [sourceCluster(), newCluster()];
      const snapshots = [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT)];
      world({ clusters, snapshots });
      rds.on(ModifyDBClusterCommand).resolves({});
      rds.on(DeleteDBClusterCommand).resolves({});
      rds.on(DeleteDBClusterSnapshotCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'Enabled' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });
      kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-01-08T00:00:00Z') });

      // Act: the first call lifts protection; the second deletes the cluster; the third finds it gone.
      const first = await rollbackCluster(current);
      clusters[1] = newCluster({ DeletionProtection: false });
      const second = await rollbackCluster({ ...current, rollback: first });
      clusters.pop();
      const third = await rollbackCluster({ ...current, rollback: second });

      // Assess
      expect(rds).toHaveReceivedNthCommandWith(ModifyDBClusterCommand, 1, {
        DBClusterIdentifier: NEW_CLUSTER,
        DeletionProtection: false,
        ApplyImmediately: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        SkipFinalSnapshot: true,
      });
      expect(rds).not.toHaveReceivedCommandWith(DeleteDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(rds).toHaveReceivedCommandTimes(DeleteDBClusterSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, {
        KeyId: NEW_KEY_ID,
        PendingWindowInDays: UNUSED_KEY_PENDING_WINDOW_DAYS,
      });
      expect(third.done).toBe(true);
      expect(third.cause).toContain('the new cluster is wrong.');
      expect(third.cause).toContain(`deleted the new DB cluster ${NEW_CLUSTER}`);
      expect(third.cause).toContain(`deleted the DB cluster snapshot ${SOURCE_SNAPSHOT}`);
      expect(third.cause).not.toContain(COPY_SNAPSHOT);
      expect(third.cause).toContain(`The old key ${OLD_KEY} was not touched.`);
    });

    it('still deletes the copy that an execution started before Aurora stopped copying made (its plan names it)', async () => {
      // Prepare: a plan of the earlier definition, which copied the cluster snapshot under the new key.
      const current = failed(
        { type: 'none' },
        {
          copySnapshot: {
            done: true,
            snapshotIdentifier: COPY_SNAPSHOT,
            snapshotArn: null,
            kmsKeyId: NEW_KEY,
            status: 'available',
          },
          restore: {
            done: true,
            dbInstanceIdentifier: NEW_CLUSTER,
            dbInstanceArn: null,
            status: 'available',
          },
        },
      );
      current.plan.names.copySnapshotIdentifier = COPY_SNAPSHOT;
      current.plan.decisions.stopSource = false;
      world({ clusters: [sourceCluster()], snapshots: [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT)] });
      rds.on(DeleteDBClusterSnapshotCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'PendingDeletion' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });

      // Act
      const result = await rollbackCluster(current);

      // Assess
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: COPY_SNAPSHOT,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
      expect(result.cause).toContain(`deleted the DB cluster snapshot ${COPY_SNAPSHOT}`);
    });

    it('does not delete a cluster snapshot of its name that another rotation took', async () => {
      // Prepare
      const current = failed({ type: 'none' });
      current.plan.decisions.stopSource = false;
      world({
        clusters: [sourceCluster()],
        snapshots: [
          snapshot(SOURCE_SNAPSHOT, { TagList: [{ Key: 'rekey:rotation-id', Value: 'rkffffffffff' }] }),
        ],
      });
      rds.on(DeleteDBClusterSnapshotCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: {
          KeyId: NEW_KEY_ID,
          Arn: NEW_KEY,
          KeyManager: 'CUSTOMER',
          KeyState: 'PendingDeletion',
        },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });

      // Act
      const result = await rollbackCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommandWith(DeleteDBClusterSnapshotCommand, {
        DBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
      expect(result.done).toBe(true);
    });

    it('starts the source cluster again when Rekey stopped it, and turns its deletion protection back on', async () => {
      // Prepare
      const current = failed(
        { type: 'none' },
        { freeze: { done: true, stoppedByRekey: true, deletionProtectionLifted: true, status: 'stopped' } },
      );
      const clusters = [sourceCluster({ Status: 'stopped' })];
      world({ clusters });
      rds.on(StartDBClusterCommand).resolves({});
      rds.on(ModifyDBClusterCommand).resolves({});
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: NEW_KEY_ID, Arn: NEW_KEY, KeyManager: 'CUSTOMER', KeyState: 'PendingDeletion' },
      });
      kms.on(ListResourceTagsCommand).resolves({ Tags: [{ TagKey: 'rekey:rotation-id', TagValue: RID }] });

      // Act
      const first = await rollbackCluster(current);
      clusters[0] = sourceCluster({ Status: 'available', DeletionProtection: false });
      const second = await rollbackCluster({ ...current, rollback: first });

      // Assess
      expect(rds).toHaveReceivedCommandTimes(StartDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: SOURCE });
      expect(first.done).toBe(false);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        DeletionProtection: true,
        ApplyImmediately: true,
      });
      expect(second.undone).toEqual(
        expect.arrayContaining([
          `started ${SOURCE} again`,
          `turned deletion protection on again for ${SOURCE}`,
        ]),
      );
    });

    it('after a rename cutover: first renames the new cluster off the original identifier, and keeps it', async () => {
      // Prepare
      world({
        clusters: [
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
        ],
      });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await rollbackCluster(failed(RENAME));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: SOURCE,
        NewDBClusterIdentifier: NEW_CLUSTER,
        ApplyImmediately: true,
      });
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(result).toMatchObject({
        done: false,
        undone: [`renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`],
      });
    });

    it('after a rename cutover: then starts the stopped source and gives it its identifier back, deleting nothing', async () => {
      // Prepare
      const clusters = [newCluster(), sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })];
      world({ clusters });
      rds.on(StartDBClusterCommand).resolves({});
      rds.on(ModifyDBClusterCommand).resolves({});
      const current = failed(RENAME, {
        cutover: { ...verifiedRename, done: false, verified: false },
        rollback: {
          done: false,
          undone: [`renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`],
          leftBehind: [],
          facts: [
            { kind: 'renamed-back', resource: 'db-cluster', which: 'new', from: SOURCE, to: NEW_CLUSTER },
          ],
          cause: '',
        },
      });

      // Act
      const first = await rollbackCluster(current);
      clusters[1] = sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'available' });
      const second = await rollbackCluster({ ...current, rollback: first });

      // Assess
      expect(rds).toHaveReceivedCommandWith(StartDBClusterCommand, { DBClusterIdentifier: ASIDE });
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: ASIDE,
        NewDBClusterIdentifier: SOURCE,
        ApplyImmediately: true,
      });
      expect(second.undone).toEqual([
        `renamed the new cluster back from ${SOURCE} to ${NEW_CLUSTER}`,
        `started ${ASIDE} again`,
        `renamed the source back from ${ASIDE} to ${SOURCE}`,
      ]);
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('after a verified cutover: deletes and renames nothing, and says the new cluster and key hold the data', async () => {
      // Prepare
      world({
        clusters: [
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
        ],
        instances: [newMember(NEW_WRITER, WRITER_CONFIG), newMember(NEW_READER, READER_CONFIG)],
        snapshots: [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT)],
      });

      // Act
      const result = await rollbackCluster(failed(RENAME, { validation, cutover: verifiedRename }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterSnapshotCommand);
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).not.toHaveReceivedCommand(StartDBClusterCommand);
      expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
      expect(result.done).toBe(true);
      expect(result.cause).toContain('The cutover had completed: clients use the new cluster');
      expect(result.cause).toContain(`Keep the new cluster ${NEW_CLUSTER} and its key ${NEW_KEY}`);
    });

    it('changes nothing when the rotation never took its lock', async () => {
      // Act
      const result = await rollbackCluster(
        failed({ type: 'none' }, { lock: { acquired: false, lockKeys: [] } }),
      );

      // Assess
      expect(rds.calls()).toHaveLength(0);
      expect(result).toMatchObject({
        done: true,
        undone: [],
        cause: 'the new cluster is wrong. Nothing was changed in AWS.',
      });
    });
  });
});
