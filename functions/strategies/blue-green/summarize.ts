import type { BlueGreenRotationOutput } from '#domain/output.js';
import type { RetireBlueResult } from '#domain/results.js';
import { type RotationState, required } from '#domain/state.js';
import { notesWithLockRelease } from '#features/lock/lock.js';
import { logger } from '#runtime/logger.js';
import { oldKeyOutput, requestOutput, strategyOutput } from '#targets/summary.js';

/**
 * The execution output of a successful Blue/Green rotation: the strategy and why, the deployment,
 * the green resources now in service (each with its key), what became of the old blue resources
 * and of the old key. Read from the state only: no AWS call.
 */
export const summarizeBlueGreen = async (state: RotationState): Promise<BlueGreenRotationOutput> => {
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const green = required(state, 'greenDeployment');
  const validation = required(state, 'greenValidation');
  const switched = required(state, 'switchover');
  const oldKey = required(state, 'oldKey');
  const retired = state.retireInstance as RetireBlueResult | undefined;
  const source = plan.source;

  const output: BlueGreenRotationOutput = {
    rotationId: plan.rotationId,
    strategy: strategyOutput(plan),
    kind: plan.kind,
    sourceIdentifier: plan.target.identifier,
    endpoint: { address: source.endpointAddress, port: source.port },
    blueGreenDeployment: {
      identifier: green.deploymentId,
      name: green.deploymentName,
      deleted: retired?.deploymentDeleted === true,
    },
    // The switchover gave the green resources the blue names: report them as clients see them now.
    greenResources: validation.resources.map((r) => ({
      kind: r.kind,
      identifier: r.sourceArn.split(':').pop() ?? r.identifier,
      arn: r.sourceArn,
      kmsKeyArn: r.kmsKeyArn,
    })),
    oldResources: { deleted: retired?.deleted ?? [], retained: retired?.retained ?? [] },
    oldKeyArn: source.kmsKeyArn,
    newKeyArn: newKey.keyArn,
    oldInstance: retired?.outcome === 'deleted' ? 'deleted' : 'retained',
    oldKey: oldKeyOutput(oldKey),
    switchover: {
      timeoutSeconds: switched.switchoverTimeoutSeconds,
      completedAt: switched.completedAt ?? null,
    },
    cutover:
      plan.cutover.type === 'cname'
        ? { type: 'cname', recordName: plan.cutover.recordName, value: plan.cutover.previousValue }
        : { type: 'none' },
    notes: notesWithLockRelease(plan.decisions.notes, state.lockReleaseError),
    ...requestOutput(plan),
  };
  logger.info('rotation complete', { output });
  return output;
};
