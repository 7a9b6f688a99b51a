import {
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { beforeEach, describe, expect, it } from 'vitest';
import { configureCluster } from '#targets/cluster/configure.js';
import { READER_CONFIG, WRITER_CONFIG } from '../../../support/cluster-fixtures.js';

import {
  kms,
  NEW_CLUSTER,
  NEW_READER,
  NEW_WRITER,
  newCluster,
  newMember,
  rds,
  route53,
  state,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: configure', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('configure', () => {
    it('applies the maintenance window the restore cannot take with one ModifyDBCluster, before any member', async () => {
      // Prepare
      world({
        clusters: [newCluster({ PreferredMaintenanceWindow: 'mon:00:00-mon:00:30' })],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceClass: 'db.r6g.large' }),
        ],
      });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await configureCluster(state({ type: 'none' }));

      // Assess
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
        ApplyImmediately: true,
      });
      expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
      // The checks aim at the modify's expected end (600 s, in two steps), from this call.
      expect(result).toMatchObject({
        done: false,
        applied: ['cluster.preferredMaintenanceWindow'],
        poll: { attempt: 1, waitSeconds: 300, expected: { seconds: 600 } },
      });
    });

    it('does not apply a cluster field twice, and then modifies the member that differs', async () => {
      // Prepare
      const current = state(
        { type: 'none' },
        {
          configure: {
            done: false,
            applied: ['cluster.preferredMaintenanceWindow'],
            rebooted: false,
            status: 'modifying',
          },
        },
      );
      world({
        clusters: [newCluster({ PreferredMaintenanceWindow: 'mon:00:00-mon:00:30' })],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceClass: 'db.r6g.large' }),
        ],
      });
      rds.on(ModifyDBInstanceCommand).resolves({});

      // Act
      const result = await configureCluster(current);

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(rds).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
        DBInstanceIdentifier: NEW_READER,
        DBInstanceClass: 'db.r6g.xlarge',
        ApplyImmediately: true,
      });
      expect(result.applied).toEqual(['cluster.preferredMaintenanceWindow', `${NEW_READER}.dbInstanceClass`]);
    });

    it('reboots a member whose parameter group is pending-reboot once, then is done', async () => {
      // Prepare
      const pending = newMember(NEW_WRITER, WRITER_CONFIG, {
        DBParameterGroups: [
          { DBParameterGroupName: 'orders-aurora-instance-pg16', ParameterApplyStatus: 'pending-reboot' },
        ],
      });
      world({ clusters: [newCluster()], instances: [pending, newMember(NEW_READER, READER_CONFIG)] });
      rds.on(RebootDBInstanceCommand).resolves({});

      // Act
      const first = await configureCluster(state({ type: 'none' }));
      const second = await configureCluster(state({ type: 'none' }, { configure: first }));

      // Assess
      expect(rds).toHaveReceivedCommandTimes(RebootDBInstanceCommand, 1);
      expect(rds).toHaveReceivedCommandWith(RebootDBInstanceCommand, { DBInstanceIdentifier: NEW_WRITER });
      expect(first).toMatchObject({
        done: false,
        rebootedMembers: [NEW_WRITER],
        poll: { waitSeconds: 120, expected: { seconds: 120 } },
      });
      expect(second).toMatchObject({ done: true, rebooted: true, status: 'available' });
    });

    it('ends the wait with ResourceFailedError when a member runs out of storage', async () => {
      // Prepare
      world({
        clusters: [newCluster()],
        instances: [
          newMember(NEW_WRITER, WRITER_CONFIG),
          newMember(NEW_READER, READER_CONFIG, { DBInstanceStatus: 'storage-full' }),
        ],
      });

      // Act / Assess
      await expect(configureCluster(state({ type: 'none' }))).rejects.toMatchObject({
        name: 'ResourceFailedError',
        message: expect.stringContaining(`${NEW_READER} is in status "storage-full"`),
      });
      expect(rds).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
    });
  });
});
