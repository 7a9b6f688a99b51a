import type { PollLimitName } from './limits.js';

/**
 * Every Task state of the rotation state machine, with what implements it: the one table a
 * newcomer reads to find a step's code, and the one a static test (test/static/steps.test.ts)
 * checks against the ASL, template.yaml and events/steps/.
 *
 * Names that are compatibility contracts, kept while the code moved on:
 * - state names (`RestoreInstance`, `RetireInstance`, ...) are read by the operator CLI and are
 *   recorded in every evidence record's steps, so they keep their names even where the step now
 *   handles clusters too;
 * - template logical ids (`RestoreInstanceFunction`, ...) name the functions of deployed stacks:
 *   renaming one would make CloudFormation replace the function and its role;
 * - result slots are read by executions that are running while a new version is deployed.
 */
export interface StepDefinition {
  /** The Lambda handler file, relative to the project root (`Handler: functions/<file>.handler`). */
  handler: `functions/${string}.ts`;
  /** The template's logical id of the function (its ARN is `${<id>Arn}` in the ASL). */
  templateFunction: string;
  /** Where the state writes its result (`ResultPath`), `null` for a state that keeps its input. */
  resultSlot: string | null;
  /** The cap of the wait loop this Task polls in, when it has one (domain/limits.ts). */
  pollLimit: PollLimitName | null;
  /** The sample input of the handler in events/steps/ (for tests and `sam local invoke`). */
  sampleEvent: `events/steps/${string}.json`;
}

const step = (
  file: string,
  templateFunction: string,
  resultSlot: string | null,
  pollLimit: PollLimitName | null = null,
): StepDefinition => ({
  handler: `functions/${file}.ts`,
  templateFunction,
  resultSlot,
  pollLimit,
  sampleEvent: `events/steps/${file}.json`,
});

export const STEPS = {
  CheckStart: step('check-start', 'CheckStartFunction', 'start'),
  Preflight: step('preflight', 'PreflightFunction', 'plan'),
  AcquireLock: step('acquire-lock', 'AcquireLockFunction', 'lock'),
  NotifyStarted: step('notify', 'NotifyFunction', null),
  CreateKey: step('create-key', 'CreateKeyFunction', 'newKey', 'createKey'),
  // Blue/Green path.
  CreateGreen: step('create-green', 'CreateGreenFunction', 'greenDeployment', 'createGreen'),
  ValidateGreen: step('validate-green', 'ValidateGreenFunction', 'greenValidation'),
  Switchover: step('switchover', 'SwitchoverFunction', 'switchover', 'switchover'),
  // Written where RetireKey and Summarize read the old database's fate on either path.
  RetireBlue: step('retire-blue', 'RetireBlueFunction', 'retireInstance', 'retireBlue'),
  // Snapshot path.
  StopSource: step('stop-source', 'StopSourceFunction', 'freeze', 'stopSource'),
  SnapshotSource: step('snapshot-source', 'SnapshotSourceFunction', 'sourceSnapshot', 'snapshotSource'),
  CopySnapshot: step('copy-snapshot', 'CopySnapshotFunction', 'copySnapshot', 'copySnapshot'),
  RestoreInstance: step('restore-database', 'RestoreInstanceFunction', 'restore', 'restoreInstance'),
  // Event-driven waits (docs/waits.md): each waits for its check step's RDS event or times out.
  AwaitStopSource: step('await-rds-event', 'AwaitRdsEventFunction', null),
  AwaitSnapshotSource: step('await-rds-event', 'AwaitRdsEventFunction', null),
  AwaitCopySnapshot: step('await-rds-event', 'AwaitRdsEventFunction', null),
  AwaitRestoreInstance: step('await-rds-event', 'AwaitRdsEventFunction', null),
  AwaitStartSource: step('await-rds-event', 'AwaitRdsEventFunction', null),
  ConfigureInstance: step(
    'configure-database',
    'ConfigureInstanceFunction',
    'configure',
    'configureInstance',
  ),
  ValidateInstance: step('validate-database', 'ValidateInstanceFunction', 'validation'),
  WaitForApproval: step('request-approval', 'RequestApprovalFunction', 'approval'),
  Cutover: step('cutover', 'CutoverFunction', 'cutover', 'cutover'),
  StartSource: step('start-source', 'StartSourceFunction', 'startSource', 'startSource'),
  RetireInstance: step('retire-database', 'RetireInstanceFunction', 'retireInstance', 'retireInstance'),
  // Both paths, and the end.
  RetireKey: step('retire-key', 'RetireKeyFunction', 'oldKey', 'retireKey'),
  ReleaseLock: step('release-lock', 'ReleaseLockFunction', 'lockRelease'),
  Summarize: step('summarize', 'SummarizeFunction', 'output'),
  NotifySucceeded: step('notify', 'NotifyFunction', null),
  Rollback: step('rollback', 'RollbackFunction', 'rollback', 'startSource'),
  ReleaseLockAfterFailure: step('release-lock', 'ReleaseLockFunction', 'lockRelease'),
  NotifyFailed: step('notify', 'NotifyFunction', null),
  RecordEvidence: step('record-evidence', 'RecordEvidenceFunction', 'output.evidence'),
  RecordFailureEvidence: step('record-evidence', 'RecordEvidenceFunction', 'evidence'),
  RecordSkippedEvidence: step('record-evidence', 'RecordEvidenceFunction', 'start.evidence'),
} as const satisfies Record<string, StepDefinition>;

export type StepName = keyof typeof STEPS;
