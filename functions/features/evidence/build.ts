import type { RotationPlan } from '#domain/plan.js';
import { approvalOf } from './approval.js';
import {
  type BuildEvidenceOptions,
  consoleUrlOf,
  errorAndCause,
  isRefusedStart,
  parseExecutionArn,
  plainObject,
  rotationIdOf,
  statusOf,
  stringOrNull,
  targetOf,
} from './context.js';
import { cutoverOf, stoppedNote, validationOf } from './facts.js';
import { oldKeyEvidence, oldKeyOutcomeOf } from './key-lifecycle.js';
import { reencryptionOf } from './new-key-claims.js';
import { deriveResources } from './resources.js';
import { EVIDENCE_SCHEMA_VERSION, type EvidenceRecord } from './schema.js';
import { deriveSteps } from './steps.js';

/**
 * The evidence record, built from what the execution already knows (its state), its history
 * events, what CloudTrail said and the keys as KMS describes them now. Pure: no AWS call, no clock
 * (the caller passes `now`), so every field can be tested from fixtures.
 */

/** Who started it: CloudTrail on AWS; the caller identity of a local run against AWS; none on an emulator. */
const startedByOf = (
  options: BuildEvidenceOptions,
  requestedBy: string | null,
): { startedBy: EvidenceRecord['startedBy']; note: string | null } => {
  const { cloudTrail, localRun } = options;
  const base = { requestedBy, sourceIpAddress: null, userAgent: null };
  if (localRun?.endpoint) {
    return {
      startedBy: { ...base, principal: null, source: 'emulator' },
      note: `Run locally against an emulator (${localRun.endpoint}), not AWS: no AWS identity started it, and nothing in this record happened in an AWS account.`,
    };
  }
  if (localRun) {
    const caller = localRun.caller;
    if (caller && 'arn' in caller) {
      return {
        startedBy: { ...base, principal: caller.arn, source: 'sts:GetCallerIdentity' },
        note: `Run locally against AWS (rekey run), not by the deployed state machine: startedBy is the caller identity of the credentials it ran with (sts:GetCallerIdentity${caller.account ? `, account ${caller.account}` : ''}).`,
      };
    }
    return {
      startedBy: { ...base, principal: null, source: 'unknown' },
      note: `Run locally against AWS (rekey run), not by the deployed state machine; who ran it is unknown: ${caller && 'error' in caller ? `sts:GetCallerIdentity failed (${caller.error})` : 'the runner did not look the caller identity up'}.`,
    };
  }
  const found = cloudTrail.startedBy;
  return {
    startedBy: {
      principal: found?.principal ?? null,
      source: found ? 'cloudtrail' : 'unknown',
      requestedBy,
      sourceIpAddress: found?.sourceIpAddress ?? null,
      userAgent: found?.userAgent ?? null,
    },
    note: null,
  };
};

export const buildEvidence = (options: BuildEvidenceOptions): EvidenceRecord => {
  const { state, execution, history, cloudTrail, keys, now, stopped, localRun } = options;
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
  const refused = status === 'FAILED' && isRefusedStart(state);
  if (refused) {
    notes.push('A refused start: it failed before it held the rotation lock, so nothing was changed in AWS.');
  }
  const who = startedByOf(options, stringOrNull(input?.requestedBy));
  if (who.note) notes.push(who.note);
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
    startedBy: who.startedBy,
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
      ? {
          undone: state.rollback.undone ?? [],
          leftBehind: state.rollback.leftBehind ?? [],
          ...(state.rollback.facts ? { facts: state.rollback.facts } : {}),
          ...(state.rollback.left ? { left: state.rollback.left } : {}),
        }
      : null,
    notes,
    approval: approvalOf(state, steps, stopped),
    environment: localRun
      ? { runner: 'local', services: localRun.endpoint ? 'emulator' : 'aws', endpoint: localRun.endpoint }
      : { runner: 'step-functions', services: 'aws', endpoint: null },
    refused,
    reencryption: reencryptionOf(state),
  };
  return record;
};
