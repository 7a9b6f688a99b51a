import type { FleetPlanSummary } from './plan-step.js';
import type { DatabaseOutcome, FleetOutput } from './types.js';

/**
 * The payloads that cross the fleet machine's states, and how the fleet output stays under Step
 * Functions' 256 KB limit on a state's input and output (docs/fleet.md#scale).
 */

/** Step Functions' limit on a state's input or output, and on the execution's output. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** The fleet output is fitted under this, leaving room for the Choice and Fail states around it. */
export const OUTPUT_LIMIT_BYTES = 200_000;
/** A cause in a fitted output keeps this many characters; the record keeps it whole. */
const FITTED_CAUSE_CHARS = 300;

export const sizeOf = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The fleet output, fitted: whole when it fits; else only the databases that did not succeed;
 * else those with their causes cut short; else only each database's id and status. Every step
 * says so in a warning, and the fleet record (`evidenceUri`) always holds everything.
 */
export const fitOutput = (
  full: FleetOutput,
  limit = OUTPUT_LIMIT_BYTES,
): FleetOutput & { complete: boolean } => {
  if (sizeOf(full) <= limit) return { ...full, complete: true };
  const where = full.evidenceUri ?? 'the fleet record';
  const notSucceeded = full.databases.filter((d) => d.status !== 'SUCCEEDED');
  const attempts: [DatabaseOutcome[], string][] = [
    [
      notSucceeded,
      `The output lists only the databases that did not succeed; every database is in ${where}.`,
    ],
    [
      notSucceeded.map((d) => ({
        ...d,
        cause: d.cause === null ? null : d.cause.slice(0, FITTED_CAUSE_CHARS),
      })),
      `The output lists only the databases that did not succeed, with their causes cut to ${FITTED_CAUSE_CHARS} characters; all of it is in ${where}.`,
    ],
  ];
  for (const [databases, warning] of attempts) {
    const fitted = { ...full, databases, warnings: [...full.warnings, warning] };
    if (sizeOf(fitted) <= limit) return { ...fitted, complete: false };
  }
  const bare = notSucceeded.map(
    (d): DatabaseOutcome => ({
      ...d,
      rotationId: null,
      executionArn: null,
      oldKeyArn: null,
      newKeyArn: null,
      evidenceUri: null,
      cause: null,
    }),
  );
  // Each bare row is about the same size: keep as many as fit, and say how many more there are.
  const perRow = Math.max(1, Math.ceil(sizeOf(bare) / Math.max(1, bare.length)));
  const room = Math.max(0, limit - sizeOf({ ...full, databases: [] }) - 1024);
  const kept = bare.slice(0, Math.floor(room / perRow));
  const more = bare.length - kept.length;
  return {
    ...full,
    databases: kept,
    warnings: [
      `The output lists only the ids and statuses of the databases that did not succeed${more > 0 ? `, the first ${kept.length} of ${bare.length}` : ''}; all of it is in ${where}.`,
    ],
    complete: false,
  };
};

const ARN_KEY = 'arn:aws:kms:ap-southeast-2:123456789012:key/0123abcd-4567-89ef-0123-456789abcdef';
const longId = (i: number) => `db-${String(i).padStart(6, '0')}-${'x'.repeat(52)}`;

/**
 * The worst-case payloads of a fleet of `databases`: identifiers of the longest length RDS allows
 * (63), every database on its own key (the most groups), every child failed with a 2 KB cause.
 */
export const fleetPayloads = (databases: number) => {
  const ids = Array.from({ length: databases }, (_, i) => longId(i));
  const fleetId = 'f'.repeat(80);
  const summary: FleetPlanSummary = {
    fleetId,
    startedAt: new Date(0).toISOString(),
    requestedBy: 'r'.repeat(256),
    reason: 'r'.repeat(1024),
    maxConcurrency: 5,
    maxFailures: databases,
    onIneligible: 'skip',
    approval: 'none',
    approvalTimeoutSeconds: 4 * 60 * 60,
    planOnly: false,
    groups: ids.map((id) => ({ group: ARN_KEY, ids: [id] })),
    planUri: `s3://${'b'.repeat(63)}/fleets/${fleetId}/plan.json`,
  };
  const outcome = (id: string, status: DatabaseOutcome['status']): DatabaseOutcome => ({
    id,
    kind: 'instance',
    status,
    rotationId: 'rk0123456789',
    executionArn: `arn:aws:states:ap-southeast-2:123456789012:execution:RotateDatabaseStateMachine-abcdefgh1234:${'n'.repeat(80)}`,
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    oldKeyArn: ARN_KEY,
    newKeyArn: ARN_KEY,
    evidenceUri: `s3://${'b'.repeat(63)}/rotations/${id}/1970-01-01T00:00:00.000Z-rk0123456789.json`,
    error: status === 'FAILED' ? 'ValidationFailedError' : null,
    cause: status === 'FAILED' ? 'c'.repeat(2048) : null,
  });
  const output = (status: DatabaseOutcome['status']): FleetOutput => ({
    fleetId,
    status: status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
    reason: 'r'.repeat(1024),
    requestedBy: 'r'.repeat(256),
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    maxConcurrency: 5,
    maxFailures: databases,
    onIneligible: 'skip',
    counts: { SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, NOT_STARTED: 0, [status]: databases },
    databases: ids.map((id) => outcome(id, status)),
    warnings: [],
    evidenceUri: `s3://${'b'.repeat(63)}/fleets/${fleetId}/record.json`,
  });
  const succeeded = fitOutput(output('SUCCEEDED'));
  const failed = fitOutput(output('FAILED'));
  return {
    bytes: {
      planFleetResult: sizeOf(summary),
      mapItem: sizeOf({ ...summary.groups[0], fleetId, maxFailures: databases }),
      mapResult: sizeOf(ids.map((id) => [{ id, status: 'SUCCEEDED' }])),
      fleetOutputAllSucceeded: sizeOf(succeeded),
      fleetOutputAllFailed: sizeOf(failed),
    },
    outputComplete: succeeded.complete,
  };
};
