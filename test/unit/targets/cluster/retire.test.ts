import { DeleteDBClusterCommand, DeleteDBInstanceCommand } from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterPlan } from '#domain/plan.js';
import { retireCluster } from '#targets/cluster/retire.js';

import {
  ASIDE,
  kms,
  newCluster,
  OURS,
  oldMember,
  READER,
  RENAME,
  RETIRED,
  rds,
  route53,
  SOURCE,
  sourceCluster,
  state,
  validation,
  verifiedRename,
  WRITER,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: retire', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('retire', () => {
    const verified = (cutover: ClusterPlan['cutover'] = RENAME) =>
      state(cutover, { validation, cutover: verifiedRename });

    it('deletes each old member first, and not the old cluster while they remain', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
        instances: [oldMember(WRITER, { TagList: RETIRED }), oldMember(READER, { TagList: RETIRED })],
      });
      rds.on(DeleteDBInstanceCommand).resolves({});

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 2);
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: WRITER,
        SkipFinalSnapshot: true,
      });
      expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: READER,
        SkipFinalSnapshot: true,
      });
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: false, outcome: 'deleted' });
      expect(result.status).toContain(`deleting members ${READER}, ${WRITER}`);
    });

    it('keeps an old member the cutover did not mark retired, and deletes nothing', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
        instances: [oldMember(WRITER)],
      });

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({ done: true, outcome: 'retained' });
      expect(result.reason).toContain(`${WRITER} does not carry the tags rekey:role=retired-source`);
    });

    it('then deletes the old cluster under its aside name, without a final snapshot', async () => {
      // Prepare
      world({
        clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped', TagList: RETIRED })],
      });
      rds.on(DeleteDBClusterCommand).resolves({});

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: ASIDE,
        SkipFinalSnapshot: true,
        DeleteAutomatedBackups: true,
      });
      expect(result).toMatchObject({ done: false, status: 'deleting' });
    });

    it('never deletes a member name that holds an instance of this rotation, nor the new cluster under the original name', async () => {
      // Prepare: the original name now holds the NEW cluster (rename cutover), a member name holds a tagged instance.
      world({
        clusters: [newCluster({ DBClusterIdentifier: SOURCE })],
        instances: [oldMember(WRITER, { TagList: OURS })],
      });

      // Act
      const result = await retireCluster(verified());

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toEqual({ done: true, outcome: 'deleted', status: 'deleted' });
    });

    it('keeps the old cluster and deletes nothing when the plan keeps it', async () => {
      // Prepare
      const current = verified();
      current.plan.decisions.deleteOldInstance = false;
      current.plan.decisions.keepOldInstanceReason = 'the input says oldInstance "keep".';
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' })] });

      // Act
      const result = await retireCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rds).not.toHaveReceivedCommand(DeleteDBClusterCommand);
      expect(result).toMatchObject({
        done: true,
        outcome: 'retained',
        reason: 'the input says oldInstance "keep".',
      });
    });
  });
});
