import { decisionsOf } from '#domain/decisions.js';
import type { ClusterRotationOutput } from '#domain/output.js';
import { type ClusterState, required } from '#domain/state.js';
import { lockReleaseNote } from '#features/lock/lock.js';
import { logger } from '#runtime/logger.js';
import { oldKeyOutput, requestOutput, strategyOutput } from '#targets/summary.js';
import { clusterNames } from './lookups.js';

/** The execution output of a cluster rotation: the instance output's shape, for a cluster and its members. */
export const summarizeCluster = async (state: ClusterState): Promise<ClusterRotationOutput> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const validation = required(state, 'validation');
  const oldKey = required(state, 'oldKey');
  const names = clusterNames(plan);
  const cut = state.cutover;
  const renamed = plan.cutover.type === 'rename' && cut?.verified === true;
  const notes = [...plan.decisions.notes];
  if (cut?.note) notes.push(cut.note);
  if (state.lockReleaseError) notes.push(lockReleaseNote(state.lockReleaseError));
  const output: ClusterRotationOutput = {
    kind: 'cluster',
    rotationId: plan.rotationId,
    strategy: strategyOutput(plan),
    sourceDbClusterIdentifier: plan.source.dbClusterIdentifier,
    newDbClusterIdentifier: renamed ? plan.source.dbClusterIdentifier : validation.dbInstanceIdentifier,
    newEndpoint: {
      address: renamed && cut ? cut.newValue : validation.endpointAddress,
      port: validation.port,
    },
    newReaderEndpoint: renamed ? null : (validation.readerEndpointAddress ?? null),
    members: (validation.members ?? []).map((m) => ({
      source: m.sourceDbInstanceIdentifier,
      new: m.dbInstanceIdentifier,
      writer: m.isWriter,
    })),
    oldKeyArn: plan.source.kmsKeyArn,
    newKeyArn: newKey.keyArn,
    // No copy: the restore re-encrypted the source snapshot under the new key.
    snapshotIdentifiers: {
      source: plan.names.sourceSnapshotIdentifier,
      reencrypted: null,
      restoredFrom: state.restore?.restoredFrom?.snapshotIdentifier ?? plan.names.sourceSnapshotIdentifier,
    },
    oldCluster: state.retireInstance?.outcome === 'deleted' ? 'deleted' : 'retained',
    oldKey: oldKeyOutput(oldKey),
    cutover:
      cut && plan.cutover.type === 'cname'
        ? {
            type: 'cname',
            recordName: plan.cutover.recordName,
            previousValue: cut.previousValue,
            newValue: cut.newValue,
            reader: cut.reader
              ? {
                  recordName: cut.reader.recordName,
                  previousValue: cut.reader.previousValue,
                  newValue: cut.reader.newValue,
                }
              : null,
          }
        : cut && plan.cutover.type === 'rename'
          ? {
              type: 'rename',
              identifier: plan.source.dbClusterIdentifier,
              endpoint: cut.newValue,
              oldClusterRenamedTo: names.asideDbClusterIdentifier,
            }
          : { type: 'none' },
    writeFreeze: decisionsOf(plan).writeFreeze.action === 'stop-source' ? 'stop' : 'none',
    configurationChangesAfterRestore: state.configure?.applied ?? [],
    notes,
    ...requestOutput(plan),
  };
  logger.info('cluster rotation complete', { output });
  return output;
};
