import { decisionsOf } from '#domain/decisions.js';
import { namesOfKind } from '#domain/kinds.js';
import type { RotationState } from '#domain/state.js';
import { consoleLink, databaseOf, type PublishOutcome, publish, subjectFor } from './messages.js';

/**
 * Notify: the SNS message at the start (after AcquireLock), on success (after Summarize) and on
 * failure (after the Rollback). The approval request is RequestApproval's (request-approval.ts).
 * It never fails the rotation: publishing errors are reported in its result, and the ASL catches
 * anything else and goes on (ResultPath $.notificationError).
 */

export interface NotifyInput {
  event: 'started' | 'succeeded' | 'failed';
  /** `$$.Execution.Id`. */
  executionId: string;
  /** The execution state; after Summarize (OutputPath $.output) it is the output itself. */
  state: NotifyState;
}

type NotifyState = Partial<RotationState> & { output?: unknown; rollbackFailure?: unknown };

type Output = Record<string, unknown>;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const footer = (executionArn: string): string[] => [
  '',
  `Execution: ${executionArn}`,
  `Console: ${consoleLink(executionArn)}`,
];

export const startedMessage = (state: Partial<RotationState>, executionArn: string): string => {
  const plan = state.plan;
  const lines = [`Rekey started rotating the KMS key of ${databaseOf(state)}.`, ''];
  if (plan) {
    const request = plan.request;
    lines.push(
      `Rotation id: ${plan.rotationId}`,
      `Database: ${namesOfKind(plan.kind).title} ${plan.target.identifier}`,
      `Old key: ${plan.source.kmsKeyArn}`,
      `Strategy: ${plan.strategy.used} (${plan.strategy.reason})`,
      `Cutover: ${plan.cutover.type}`,
    );
    if (plan.strategy.used === 'snapshot') {
      lines.push(
        decisionsOf(plan).writeFreeze.action === 'stop-source'
          ? `Writes: ${plan.target.identifier} is stopped now until the cutover (writeFreeze "stop").`
          : 'Writes: not frozen (writeFreeze "none"): writes after the snapshot are not carried over.',
      );
    }
    lines.push(
      plan.approval?.required
        ? `Approval: required ${plan.approval.at === 'before-changes' ? 'before anything changes (the new key, the freeze)' : `before the ${plan.strategy.used === 'blue-green' ? 'switchover' : 'cutover'}`}; a separate message will say how to approve (wait at most ${Math.round(plan.approval.timeoutSeconds / 60)} minutes).`
        : 'Approval: not required.',
      `Reason: ${request.reason}`,
      `Requested by: ${request.requestedBy ?? 'not given'}`,
    );
    for (const note of plan.decisions.notes) lines.push(`Note: ${note}`);
  }
  return [...lines, ...footer(executionArn)].join('\n');
};

/** The output may sit at the top (Summarize's OutputPath) or under `output`. */
const outputOf = (state: NotifyState): Output =>
  state.output && typeof state.output === 'object' ? (state.output as Output) : (state as unknown as Output);

export const succeededMessage = (state: NotifyInput['state'], executionArn: string): string => {
  const output = outputOf(state);
  const source =
    str(output.sourceDbInstanceIdentifier) ??
    str(output.sourceDbClusterIdentifier) ??
    str(output.sourceIdentifier) ??
    databaseOf(state);
  const target = str(output.newDbInstanceIdentifier) ?? str(output.newDbClusterIdentifier) ?? source;
  const oldKey = (output.oldKey ?? {}) as Output;
  const approval = (output.approval ?? {}) as Output;
  const lines = [
    `Rekey rotated the KMS key of ${source}.`,
    '',
    `Rotation id: ${str(output.rotationId) ?? 'unknown'}`,
    `Database: ${source}${target !== source ? ` -> ${target}` : ' (same name and endpoint)'}`,
    `Key: ${str(output.oldKeyArn) ?? 'unknown'} -> ${str(output.newKeyArn) ?? 'unknown'}`,
    oldKey.state === 'PendingDeletion'
      ? `Old key: scheduled for deletion on ${str(oldKey.deletionDate) ?? 'unknown'} (cancel with aws kms cancel-key-deletion if something still needs it).`
      : `OLD KEY KEPT: ${str(output.oldKeyArn) ?? 'the old key'} was not scheduled for deletion. Why: ${str(oldKey.reason) ?? 'see the output'}. Schedule its deletion by hand once nothing needs it.`,
    `Cutover: ${JSON.stringify(output.cutover ?? { type: 'none' })}`,
  ];
  if (approval.required === true) {
    lines.push(
      `Approved by: ${str(approval.approvedBy) ?? 'unknown'} at ${str(approval.approvedAt) ?? 'unknown'}`,
    );
  }
  for (const note of Array.isArray(output.notes) ? output.notes : []) lines.push(`Note: ${note}`);
  lines.push(`Started: ${str(output.startedAt) ?? '?'}  Finished: ${str(output.finishedAt) ?? '?'}`);
  return [...lines, ...footer(executionArn)].join('\n');
};

/** The error and the cause as the execution reports them (RotationFailed or RollbackIncomplete). */
export const failureOf = (state: NotifyState) => {
  const rollbackFailure = state.rollbackFailure as { cause?: string } | undefined;
  if (rollbackFailure?.cause) return { error: 'RollbackFailedError', cause: rollbackFailure.cause };
  return {
    error: state.failure?.Error ?? 'unknown error',
    cause: state.rollback?.cause || state.failure?.Cause || 'no cause recorded',
  };
};

export const failedMessage = (state: NotifyInput['state'], executionArn: string): string => {
  const { error, cause } = failureOf(state);
  const lines = [
    `Rekey's rotation of ${databaseOf(state)} FAILED with ${error}.`,
    '',
    `What happened, what was undone and what is left: ${cause}`,
  ];
  if (state.rollback?.undone?.length)
    lines.push('', 'Undone:', ...state.rollback.undone.map((l) => `- ${l}`));
  if (state.rollback?.leftBehind?.length)
    lines.push('', 'Left in place:', ...state.rollback.leftBehind.map((l) => `- ${l}`));
  if (error === 'RollbackFailedError')
    lines.push('', 'The rollback did not finish: finish it by hand (README: Rolling back by hand).');
  return [...lines, ...footer(executionArn)].join('\n');
};

export const notify = async (event: NotifyInput): Promise<PublishOutcome> => {
  const state = event.state ?? {};
  const database = databaseOf(state);
  switch (event.event) {
    case 'started':
      return publish(subjectFor(database, 'started'), startedMessage(state, event.executionId));
    case 'succeeded': {
      const output = outputOf(state);
      const name =
        str(output.sourceDbInstanceIdentifier) ??
        str(output.sourceDbClusterIdentifier) ??
        str(output.sourceIdentifier) ??
        database;
      const kept = (output.oldKey as Output | undefined)?.state === 'Retained';
      return publish(
        subjectFor(name, kept ? 'succeeded, old key kept' : 'succeeded'),
        succeededMessage(state, event.executionId),
      );
    }
    default:
      return publish(
        subjectFor(database, 'failed', failureOf(state).error),
        failedMessage(state, event.executionId),
      );
  }
};
