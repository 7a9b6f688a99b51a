import { planApproval } from './approval.js';
import { PreconditionFailedError } from './errors.js';
import type { RotationInput } from './input.js';
import { KEY_PENDING_WINDOW_DAYS } from './limits.js';
import type {
  ApprovalPlan,
  ClientSwitchDecision,
  Decisions,
  FailureArtifactsDecision,
  OldDatabaseDecision,
  OldKeyDecision,
  StrategyDecision,
  WriteFreezeDecision,
} from './plan.js';

/**
 * What a rotation will do, decided once in preflight from the request and the facts preflight
 * found (the strategy, who manages the old key). Pure. Later steps follow the decisions written to
 * `plan.decisions` and re-check only live facts, never the request.
 */

/**
 * The strategy to use. `snapshot` and `blue-green` are taken as asked (an ineligible database
 * with `blue-green` is refused, naming every reason); `auto` takes Blue/Green where eligible.
 */
export const decideStrategy = (
  requested: RotationInput['strategy'],
  ineligible: string[],
  database: string,
): StrategyDecision => {
  if (requested === 'snapshot') {
    return {
      requested,
      used: 'snapshot',
      reason: 'strategy "snapshot" was requested (the default).',
      blueGreenIneligible: ineligible,
    };
  }
  if (ineligible.length === 0) {
    return {
      requested,
      used: 'blue-green',
      reason:
        requested === 'auto'
          ? `strategy "auto": ${database} is eligible for a Blue/Green deployment, which switches over in about a minute.`
          : 'strategy "blue-green" was requested.',
      blueGreenIneligible: [],
    };
  }
  if (requested === 'blue-green') {
    throw new PreconditionFailedError(
      `strategy: ${database} cannot be rotated with a Blue/Green deployment: ${ineligible.join(' ')} ` +
        'Use "strategy": "snapshot" (or "auto", which falls back to it).',
    );
  }
  return {
    requested,
    used: 'snapshot',
    reason: `strategy "auto" fell back to "snapshot": ${ineligible.join(' ')}`,
    blueGreenIneligible: ineligible,
  };
};

const BLUE_GREEN_NO_FREEZE =
  'Blue/Green: the source is not stopped; the switchover blocks writes for about a minute and replication carries every write over.';
const NO_FREEZE =
  'writeFreeze is "none": writes made to the source after the snapshot are not in the new instance.';
const AWS_MANAGED_KEY =
  'the old key is the AWS-managed aws/rds key, which can never be scheduled for deletion.';

/** True for a KMS waiting period Rekey accepts: a whole number of days in KEY_PENDING_WINDOW_DAYS. */
export const isKeyPendingWindow = (days: unknown): days is number =>
  typeof days === 'number' &&
  Number.isInteger(days) &&
  days >= KEY_PENDING_WINDOW_DAYS.min &&
  days <= KEY_PENDING_WINDOW_DAYS.max;

/** The flags derived from the typed decisions (see `Decisions`). */
const decisionFlags = (d: {
  writeFreeze: WriteFreezeDecision;
  clientSwitch: ClientSwitchDecision;
  oldDatabase: OldDatabaseDecision;
  oldKey: OldKeyDecision;
}) => ({
  stopSource: d.writeFreeze.action === 'stop-source',
  switchClients: d.clientSwitch.action === 'switch',
  deleteOldInstance: d.oldDatabase.action === 'delete',
  keepOldInstanceReason: d.oldDatabase.action === 'retain' ? d.oldDatabase.reason : null,
  retireOldKey: d.oldKey.action === 'schedule-deletion',
  keepOldKeyReason: d.oldKey.action === 'retain' ? d.oldKey.reason : null,
});

/** What the rotation will do, and why wherever it departs from the request. */
export const decide = (
  request: RotationInput,
  key: { KeyManager?: string | undefined },
  strategy: Pick<StrategyDecision, 'used'> = { used: 'snapshot' },
): Decisions => {
  const notes: string[] = [];
  const blueGreen = strategy.used === 'blue-green';

  // A Blue/Green switchover blocks writes itself and loses none: nothing to stop.
  const writeFreeze: WriteFreezeDecision = blueGreen
    ? { action: 'none', reason: BLUE_GREEN_NO_FREEZE }
    : request.writeFreeze === 'stop'
      ? { action: 'stop-source' }
      : { action: 'none', reason: NO_FREEZE };
  if (blueGreen && request.writeFreeze === 'stop') notes.push(BLUE_GREEN_NO_FREEZE);

  // The switchover moves clients whatever the cutover says.
  const clientSwitch: ClientSwitchDecision = blueGreen
    ? { action: 'switch', by: 'switchover' }
    : request.cutover.type === 'none'
      ? { action: 'none', reason: 'cutover is "none": clients still use the old instance.' }
      : { action: 'switch', by: request.cutover.type };

  let oldDatabase: OldDatabaseDecision = { action: 'delete' };
  if (request.oldInstance === 'retain') {
    oldDatabase = { action: 'retain', reason: 'oldInstance is "retain" in the input.' };
  } else if (clientSwitch.action === 'none') {
    oldDatabase = { action: 'retain', reason: clientSwitch.reason };
  } else if (writeFreeze.action === 'none' && !blueGreen) {
    oldDatabase = {
      action: 'retain',
      reason:
        'writeFreeze is "none": writes made after the snapshot exist only in the old instance, so it is kept for you to reconcile.',
    };
  }
  if (oldDatabase.action === 'retain' && request.oldInstance === 'delete') {
    notes.push(`Old instance kept: ${oldDatabase.reason}`);
  }

  let oldKey: OldKeyDecision = {
    action: 'schedule-deletion',
    pendingWindowDays: request.oldKeyPendingWindowDays,
  };
  if (key.KeyManager === 'AWS') {
    oldKey = { action: 'retain', reason: AWS_MANAGED_KEY };
  } else if (request.oldKey === 'retain') {
    oldKey = { action: 'retain', reason: 'oldKey is "retain" in the input.' };
  } else if (oldDatabase.action === 'retain') {
    oldKey = {
      action: 'retain',
      reason: `the old instance is kept (${oldDatabase.reason}) and is still encrypted under it.`,
    };
  }
  if (oldKey.action === 'retain' && request.oldKey === 'schedule-deletion') {
    notes.push(`Old key kept: ${oldKey.reason}`);
  }
  if (writeFreeze.action === 'none' && !blueGreen) notes.push(NO_FREEZE);

  const artifactsOnFailure: FailureArtifactsDecision = request.keepArtifactsOnFailure
    ? { action: 'keep', reason: 'the input says keepArtifactsOnFailure' }
    : { action: 'remove' };

  const typed = { writeFreeze, clientSwitch, oldDatabase, oldKey };
  return { ...typed, artifactsOnFailure, ...decisionFlags(typed), notes };
};

/**
 * Every decision of the plan: `decide`, with the note of a quota that could not be checked and
 * the approval gate (whose note, when the gate is moot, comes last).
 */
export const decidePlan = (args: {
  request: RotationInput;
  key: { KeyManager?: string | undefined };
  strategy: Pick<StrategyDecision, 'used'>;
  quotaNote: string | null;
}): { decisions: Decisions; approval: ApprovalPlan } => {
  const decisions = decide(args.request, args.key, args.strategy);
  if (args.quotaNote) decisions.notes.push(args.quotaNote);
  const { approval, note } = planApproval(args.request, args.strategy.used, decisions.stopSource);
  if (note) decisions.notes.push(note);
  return { decisions, approval };
};

/**
 * The plan's typed decisions. A plan written before they existed (an execution started by the
 * previous version of Rekey that runs on across a deploy: Lambda code is replaced in place while
 * the execution continues) has none: they are decided again, by the same rules, from the request
 * and the facts preflight recorded. A plan that has them is returned as it is.
 */
export const decisionsOf = (plan: {
  decisions: Decisions;
  request: RotationInput;
  source: { keyManager: string };
  strategy: Pick<StrategyDecision, 'used'>;
}): Decisions =>
  (plan.decisions as Partial<Decisions>).oldKey
    ? plan.decisions
    : {
        ...decide(plan.request, { KeyManager: plan.source.keyManager }, plan.strategy),
        notes: plan.decisions.notes,
      };
