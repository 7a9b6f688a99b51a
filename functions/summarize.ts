import { byKind } from './commons/dispatch.js';
import { makeHandler } from './commons/handler.js';
import { logger } from './commons/logger.js';
import {
  type BlueGreenRotationOutput,
  type InstanceState,
  type RotationOutput,
  type RotationState,
  required,
} from './commons/types.js';
import { summarizeBlueGreen } from './summarize-blue-green.js';

/**
 * The execution output: every resource, key, time and decision of a successful rotation, in
 * one object a person (or a compliance reviewer, months later) can read without the history.
 */
const summarizeOfInstance = async (state: InstanceState): Promise<RotationOutput> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const validation = required(state, 'validation');
  const oldKey = required(state, 'oldKey');
  const retired = state.retireInstance;
  const configure = state.configure;

  const output: RotationOutput = {
    rotationId: plan.rotationId,
    strategy: { requested: plan.strategy.requested, used: plan.strategy.used, reason: plan.strategy.reason },
    sourceDbInstanceIdentifier: plan.source.dbInstanceIdentifier,
    newDbInstanceIdentifier: validation.dbInstanceIdentifier,
    newEndpoint: { address: validation.endpointAddress, port: validation.port },
    oldKeyArn: plan.source.kmsKeyArn,
    newKeyArn: newKey.keyArn,
    snapshotIdentifiers: {
      source: plan.names.sourceSnapshotIdentifier,
      reencrypted: plan.names.copySnapshotIdentifier,
    },
    oldInstance: retired?.outcome === 'deleted' ? 'deleted' : 'retained',
    oldKey:
      oldKey.state === 'PendingDeletion'
        ? { state: 'PendingDeletion', deletionDate: oldKey.deletionDate }
        : { state: 'Retained', reason: oldKey.reason },
    cutover:
      state.cutover && plan.cutover.type === 'cname'
        ? {
            type: 'cname',
            recordName: plan.cutover.recordName,
            previousValue: state.cutover.previousValue,
            newValue: state.cutover.newValue,
          }
        : { type: 'none' },
    writeFreeze: plan.request.writeFreeze,
    configurationChangesAfterRestore: configure?.applied ?? [],
    notes: state.lockReleaseError
      ? [
          ...plan.decisions.notes,
          `The rotation lock could not be released (${state.lockReleaseError.Error}); it expires by itself within 5 days, or delete it from the lock table.`,
        ]
      : plan.decisions.notes,
    reason: plan.request.reason,
    requestedBy: plan.request.requestedBy ?? null,
    startedAt: plan.startedAt,
    finishedAt: new Date().toISOString(),
  };
  logger.info('rotation complete', { output });
  return output;
};

const summarizeByKind = byKind('Summarize', { instance: summarizeOfInstance });

export const summarize = (state: RotationState): Promise<RotationOutput | BlueGreenRotationOutput> =>
  state.plan.strategy?.used === 'blue-green' ? summarizeBlueGreen(state) : summarizeByKind(state);

export const handler = makeHandler(summarize);
