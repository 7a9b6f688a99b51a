/**
 * Every error the state machine routes on. Step Functions matches `ErrorEquals` against the
 * error's `name` exactly, and minifiers rename classes, so each class sets a literal `name`.
 * A test checks that every name used in the ASL is listed here.
 *
 * Three kinds (see README "Errors"):
 * - transient: `TransientAwsError` and the Lambda service errors, retried with backoff;
 * - not ready: never an error, a status the Wait/Check/Choice loops poll;
 * - terminal: everything else, caught into compensation, then the execution fails.
 */

/** The execution input is malformed. Nothing in AWS was touched. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
}

/** A precondition on the live resources does not hold (checked before any change, or re-checked later). */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
}

/** Another rotation holds the lock on this database or on its key. Nothing was changed. */
export class RotationInProgressError extends Error {
  override readonly name = 'RotationInProgressError';
}

/** A resource reached a status it cannot recover from on its own (`failed`, `incompatible-*`, ...). */
export class ResourceFailedError extends Error {
  override readonly name = 'ResourceFailedError';
}

/** A wait loop reached its iteration cap before the resource reached the expected status. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

/** The new database is not what it should be: wrong key, wrong status or a configuration diff. */
export class ValidationFailedError extends Error {
  override readonly name = 'ValidationFailedError';
}

/** Clients could not be switched to the new database, or the switch did not read back. */
export class CutoverFailedError extends Error {
  override readonly name = 'CutoverFailedError';
}

/** The rollback after a failure could not finish; the cause says what is left to do by hand. */
export class RollbackFailedError extends Error {
  override readonly name = 'RollbackFailedError';
}

/** Throttling, a 5xx or a network fault from an AWS API after the SDK's own retries. Safe to retry: every step is idempotent. */
export class TransientAwsError extends Error {
  override readonly name = 'TransientAwsError';
}

/**
 * An operator rejected the rotation at the approval gate (SendTaskFailure). The name has no
 * `Error` suffix: it is the error the operator CLI (and anyone with the raw
 * `aws stepfunctions send-task-failure --error ApprovalRejected`) sends, so it is a contract.
 */
export class ApprovalRejectedError extends Error {
  override readonly name = 'ApprovalRejected';
}

/**
 * The fleet state machine's end when a selected database was not rotated (docs/fleet.md#the-flow):
 * a Fail state with this name, so the failure alarm fires. Its cause names the databases left.
 */
export class FleetIncompleteError extends Error {
  override readonly name = 'FleetIncomplete';
}

/**
 * The fleet state machine's end when its one approval (`fleet.approval: "fleet"`) was not given:
 * rejected, not answered in time, or the request itself failed. No rotation was started; the
 * fleet record lists every eligible database NOT_STARTED and the cause names who rejected and
 * why, or the timeout. Apart from FleetIncomplete, so an alarm or a reader tells "nothing ran,
 * on purpose" from "rotations failed".
 */
export class FleetApprovalNotGivenError extends Error {
  override readonly name = 'FleetApprovalNotGiven';
}

/** Names of the error classes above, for the static check of the ASL. */
export const REKEY_ERROR_NAMES = [
  'InvalidInputError',
  'PreconditionFailedError',
  'RotationInProgressError',
  'ResourceFailedError',
  'WaitTimeoutError',
  'ValidationFailedError',
  'CutoverFailedError',
  'RollbackFailedError',
  'TransientAwsError',
  'ApprovalRejected',
  'FleetIncomplete',
  'FleetApprovalNotGiven',
] as const;

/** Errors raised by the Step Functions/Lambda integration itself, which the ASL retries or catches. */
export const SERVICE_ERROR_NAMES = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'States.ALL',
  'States.Timeout',
  'States.HeartbeatTimeout',
  'States.TaskFailed',
  // startExecution.sync:2 when the account runs too many open executions (StartExecution's own error).
  'StepFunctions.ExecutionLimitExceededException',
] as const;

/** True for an AWS SDK error whose `name` is the one given (SDK v3 errors carry the service's error code as `name`). */
export const isAwsError = (error: unknown, ...names: string[]): error is Error =>
  error instanceof Error && names.includes(error.name);
