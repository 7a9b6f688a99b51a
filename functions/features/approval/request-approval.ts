import { approvalBeforeChanges } from '#domain/approval.js';
import { decisionsOf } from '#domain/decisions.js';
import { InvalidInputError } from '#domain/errors.js';
import { namesOfKind } from '#domain/kinds.js';
import type { RotationState } from '#domain/state.js';
import {
  consoleLink,
  databaseOf,
  type PublishOutcome,
  publish,
  subjectFor,
} from '#features/notifications/messages.js';

/**
 * RequestApproval: invoked by the `WaitForApproval` Task (`lambda:invoke.waitForTaskToken`) with
 * the task token and the execution state. It publishes the approval request and returns at once;
 * the execution waits until an operator completes the token (SendTaskSuccess / SendTaskFailure
 * with error `ApprovalRejected`) or the Task's TimeoutSecondsPath fires. A request that could not
 * be published does not fail the Task: the operator CLI finds the token in the execution history,
 * and the timeout still ends the wait with a full rollback.
 */

export interface RequestApprovalInput {
  taskToken: string;
  state: RotationState;
  /** When the request was made (default: now); the deadline counts from it. */
  requestedAt?: string;
}

export interface RequestApprovalResult extends PublishOutcome {
  deadline: string;
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** At the gate before any change: what the rotation will do first, and what it costs writers. */
const whatHappensFirst = (state: RotationState): string[] => {
  const { plan } = state;
  const database = namesOfKind(plan.kind).noun;
  if (plan.strategy.used === 'blue-green') {
    return [
      `- A new key is created, then an RDS Blue/Green deployment copies ${plan.target.identifier} under it (the blue ${database} keeps serving clients).`,
    ];
  }
  return [
    '- A new key is created.',
    plan.decisions.stopSource
      ? `- ${plan.target.identifier} is stopped (writeFreeze "stop"): clients cannot connect from then until the cutover, ` +
        'through the snapshot, the copy under the new key, the restore and the validation (hours for a large database). ' +
        'A failure on the way starts it again.'
      : `- ${plan.target.identifier} keeps serving while it is snapshotted (writeFreeze "none": writes after the snapshot are not carried over).`,
    '- The snapshot is copied under the new key and restored as a new database, which is validated.',
  ];
};

/** What the cutover (or the switchover) will do once approved. */
const whatHappens = (state: RotationState): string[] => {
  const { plan } = state;
  const lines: string[] = approvalBeforeChanges(state) ? whatHappensFirst(state) : [];
  if (plan.strategy.used === 'blue-green') {
    lines.push(
      `- Blue/Green switchover of ${plan.target.identifier}: the green resources (under the new key) take over the names and endpoints; writers wait about a minute.`,
    );
  } else if (plan.cutover.type === 'cname') {
    lines.push(
      `- Cutover: the CNAME ${plan.cutover.recordName} moves from ${plan.cutover.previousValue} to ${state.validation?.endpointAddress ?? 'the new endpoint'}.`,
    );
  } else if (plan.cutover.type === 'rename') {
    lines.push(
      `- Cutover: ${plan.target.identifier} is renamed to ${plan.cutover.asideIdentifier} and the new database takes the name ${plan.target.identifier} and its endpoint (the old hostname is gone at once, the new one resolves in about 10 minutes).`,
    );
  }
  const { oldDatabase, oldKey } = decisionsOf(plan);
  const database = namesOfKind(plan.kind).noun;
  lines.push(
    oldDatabase.action === 'delete'
      ? `- Then the old ${database} is deleted.`
      : `- The old ${database} is kept (${oldDatabase.reason}).`,
    oldKey.action === 'schedule-deletion'
      ? `- Then the old key ${plan.source.kmsKeyArn} is scheduled for deletion (${oldKey.pendingWindowDays}-day waiting period) if nothing else in RDS uses it.`
      : `- The old key ${plan.source.kmsKeyArn} is kept (${oldKey.reason}).`,
  );
  return lines;
};

/** What was checked before asking: the new database is available and under the new key. */
const validationLines = (state: RotationState): string[] => {
  if (approvalBeforeChanges(state)) {
    return [
      'Preflight passed: the source, its key, the record and the names are as the rotation needs them. Nothing has been changed yet.',
    ];
  }
  if (state.greenValidation) {
    return [
      `Validation passed at ${state.greenValidation.checkedAt}: every green resource is available under the new key:`,
      ...state.greenValidation.resources.map(
        (r) => `  ${r.kind} ${r.identifier}: ${r.status}, key ${r.kmsKeyArn}`,
      ),
    ];
  }
  if (state.validation) {
    const v = state.validation;
    return [
      `Validation passed at ${v.checkedAt}: ${v.dbInstanceIdentifier} is ${v.status}, under the new key ${v.kmsKeyArn}, ` +
        `configuration equal to the source${v.differences.length > 0 ? ` except accepted differences (${v.differences.length})` : ''}.`,
    ];
  }
  return ['Validation: no result recorded.'];
};

export const approvalMessage = (input: RequestApprovalInput, deadline: string): string => {
  const { state, taskToken } = input;
  const { plan } = state;
  const arn = plan.executionId;
  const minutes = Math.round((plan.approval?.timeoutSeconds ?? 0) / 60);
  const step = plan.strategy.used === 'blue-green' ? 'switchover' : 'cutover';
  const early = approvalBeforeChanges(state);
  const when = early
    ? `before it changes anything for ${plan.target.identifier} (no key created, nothing stopped yet)`
    : `before the ${step} of ${plan.target.identifier}`;
  const frozen =
    plan.strategy.used === 'snapshot' && state.freeze?.stoppedByRekey
      ? [
          `Writes: ${plan.target.identifier} has been stopped since the start of the rotation (writeFreeze "stop"); clients cannot write until the ${step} or the rollback.`,
        ]
      : [];
  return [
    `Rekey is waiting for your approval ${when}.`,
    '',
    `Rotation id: ${plan.rotationId}`,
    `Reason: ${plan.request.reason}`,
    `Requested by: ${plan.request.requestedBy ?? 'not given'}`,
    `New key: ${state.newKey ? `${state.newKey.keyArn} (${state.newKey.alias})` : early ? 'created after the approval' : 'unknown'}`,
    `Old key: ${plan.source.kmsKeyArn}`,
    ...validationLines(state),
    ...frozen,
    '',
    'On approval:',
    ...whatHappens(state),
    '',
    `Decide by ${deadline} (${minutes} minutes after this request). Without a decision by then the rotation is ` +
      (early
        ? 'called off, with nothing changed.'
        : 'rolled back: the source is started again if it was stopped, and everything this rotation created is removed.'),
    '',
    'Approve:',
    `  npx rekey approve ${arn}`,
    'Reject:',
    `  npx rekey reject ${arn} --reason "..."`,
    '',
    'Or with the AWS CLI (needs states:SendTaskSuccess / states:SendTaskFailure on the state machine):',
    `  aws stepfunctions send-task-success --task-token ${shellQuote(taskToken)} --task-output '{"approvedBy":"<your name>","approvedAt":"<ISO 8601 time>"}'`,
    `  aws stepfunctions send-task-failure --task-token ${shellQuote(taskToken)} --error ApprovalRejected --cause "<reason>"`,
    '',
    `Execution: ${arn}`,
    `Console: ${consoleLink(arn)}`,
  ].join('\n');
};

export const requestApproval = async (input: RequestApprovalInput): Promise<RequestApprovalResult> => {
  if (typeof input?.taskToken !== 'string' || input.taskToken.length === 0 || !input.state?.plan) {
    throw new InvalidInputError(
      'RequestApproval needs {taskToken, state}: it must be called by the WaitForApproval state (lambda:invoke.waitForTaskToken).',
    );
  }
  const requestedAt = input.requestedAt ? new Date(input.requestedAt) : new Date();
  const seconds = input.state.plan.approval?.timeoutSeconds ?? 0;
  const deadline = new Date(requestedAt.getTime() + seconds * 1000).toISOString();
  const outcome = await publish(
    subjectFor(databaseOf(input.state), 'waiting for approval'),
    approvalMessage(input, deadline),
  );
  return { ...outcome, deadline };
};
