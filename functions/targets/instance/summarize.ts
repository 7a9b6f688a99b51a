import { decisionsOf } from '#domain/decisions.js';
import type { RotationOutput } from '#domain/output.js';
import { type InstanceState, required } from '#domain/state.js';
import { notesWithLockRelease } from '#features/lock/lock.js';
import { logger } from '#runtime/logger.js';
import { oldKeyOutput, requestOutput, strategyOutput } from '#targets/summary.js';

/**
 * The execution output: every resource, key, time and decision of a successful rotation, in
 * one object a person (or a compliance reviewer, months later) can read without the history.
 */
export const summarizeInstance = async (state: InstanceState): Promise<RotationOutput> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const validation = required(state, 'validation');
  const oldKey = required(state, 'oldKey');
  const retired = state.retireInstance;
  const configure = state.configure;
  const renamed = state.cutover?.type === 'rename' ? state.cutover : undefined;

  const output: RotationOutput = {
    rotationId: plan.rotationId,
    strategy: strategyOutput(plan),
    sourceDbInstanceIdentifier: plan.source.dbInstanceIdentifier,
    // A rename cutover gave the new instance the source's identifier and endpoint.
    newDbInstanceIdentifier: renamed ? renamed.newIdentifier : validation.dbInstanceIdentifier,
    newEndpoint: { address: renamed ? renamed.newValue : validation.endpointAddress, port: validation.port },
    oldKeyArn: plan.source.kmsKeyArn,
    newKeyArn: newKey.keyArn,
    snapshotIdentifiers: {
      source: plan.names.sourceSnapshotIdentifier,
      reencrypted: plan.names.copySnapshotIdentifier,
    },
    oldInstance: retired?.outcome === 'deleted' ? 'deleted' : 'retained',
    oldKey: oldKeyOutput(oldKey),
    cutover: cutoverOutput(state),
    writeFreeze: decisionsOf(plan).writeFreeze.action === 'stop-source' ? 'stop' : 'none',
    configurationChangesAfterRestore: configure?.applied ?? [],
    notes: notesWithLockRelease(plan.decisions.notes, state.lockReleaseError),
    ...requestOutput(plan),
  };
  logger.info('rotation complete', { output });
  return output;
};

const cutoverOutput = (state: InstanceState): RotationOutput['cutover'] => {
  const { plan, cutover } = state;
  if (cutover?.type === 'cname' && plan.cutover.type === 'cname') {
    return {
      type: 'cname',
      recordName: plan.cutover.recordName,
      previousValue: cutover.previousValue,
      newValue: cutover.newValue,
    };
  }
  if (cutover?.type === 'rename') {
    return {
      type: 'rename',
      identifier: cutover.newIdentifier,
      endpoint: cutover.newValue,
      oldInstanceRenamedTo: cutover.oldIdentifier,
    };
  }
  return { type: 'none' };
};
