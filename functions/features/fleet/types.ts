import type { TargetKind } from '#domain/kinds.js';

/**
 * The fleet's shapes, shared by the planner (`plan.ts`), the fleet state machine's steps
 * (`functions/plan-fleet.ts`, `functions/fleet-*.ts`), the CLI (`rekey plan`, `rekey run`,
 * `rekey report`, `rekey status`) and the evidence. docs/fleet.md describes them for users.
 */

/** The per-database settings a fleet reads from the database's tags (user configuration, kept on the new database). */
export const FLEET_TAGS = {
  rotate: 'rekey:rotate',
  cutover: 'rekey:cutover',
  recordName: 'rekey:record-name',
  readerRecordName: 'rekey:reader-record-name',
  strategy: 'rekey:strategy',
  hostedZoneId: 'rekey:hosted-zone-id',
} as const;

export type DatabaseStatus = 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'NOT_STARTED';

/** `fleet.approval`: one approval before the first rotation, one per database, or none. */
export type FleetApprovalMode = 'fleet' | 'per-database' | 'none';

/**
 * The fleet's approval in its output and record. With `"fleet"`, the one gate's decision
 * (WaitForFleetApproval): `by` is the name the approver's command sent (`rekey approve --by`), the
 * IAM caller of SendTaskSuccess / SendTaskFailure is in CloudTrail. `failed`: the request step
 * itself failed, so no approval could be asked. With `"per-database"` or `"none"`, `not-required`
 * here: each child's own gate is in its evidence record.
 */
export interface FleetApprovalOutcome {
  mode: FleetApprovalMode;
  decision: 'approved' | 'rejected' | 'timed-out' | 'failed' | 'not-required';
  by: string | null;
  at: string | null;
  /** The rejection's reason, or what ended the wait. */
  reason: string | null;
  /** How long the fleet gate waited at most (null without one). */
  timeoutSeconds: number | null;
}

/** One selected database in a plan: `rekey plan`'s row and the fleet machine's unit of work. */
export interface PlannedDatabase {
  id: string;
  kind: TargetKind;
  eligible: boolean;
  /** The strategy it would use (null when refused before one could be chosen) and why. */
  strategy: 'snapshot' | 'blue-green' | null;
  strategyReason: string;
  cutover: 'cname' | 'rename' | 'none' | null;
  oldKeyArn: string | null;
  /** Every reason it would be refused, each naming the problem and what to do. Empty when eligible. */
  blockers: string[];
  estimatedWriterDowntimeSeconds: number | null;
  /** The rotation input the child execution gets (null when the settings do not make a valid one). */
  input: Record<string, unknown> | null;
  /** Databases that share an old key run one after another: the group key and the position in it. */
  order: { group: string; position: number; of: number };
  /** The child rotation execution's name: derived from the fleet execution and the database. */
  executionName: string;
}

export interface FleetPlan {
  status: 'PLANNED';
  /** The fleet execution's name (or the local run's); child names and evidence keys derive from it. */
  fleetId: string;
  databases: PlannedDatabase[];
  /** Eligible databases grouped by old key, in run order: one Map item per group. */
  groups: { group: string; oldKeyArn: string | null; ids: string[] }[];
  /** The concurrency the fleet will use: the input's, capped by the pacing rules (docs/fleet.md). */
  maxConcurrency: number;
  maxFailures: number;
  onIneligible: 'fail' | 'skip';
  approval: FleetApprovalMode;
  /** `fleet.planOnly`: the fleet machine plans, writes the plan and stops, changing nothing. */
  planOnly: boolean;
  /** How long the fleet's one approval (`approval: "fleet"`) waits: the input's minutes, or the single rotation's default. */
  approvalTimeoutSeconds: number;
  /** Why the concurrency was capped, and other warnings for the operator. */
  notes: string[];
  /** AWS calls the planning made, by service:operation (the scale benchmark reads it). */
  calls: Record<string, number>;
}

/** One database's outcome in the fleet output and the fleet evidence record. */
export interface DatabaseOutcome {
  id: string;
  kind: TargetKind;
  status: DatabaseStatus;
  rotationId: string | null;
  executionArn: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  oldKeyArn: string | null;
  newKeyArn: string | null;
  /** The child's evidence record (s3://bucket/key) when it wrote one. */
  evidenceUri: string | null;
  /** FAILED: the child's error and cause; SKIPPED: the blockers joined; NOT_STARTED: why. */
  error: string | null;
  cause: string | null;
}

/** The fleet execution's output, and the body of the fleet evidence record (`fleets/<fleetId>/record.json`). */
export interface FleetOutput {
  fleetId: string;
  status: 'SUCCEEDED' | 'FAILED';
  /** The outcome in one sentence: how many rotated, or which databases were left and why. */
  reason: string;
  /** Why the fleet ran: the fleet input's `reason`, kept as evidence (absent from older records). */
  requestReason?: string | null;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  maxConcurrency: number;
  maxFailures: number;
  onIneligible: 'fail' | 'skip';
  counts: Record<DatabaseStatus, number>;
  databases: DatabaseOutcome[];
  warnings: string[];
  /** The fleet's approval decision (absent from records written before the fleet gate existed). */
  approval?: FleetApprovalOutcome;
  /** Where the fleet record is (s3://...), when it was written. */
  evidenceUri: string | null;
}
