import { beforeEach, describe, expect, it } from 'vitest';
import { noClusterCopy } from '#targets/cluster/copy.js';
import { COPY_SNAPSHOT as COPY_SNAPSHOT_STEP } from '#targets/registry.js';

import { kms, OLD_KEY, rds, route53, SOURCE_SNAPSHOT, state } from '../../../support/cluster-steps.js';

const sourceSnapshot = {
  done: true as const,
  snapshotIdentifier: SOURCE_SNAPSHOT,
  snapshotArn: `arn:aws:rds:us-east-1:123456789012:cluster-snapshot:${SOURCE_SNAPSHOT}`,
  kmsKeyId: OLD_KEY,
  status: 'available',
};

describe('Aurora cluster: no copy', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  it('is the cluster entry of the copy step: a cluster is restored from its source snapshot, not copied', () => {
    expect(COPY_SNAPSHOT_STEP.cluster).toBe(noClusterCopy);
  });

  it('copies nothing and calls no AWS API: an execution of an earlier definition goes on to the restore', async () => {
    // Act
    const result = await noClusterCopy(state({ type: 'none' }, { sourceSnapshot }));

    // Assess
    expect(rds.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
    expect(result).toEqual({
      done: true,
      snapshotIdentifier: SOURCE_SNAPSHOT,
      snapshotArn: sourceSnapshot.snapshotArn,
      kmsKeyId: OLD_KEY,
      status: 'not-needed',
    });
  });

  it('plans no copy for a cluster: its names have no re-encrypted snapshot', () => {
    const { names } = state({ type: 'none' }).plan;
    expect(names.sourceSnapshotIdentifier).toBe(SOURCE_SNAPSHOT);
    expect(names.copySnapshotIdentifier).toBeUndefined();
  });
});
