import { beforeEach, describe, expect, it } from 'vitest';
import { summarizeCluster } from '#targets/cluster/summarize.js';

import {
  ASIDE,
  CNAME,
  kms,
  NEW_CLUSTER,
  NEW_ENDPOINT,
  NEW_KEY,
  NEW_READER,
  NEW_READER_ENDPOINT,
  NEW_WRITER,
  OLD_KEY,
  READER,
  RENAME,
  RID,
  rds,
  route53,
  SOURCE,
  SOURCE_ENDPOINT,
  SOURCE_READER_ENDPOINT,
  SOURCE_SNAPSHOT,
  state,
  validation,
  verifiedRename,
  WRITER,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: summarize', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('summarize', () => {
    it('reports a rename cutover under the original identifier and endpoint, with both keys and the old cluster deleted', async () => {
      // Prepare
      const current = state(RENAME, {
        validation,
        cutover: verifiedRename,
        retireInstance: { done: true, outcome: 'deleted', status: 'deleted' },
        oldKey: {
          state: 'PendingDeletion',
          keyArn: OLD_KEY,
          deletionDate: '2026-01-08T00:00:00.000Z',
          pendingWindowDays: 7,
        },
        configure: {
          done: true,
          applied: ['cluster.preferredMaintenanceWindow'],
          rebooted: false,
          status: 'available',
        },
      });

      // Act
      const output = await summarizeCluster(current);

      // Assess
      expect(output).toMatchObject({
        kind: 'cluster',
        rotationId: RID,
        sourceDbClusterIdentifier: SOURCE,
        newDbClusterIdentifier: SOURCE,
        newEndpoint: { address: SOURCE_ENDPOINT, port: 5432 },
        newReaderEndpoint: null,
        members: [
          { source: WRITER, new: NEW_WRITER, writer: true },
          { source: READER, new: NEW_READER, writer: false },
        ],
        oldKeyArn: OLD_KEY,
        newKeyArn: NEW_KEY,
        // No copy: the new cluster was restored from the source snapshot under the new key.
        snapshotIdentifiers: { source: SOURCE_SNAPSHOT, reencrypted: null, restoredFrom: SOURCE_SNAPSHOT },
        oldCluster: 'deleted',
        oldKey: { state: 'PendingDeletion', deletionDate: '2026-01-08T00:00:00.000Z' },
        cutover: {
          type: 'rename',
          identifier: SOURCE,
          endpoint: SOURCE_ENDPOINT,
          oldClusterRenamedTo: ASIDE,
        },
        configurationChangesAfterRestore: ['cluster.preferredMaintenanceWindow'],
        reason: 'annual PCI key change',
        requestedBy: 'platform-team',
      });
    });

    it('reports a cname cutover with its reader record and a retained old cluster and key', async () => {
      // Prepare
      const current = state(CNAME, {
        validation,
        cutover: {
          type: 'cname',
          done: true,
          changeId: '/change/W',
          changeStatus: 'INSYNC',
          previousValue: SOURCE_ENDPOINT,
          newValue: NEW_ENDPOINT,
          verified: true,
          reader: {
            recordName: 'orders-ro.db.example.internal',
            changeId: '/change/R',
            changeStatus: 'INSYNC',
            verified: true,
            previousValue: SOURCE_READER_ENDPOINT,
            newValue: NEW_READER_ENDPOINT,
          },
        },
        retireInstance: { done: true, outcome: 'retained', status: 'stopped', reason: 'kept' },
        oldKey: {
          state: 'Retained',
          keyArn: OLD_KEY,
          reason: 'a manual snapshot is under it',
          encryptedResources: [],
        },
      });

      // Act
      const output = await summarizeCluster(current);

      // Assess
      expect(output).toMatchObject({
        newDbClusterIdentifier: NEW_CLUSTER,
        newEndpoint: { address: NEW_ENDPOINT },
        newReaderEndpoint: NEW_READER_ENDPOINT,
        oldCluster: 'retained',
        oldKey: { state: 'Retained', reason: 'a manual snapshot is under it' },
        cutover: {
          type: 'cname',
          recordName: CNAME.recordName,
          previousValue: SOURCE_ENDPOINT,
          newValue: NEW_ENDPOINT,
          reader: {
            recordName: 'orders-ro.db.example.internal',
            previousValue: SOURCE_READER_ENDPOINT,
            newValue: NEW_READER_ENDPOINT,
          },
        },
      });
    });
  });
});
