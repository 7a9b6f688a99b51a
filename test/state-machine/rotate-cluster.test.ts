import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import {
  DeleteDBClusterSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
} from '@aws-sdk/client-rds';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { captureClusterConfig, captureMemberConfig, diffFields } from '#domain/cluster-config.js';
import { ValidationFailedError } from '#domain/errors.js';
import type { ClusterRotationOutput } from '#domain/output.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import { findCluster } from '#targets/cluster/lookups.js';
import { readEvidence } from '../../cli/evidence-bucket.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { renderMarkdown } from '../../cli/report/render-markdown.js';
import { type RunOptions, runStateMachine } from '../../cli/runner.js';
import { CLUSTER_SAMPLE, type SeededClusterSample, seedClusterSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import { injectFaults, scopeTasks } from '../support/faults.js';

const run = (options: Omit<RunOptions, 'fastWaits' | 'lockTable'>) =>
  runStateMachine({ fastWaits: true, lockTable: { name: LOCAL_LOCK_TABLE, create: true }, ...options });

const recordValue = async (sample: SeededClusterSample, recordName: string): Promise<string | undefined> => {
  const { ResourceRecordSets } = await getClients().route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: sample.hostedZoneId,
      StartRecordName: recordName,
      StartRecordType: 'CNAME',
      MaxItems: 1,
    }),
  );
  return ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value;
};

const keyState = async (keyIdOrArn: string) => {
  const KeyId = keyIdOrArn.split('/').pop() ?? keyIdOrArn;
  const { KeyMetadata } = await getClients().kms.send(new DescribeKeyCommand({ KeyId }));
  return KeyMetadata?.KeyState;
};

const rekeySnapshots = async () => {
  const { DBClusterSnapshots } = await getClients().rds.send(
    new DescribeDBClusterSnapshotsCommand({ SnapshotType: 'manual' }),
  );
  return (DBClusterSnapshots ?? []).filter((s) => s.DBClusterSnapshotIdentifier?.startsWith('rekey-'));
};

/** The source as it was before the rotation: cluster and members. */
const captureSource = async () => {
  const { rds } = getClients();
  const cluster = await findCluster(rds, CLUSTER_SAMPLE.dbClusterIdentifier);
  const members = new Map<string, ReturnType<typeof captureMemberConfig>>();
  for (const member of CLUSTER_SAMPLE.members) {
    members.set(member.id, captureMemberConfig((await findInstance(rds, member.id)) ?? {}));
  }
  return { config: captureClusterConfig(cluster ?? {}), members };
};

/**
 * moto 5.2.1 keeps a deleted cluster's automated snapshot (`rds:<cluster>-<date>`), which AWS
 * deletes with the cluster (DeleteDBCluster's DeleteAutomatedBackups defaults to true). Before
 * RetireKey lists what is under the old key, remove it as AWS would have.
 */
const asAwsDeletesAutomatedBackups =
  (oldKeyArn: string): RunOptions['wrapTask'] =>
  (stateName, invoke) =>
    stateName === 'RetireKey'
      ? async (input) => {
          const { rds } = getClients();
          const { DBClusterSnapshots } = await rds.send(
            new DescribeDBClusterSnapshotsCommand({ SnapshotType: 'automated' }),
          );
          // The source cluster (whatever its name by now) is gone; its automated snapshots go with it.
          const sourceGone = (await findCluster(rds, 'orders-aurora'))?.KmsKeyId !== oldKeyArn;
          for (const snapshot of DBClusterSnapshots ?? []) {
            if (sourceGone && snapshot.KmsKeyId === oldKeyArn) {
              await rds.send(
                new DeleteDBClusterSnapshotCommand({
                  DBClusterSnapshotIdentifier: snapshot.DBClusterSnapshotIdentifier,
                }),
              );
            }
          }
          return invoke(input);
        }
      : invoke;

describe('the rotate-instance state machine on an Aurora cluster (emulator)', () => {
  useEmulator();

  it('rotates the Aurora sample end to end with no snapshot copy, moving the writer and reader CNAMEs', async () => {
    // Prepare: record every AWS call the steps make, and the rotation's cluster snapshots after each step.
    const sample = await seedClusterSample();
    const before = await captureSource();
    const recorder = injectFaults([]);
    const snapshotsSeen = new Map<string, string | undefined>();
    const watchSnapshots = (invoke: (input: unknown) => Promise<unknown>) => async (input: unknown) => {
      try {
        return await invoke(input);
      } finally {
        for (const s of await rekeySnapshots())
          snapshotsSeen.set(s.DBClusterSnapshotIdentifier ?? '', s.KmsKeyId);
      }
    };

    // Act
    const result = await run({
      input: executionInput('aurora-cluster'),
      executionName: 'cluster-happy',
      wrapTask: scopeTasks(
        (stateName, invoke) =>
          asAwsDeletesAutomatedBackups(sample.oldKeyArn)?.(stateName, watchSnapshots(invoke)) ?? invoke,
      ),
    });
    recorder.remove();

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: ClusterRotationOutput }).output;
    // One cluster snapshot, the source's under the old key, restored from directly: no copy at any point.
    expect(recorder.calls.map((c) => c.command)).not.toContain('CopyDBClusterSnapshot');
    expect(recorder.calls.filter((c) => c.command === 'CreateDBClusterSnapshot')).toEqual([
      { command: 'CreateDBClusterSnapshot', task: 'SnapshotSource' },
    ]);
    expect(recorder.calls.filter((c) => c.command === 'RestoreDBClusterFromSnapshot')).toEqual([
      { command: 'RestoreDBClusterFromSnapshot', task: 'RestoreInstance' },
    ]);
    expect([...snapshotsSeen]).toEqual([[output.snapshotIdentifiers.source, sample.oldKeyArn]]);
    expect(output.snapshotIdentifiers).toEqual({
      source: `rekey-orders-aurora-${output.rotationId}-source`,
      reencrypted: null,
      restoredFrom: output.snapshotIdentifiers.source,
    });
    expect(result.timings.map((t) => t.state)).not.toContain('CopySnapshot');
    expect(output).toMatchObject({
      kind: 'cluster',
      sourceDbClusterIdentifier: 'orders-aurora',
      oldKeyArn: sample.oldKeyArn,
      oldCluster: 'deleted',
      oldKey: { state: 'PendingDeletion' },
    });
    const { rds } = getClients();
    const newCluster = await findCluster(rds, output.newDbClusterIdentifier);
    expect(newCluster?.KmsKeyId).toBe(output.newKeyArn);
    expect(newCluster?.Status).toBe('available');
    // Clients use it now: marked serving, which no role of the stack may delete.
    expect(newCluster?.TagList).toContainEqual({ Key: 'rekey:role', Value: 'serving' });
    expect(diffFields(before.config, captureClusterConfig(newCluster ?? {}))).toEqual([]);
    expect(output.members).toHaveLength(2);
    for (const member of output.members) {
      const db = await findInstance(rds, member.new);
      expect(db?.DBClusterIdentifier).toBe(output.newDbClusterIdentifier);
      expect(db?.KmsKeyId).toBe(output.newKeyArn);
      expect(db?.TagList).toContainEqual({ Key: 'rekey:role', Value: 'serving' });
      expect(
        diffFields(
          before.members.get(member.source) ?? captureMemberConfig({}),
          captureMemberConfig(db ?? {}),
        ),
      ).toEqual([]);
    }
    expect(newCluster?.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier).toBe(
      output.members.find((m) => m.source === 'orders-aurora-1')?.new,
    );
    expect(await recordValue(sample, sample.recordName)).toBe(newCluster?.Endpoint);
    expect(await recordValue(sample, sample.readerRecordName)).toBe(newCluster?.ReaderEndpoint);
    expect(await findCluster(rds, 'orders-aurora')).toBeNull();
    for (const member of sample.members) expect(await findInstance(rds, member)).toBeNull();
    expect(await keyState(sample.oldKeyArn)).toBe('PendingDeletion');
    // The source cluster snapshot went with the old key; there was no copy to keep.
    expect(await rekeySnapshots()).toEqual([]);
    // The record and the report show the shorter path.
    const record = JSON.parse(
      await readEvidence(result.evidence?.bucket ?? '', result.evidence?.key ?? ''),
    ) as EvidenceRecord;
    expect(record.reencryption).toEqual({
      method: 'restore',
      restoredFrom: output.snapshotIdentifiers.source,
      copySnapshotIdentifier: null,
      detail: expect.stringContaining('no re-encrypting copy'),
    });
    expect(
      record.resources.filter((r) => r.kind === 'db-cluster-snapshot').map((r) => [r.identifier, r.action]),
    ).toEqual([
      [output.snapshotIdentifiers.source, 'created'],
      [output.snapshotIdentifiers.source, 'deleted'],
    ]);
    expect(record.steps.map((step) => step.name)).not.toContain('CopySnapshot');
    const report = renderMarkdown(record);
    expect(report).toContain(
      `restored directly from the source snapshot ${output.snapshotIdentifiers.source} under the new key; no re-encrypting copy`,
    );
    expect(report).not.toContain('-reencrypted');
  });

  it('gives the new cluster the original identifier with a rename cutover and retires the old one', async () => {
    // Prepare
    const sample = await seedClusterSample();
    const input = { ...executionInput('aurora-cluster'), cutover: { type: 'rename' } };

    // Act
    const result = await run({
      input,
      executionName: 'cluster-rename',
      wrapTask: asAwsDeletesAutomatedBackups(sample.oldKeyArn),
    });

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED' });
    const output = (result as { output: ClusterRotationOutput }).output;
    expect(output.cutover).toMatchObject({ type: 'rename', identifier: 'orders-aurora' });
    const { rds } = getClients();
    const cluster = await findCluster(rds, 'orders-aurora');
    expect(cluster?.KmsKeyId).toBe(output.newKeyArn);
    expect(cluster?.Endpoint?.startsWith('orders-aurora.cluster-')).toBe(true);
    expect(output.newEndpoint.address).toBe(cluster?.Endpoint);
    const rid = output.rotationId;
    expect(await findCluster(rds, `orders-aurora-old-${rid}`)).toBeNull();
    expect(await findCluster(rds, `orders-aurora-${rid}`)).toBeNull();
    for (const member of sample.members) expect(await findInstance(rds, member)).toBeNull();
    for (const member of output.members)
      expect((await findInstance(rds, member.new))?.KmsKeyId).toBe(output.newKeyArn);
    expect(await keyState(sample.oldKeyArn)).toBe('PendingDeletion');
  });

  it('undoes everything when validation fails: new cluster, members and snapshots deleted, source started under its name', async () => {
    // Prepare
    const sample = await seedClusterSample();
    const input = { ...executionInput('aurora-cluster'), cutover: { type: 'rename' } };
    let sourceDuringValidation: string | undefined;

    // Act
    const result = await run({
      input,
      executionName: 'cluster-validation-fails',
      wrapTask: (stateName, invoke) =>
        stateName === 'ValidateInstance'
          ? async () => {
              const { rds } = getClients();
              sourceDuringValidation = (await findCluster(rds, 'orders-aurora')) ? 'original' : 'aside';
              throw new ValidationFailedError('The new DB cluster is not fit: its parameter group differs.');
            }
          : invoke,
    });

    // Assess
    expect(sourceDuringValidation).toBe('aside');
    expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationFailedError' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('its parameter group differs');
    expect(cause).toMatch(/renamed the source back from orders-aurora-old-rk\w+ to orders-aurora/);
    expect(cause).toMatch(/deleted the new DB cluster orders-aurora-rk\w+/);
    // The one cluster snapshot the rotation took, restored from directly: no copy to remove.
    expect(cause).toMatch(/deleted the DB cluster snapshot rekey-orders-aurora-rk\w+-source/);
    expect(cause).not.toContain('reencrypted');
    expect(cause).toContain('was not touched');
    const { rds } = getClients();
    const source = await findCluster(rds, 'orders-aurora');
    expect(source).toMatchObject({
      Status: 'available',
      DeletionProtection: true,
      KmsKeyId: sample.oldKeyArn,
    });
    expect(source?.Endpoint).toBe(sample.endpointAddress);
    for (const member of sample.members)
      expect((await findInstance(rds, member))?.DBInstanceStatus).toBe('available');
    const { DBClusters } = await rds.send(new DescribeDBClustersCommand({}));
    expect(DBClusters?.map((c) => c.DBClusterIdentifier)).toEqual(['orders-aurora']);
    for (const member of CLUSTER_SAMPLE.members) {
      expect(await findInstance(rds, `${member.id}-${/orders-aurora-(rk\w+)/.exec(cause)?.[1]}`)).toBeNull();
    }
    expect(await rekeySnapshots()).toEqual([]);
    expect(await keyState(sample.oldKeyArn)).toBe('Enabled');
    expect(await recordValue(sample, sample.recordName)).toBe(sample.endpointAddress);
  });
});
