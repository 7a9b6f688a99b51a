import { DescribeAccountAttributesCommand, RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkSnapshotQuota, type SnapshotQuota } from '#targets/preflight-checks.js';

const rds = mockClient(RDSClient);

/** What each kind's preflight asks for: an instance takes the source snapshot and its copy, a cluster the source only. */
const INSTANCE: SnapshotQuota = {
  name: 'ManualSnapshots',
  noun: '',
  serviceQuota: 'Manual DB instance snapshots',
  needed: 2,
};
const CLUSTER: SnapshotQuota = {
  name: 'ManualClusterSnapshots',
  noun: 'cluster ',
  serviceQuota: 'Manual DB cluster snapshots',
  needed: 1,
};
const quota = (name: string, used: number) =>
  rds
    .on(DescribeAccountAttributesCommand)
    .resolves({ AccountQuotas: [{ AccountQuotaName: name, Used: used, Max: 100 }] });

describe('the manual snapshot quota check', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('lets an Aurora rotation start with one free cluster snapshot: it makes no copy', async () => {
    quota('ManualClusterSnapshots', 99);
    await expect(checkSnapshotQuota(CLUSTER)).resolves.toBeNull();
  });

  it('refuses an Aurora rotation when no cluster snapshot is free, naming the quota', async () => {
    quota('ManualClusterSnapshots', 100);
    await expect(checkSnapshotQuota(CLUSTER)).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      message: expect.stringContaining(
        'The Region has 100 of 100 manual DB cluster snapshots; the rotation needs 1 more. ' +
          'Delete old manual cluster snapshots or ask for a higher quota (Service Quotas: "Manual DB cluster snapshots").',
      ),
    });
  });

  it('still asks two free snapshots of an instance rotation (the source and its re-encrypted copy)', async () => {
    quota('ManualSnapshots', 99);
    await expect(checkSnapshotQuota(INSTANCE)).rejects.toMatchObject({
      message: expect.stringContaining('99 of 100 manual DB snapshots; the rotation needs 2 more'),
    });
  });

  it('notes, without refusing, what it could not check and how many snapshots the rotation needs', async () => {
    rds
      .on(DescribeAccountAttributesCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(checkSnapshotQuota(CLUSTER)).resolves.toBe(
      'The manual cluster snapshot quota could not be checked (AccessDenied); the rotation needs a free manual cluster snapshot.',
    );
    await expect(checkSnapshotQuota(INSTANCE)).resolves.toBe(
      'The manual snapshot quota could not be checked (AccessDenied); the rotation needs 2 free manual snapshots.',
    );
  });
});
