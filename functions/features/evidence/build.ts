import type { RotationPlan } from '#domain/plan.js';
import {
  type BuildEvidenceOptions,
  consoleUrlOf,
  errorAndCause,
  parseExecutionArn,
  plainObject,
  rotationIdOf,
  statusOf,
  stringOrNull,
  targetOf,
} from './context.js';
import { cutoverOf, stoppedNote, validationOf } from './facts.js';
import { oldKeyEvidence, oldKeyOutcomeOf } from './key-lifecycle.js';
import { deriveResources } from './resources.js';
import { EVIDENCE_SCHEMA_VERSION, type EvidenceRecord } from './schema.js';
import { deriveSteps } from './steps.js';

/**
 * The evidence record, built from what the execution already knows (its state), its history
 * events, what CloudTrail said and the keys as KMS describes them now. Pure: no AWS call, no clock
 * (the caller passes `now`), so every field can be tested from fixtures.
 */

export const buildEvidence = (options: BuildEvidenceOptions): EvidenceRecord => {
  const { state, execution, history, cloudTrail, keys, now, stopped } = options;
  const parsed = parseExecutionArn(execution.Id);
  const plan = state.plan as RotationPlan | undefined;
  const status = stopped?.status ?? statusOf(state);
  const { error, cause } = stopped ? { error: stopped.error, cause: stopped.cause } : errorAndCause(state);
  const steps = deriveSteps(history.events);
  const input = plainObject(state.input);
  const notes: string[] = [...(plan?.decisions?.notes ?? [])];
  if (stopped) notes.push(stoppedNote(state, stopped));
  if (status === 'SKIPPED') {
    notes.push(state.start?.skipped ?? state.lock?.skipped ?? 'Duplicate start: nothing was done.');
  }
  if (state.lockReleaseError) {
    notes.push(
      `The rotation lock could not be released (${state.lockReleaseError.Error}); it expires by itself.`,
    );
  }
  if (history.source === 'unavailable') {
    notes.push('The execution history could not be read: steps and history events are missing.');
  }
  if (history.source === 'local-runner') {
    notes.push(
      'Run locally (aws-local-stepfunctions): history events are the local runner’s, not Step Functions’.',
    );
  }
  if (history.truncated) notes.push('The execution history was truncated.');
  notes.push(...cloudTrail.notes);
  if (cloudTrail.available) {
    notes.push(
      'CloudTrail delivers events within about 5 minutes of the call: calls of the last steps may be missing from cloudTrail.events; look them up by the resource names in cloudTrail.lookedUp (90 days of event history, longer in a trail).',
    );
  }

  const record: EvidenceRecord = {
    schemaVersion: EVIDENCE_SCHEMA_VERSION,
    rotationId: rotationIdOf(state, execution.Id),
    generatedAt: now.toISOString(),
    execution: {
      arn: execution.Id,
      name: execution.Name ?? parsed?.name ?? execution.Id,
      stateMachineArn: parsed
        ? `arn:${parsed.partition}:states:${parsed.region}:${parsed.accountId}:stateMachine:${parsed.stateMachineName}`
        : null,
      consoleUrl: history.source === 'local-runner' ? null : consoleUrlOf(execution.Id),
      startedAt: execution.StartTime,
      finishedAt: stopped?.stoppedAt ?? now.toISOString(),
      status,
      error,
      cause,
    },
    startedBy: {
      principal: cloudTrail.startedBy?.principal ?? null,
      source: cloudTrail.startedBy ? 'cloudtrail' : 'unknown',
      requestedBy: stringOrNull(input?.requestedBy),
      sourceIpAddress: cloudTrail.startedBy?.sourceIpAddress ?? null,
      userAgent: cloudTrail.startedBy?.userAgent ?? null,
    },
    input: state.input ?? null,
    reason: stringOrNull(input?.reason),
    target: targetOf(state, parsed),
    strategy: plan?.strategy
      ? { requested: plan.strategy.requested, used: plan.strategy.used, reason: plan.strategy.reason }
      : null,
    keys: { old: oldKeyEvidence(state, keys.old), new: keys.new },
    resources: deriveResources(state, steps),
    validation: validationOf(state),
    cutover: cutoverOf(state),
    oldKeyOutcome: oldKeyOutcomeOf(state, status),
    steps,
    history: { source: history.source, events: history.events, truncated: history.truncated },
    cloudTrail: {
      available: cloudTrail.available,
      reason: cloudTrail.reason,
      lookedUp: cloudTrail.lookedUp,
      events: cloudTrail.events,
    },
    rollback: state.rollback
      ? { undone: state.rollback.undone ?? [], leftBehind: state.rollback.leftBehind ?? [] }
      : null,
    notes,
  };
  return record;
};
