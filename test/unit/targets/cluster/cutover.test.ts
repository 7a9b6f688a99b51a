import { ModifyDBClusterCommand } from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
} from '@aws-sdk/client-route-53';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterCutoverResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { cutoverCluster } from '#targets/cluster/cutover.js';

import {
  ASIDE,
  CNAME,
  kms,
  NEW_CLUSTER,
  NEW_ENDPOINT,
  NEW_READER_ENDPOINT,
  newCluster,
  RENAME,
  rds,
  route53,
  SOURCE,
  SOURCE_ENDPOINT,
  SOURCE_READER_ENDPOINT,
  sourceCluster,
  state,
  validation,
  world,
} from '../../../support/cluster-steps.js';

describe('Aurora cluster: cutover', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    route53.reset();
  });

  describe('cutover', () => {
    /** The state after the Cutover's first call, which records the attempt and changes nothing. */
    const attempted = async (current: ClusterState): Promise<ClusterState> => {
      const first = await cutoverCluster(current);
      expect(first).toMatchObject({ done: false, attempted: true, poll: { waitSeconds: 1 } });
      expect(
        rds.calls().filter((call) => !/^Describe/.test((call.args[0] as object).constructor.name)),
      ).toEqual([]);
      expect(route53.calls()).toHaveLength(0);
      return { ...current, cutover: first };
    };

    const records = (writer: string, reader: string) => {
      route53.on(ListResourceRecordSetsCommand).callsFake(({ StartRecordName }) => ({
        ResourceRecordSets: [
          {
            Name: `${StartRecordName}.`,
            Type: 'CNAME',
            TTL: 60,
            ResourceRecords: [{ Value: StartRecordName === CNAME.recordName ? writer : reader }],
          },
        ],
      }));
    };

    it('points the writer record at the new writer endpoint and the reader record at the new reader endpoint', async () => {
      // Prepare
      records(SOURCE_ENDPOINT, SOURCE_READER_ENDPOINT);
      route53
        .on(ChangeResourceRecordSetsCommand)
        .resolvesOnce({ ChangeInfo: { Id: '/change/W', Status: 'PENDING', SubmittedAt: new Date() } })
        .resolvesOnce({ ChangeInfo: { Id: '/change/R', Status: 'PENDING', SubmittedAt: new Date() } });

      // Act
      const result = await cutoverCluster(await attempted(state(CNAME, { validation })));

      // Assess
      const changed = route53
        .commandCalls(ChangeResourceRecordSetsCommand)
        .map((c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet);
      expect(changed).toEqual([
        { Name: CNAME.recordName, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: NEW_ENDPOINT }] },
        {
          Name: 'orders-ro.db.example.internal',
          Type: 'CNAME',
          TTL: 60,
          ResourceRecords: [{ Value: NEW_READER_ENDPOINT }],
        },
      ]);
      expect(result).toMatchObject({
        done: false,
        verified: false,
        changeId: '/change/W',
        reader: { changeId: '/change/R' },
      });
    });

    it('is verified once both changes are INSYNC and both records read back, without changing them again', async () => {
      // Prepare
      records(NEW_ENDPOINT, NEW_READER_ENDPOINT);
      route53
        .on(GetChangeCommand)
        .resolves({ ChangeInfo: { Id: 'x', Status: 'INSYNC', SubmittedAt: new Date() } });
      const previous: ClusterCutoverResult = {
        type: 'cname',
        done: false,
        changeId: '/change/W',
        changeStatus: 'PENDING',
        previousValue: SOURCE_ENDPOINT,
        newValue: NEW_ENDPOINT,
        verified: false,
        reader: {
          recordName: 'orders-ro.db.example.internal',
          changeId: '/change/R',
          changeStatus: 'PENDING',
          verified: false,
          previousValue: SOURCE_READER_ENDPOINT,
          newValue: NEW_READER_ENDPOINT,
        },
      };

      // Act
      const result = await cutoverCluster(state(CNAME, { validation, cutover: previous }));

      // Assess
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
      expect(result).toMatchObject({
        done: true,
        verified: true,
        reader: { changeStatus: 'INSYNC', verified: true },
      });
    });

    it('refuses to overwrite a writer record someone pointed elsewhere during the rotation', async () => {
      // Prepare
      records('elsewhere.example.com', SOURCE_READER_ENDPOINT);

      // Act / Assess
      await expect(cutoverCluster(await attempted(state(CNAME, { validation })))).rejects.toMatchObject({
        name: 'CutoverFailedError',
        message: expect.stringContaining('points at elsewhere.example.com, neither at the source endpoint'),
      });
      expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    });

    it('renames the new cluster to the original identifier once the source is aside', async () => {
      // Prepare
      world({ clusters: [sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }), newCluster()] });
      rds.on(ModifyDBClusterCommand).resolves({});

      // Act
      const result = await cutoverCluster(
        await attempted(
          state(RENAME, {
            validation,
            freeze: { done: true, stoppedByRekey: true, renamedAside: true, status: 'stopped' },
          }),
        ),
      );

      // Assess
      expect(rds).toHaveReceivedCommandTimes(ModifyDBClusterCommand, 1);
      expect(rds).toHaveReceivedCommandWith(ModifyDBClusterCommand, {
        DBClusterIdentifier: NEW_CLUSTER,
        NewDBClusterIdentifier: SOURCE,
        ApplyImmediately: true,
      });
      expect(result).toMatchObject({
        done: false,
        verified: false,
        renamed: { sourceAside: true, newToOriginal: true },
      });
    });

    it('is verified when the new cluster answers under the original identifier and endpoint, renaming nothing', async () => {
      // Prepare
      world({
        clusters: [
          sourceCluster({ DBClusterIdentifier: ASIDE, Status: 'stopped' }),
          newCluster({ DBClusterIdentifier: SOURCE, Endpoint: SOURCE_ENDPOINT }),
        ],
      });

      // Act
      const result = await cutoverCluster(await attempted(state(RENAME, { validation })));

      // Assess
      expect(rds).not.toHaveReceivedCommand(ModifyDBClusterCommand);
      expect(result).toMatchObject({ done: true, verified: true, newValue: SOURCE_ENDPOINT });
      expect(result.note).toBeUndefined();
    });
  });
});
