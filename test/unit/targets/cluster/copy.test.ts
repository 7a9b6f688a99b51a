import { CopyDBClusterSnapshotCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { copyClusterSnapshot } from '#targets/cluster/copy.js';

import {
  COPY_SNAPSHOT,
  kms,
  NEW_KEY,
  NEW_KEY_ID,
  OLD_KEY,
  RID,
  rds,
  route53,
  SOURCE,
  SOURCE_SNAPSHOT,
  snapshot,
  state,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: copy', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('copy', () => {
    it('copies the source snapshot with KmsKeyId = the new key ARN, its user tags and no CopyTags', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT)] });
      rds.on(CopyDBClusterSnapshotCommand).resolves({
        DBClusterSnapshot: snapshot(COPY_SNAPSHOT, { Status: 'copying' }),
      });

      // Act
      const result = await copyClusterSnapshot(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(CopyDBClusterSnapshotCommand, 1);
      expect(rds).toHaveReceivedCommandWith(CopyDBClusterSnapshotCommand, {
        SourceDBClusterSnapshotIdentifier: SOURCE_SNAPSHOT,
        TargetDBClusterSnapshotIdentifier: COPY_SNAPSHOT,
        KmsKeyId: NEW_KEY,
        CopyTags: false,
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'rekey:rotation-id', Value: RID },
          { Key: 'rekey:source-db', Value: SOURCE },
          { Key: 'rekey:role', Value: 'reencrypted-snapshot' },
        ],
      });
      expect(result).toMatchObject({ done: false, snapshotIdentifier: COPY_SNAPSHOT, status: 'copying' });
    });

    it('finds its available copy under the new key on a re-run and copies nothing again', async () => {
      // Prepare
      world({ snapshots: [snapshot(SOURCE_SNAPSHOT), snapshot(COPY_SNAPSHOT, { KmsKeyId: NEW_KEY_ID })] });

      // Act
      const result = await copyClusterSnapshot(state({ type: 'none' }));

      // Assess
      expect(rds).not.toHaveReceivedCommand(CopyDBClusterSnapshotCommand);
      expect(result).toMatchObject({ done: true, snapshotIdentifier: COPY_SNAPSHOT, status: 'available' });
    });

    it('fails with ValidationFailedError when the available copy is not under the new key', async () => {
      // Prepare
      world({ snapshots: [snapshot(COPY_SNAPSHOT, { KmsKeyId: OLD_KEY })] });

      // Act / Assess
      await expect(copyClusterSnapshot(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ValidationFailedError',
        message: expect.stringContaining(`is encrypted with ${OLD_KEY}, not with the new key ${NEW_KEY}`),
      });
    });

    it('ends the wait with ResourceFailedError when the copy failed', async () => {
      // Prepare
      world({ snapshots: [snapshot(COPY_SNAPSHOT, { Status: 'failed' })] });

      // Act / Assess
      await expect(copyClusterSnapshot(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(
          `The re-encrypted cluster snapshot ${COPY_SNAPSHOT} is in status "failed"`,
        ),
      });
    });
  });
});
