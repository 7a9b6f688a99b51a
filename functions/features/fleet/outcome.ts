import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { getEvidenceClients } from '#aws/evidence-clients.js';
import { APPROVAL_REJECTED } from '#domain/approval.js';
import { readPlan } from './documents-read.js';
import { putJson } from './documents-write.js';
import { addFailure } from './failures-add.js';
import type { StartDecision } from './start-step.js';
import { outcomeKey } from './store.js';
import type { DatabaseOutcome } from './types.js';

/** What `states:startExecution.sync:2` returns (DescribeExecution, Output parsed). */
export interface ChildExecution {
  ExecutionArn: string;
  Name?: string;
  Status: string;
  StartDate?: string | number;
  StopDate?: string | number;
  Output?: unknown;
  Error?: string;
  Cause?: string;
}

export interface RecordOutcomeEvent {
  id: string;
  fleetId: string;
  start: StartDecision;
  execution?: ChildExecution;
  /** The Catch of the startExecution task: {Error, Cause}. */
  error?: { Error: string; Cause?: string };
}

const isoOf = (value: string | number | Date | undefined): string | null =>
  value === undefined ? null : new Date(value).toISOString();

const parse = (text: unknown): unknown => {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/**
 * On AWS a failed child comes back as States.TaskFailed whose Cause is the JSON of the
 * DescribeExecution response; ExecutionAlreadyExists (a repeated start of the same name) is
 * answered by describing the execution that exists, not by starting another.
 */
const childOf = async (event: RecordOutcomeEvent): Promise<ChildExecution | null> => {
  if (event.execution) return event.execution;
  if (!event.error) return null;
  const cause = parse(event.error.Cause) as Partial<ChildExecution> | string | undefined;
  if (cause && typeof cause === 'object' && typeof cause.ExecutionArn === 'string') {
    return cause as ChildExecution;
  }
  const machine = process.env.ROTATION_STATE_MACHINE_ARN;
  if (/ExecutionAlreadyExists/.test(event.error.Error) && machine && event.start.status === 'START') {
    const arn = `${machine.replace(':stateMachine:', ':execution:')}:${event.start.executionName}`;
    const found = await getEvidenceClients().sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    return {
      ExecutionArn: arn,
      Name: found.name,
      Status: found.status ?? 'UNKNOWN',
      StartDate: found.startDate?.toISOString(),
      StopDate: found.stopDate?.toISOString(),
      Output: parse(found.output),
      Error: found.error,
      Cause: found.cause,
    };
  }
  return null;
};

const evidenceUriOf = (output: unknown): string | null => {
  const evidence = (output as { evidence?: { uri?: unknown } } | null)?.evidence;
  return typeof evidence?.uri === 'string' ? evidence.uri : null;
};

/**
 * RecordFleetOutcome: writes the database's outcome to `fleets/<fleetId>/databases/<id>.json`,
 * counts a failure toward maxFailures, and returns only {id, status}. It never fails the Map item.
 */
export const recordFleetOutcome = async (
  event: RecordOutcomeEvent,
): Promise<{ id: string; status: string }> => {
  const plan = await readPlan(event.fleetId);
  const planned = plan.databases.find((database) => database.id === event.id);
  const base: DatabaseOutcome = {
    id: event.id,
    kind: planned?.kind ?? 'instance',
    status: 'NOT_STARTED',
    rotationId: null,
    executionArn: null,
    startedAt: null,
    finishedAt: null,
    oldKeyArn: planned?.oldKeyArn ?? null,
    newKeyArn: null,
    evidenceUri: null,
    error: null,
    cause: null,
  };
  let outcome: DatabaseOutcome;
  if (event.start.status === 'NOT_STARTED') {
    outcome = { ...base, error: 'NotStarted', cause: event.start.reason };
  } else {
    const child = await childOf(event);
    const output = parse(child?.Output) as
      | { rotationId?: string; oldKeyArn?: string; newKeyArn?: string }
      | null
      | undefined;
    const succeeded = child?.Status === 'SUCCEEDED';
    outcome = {
      ...base,
      status: succeeded ? 'SUCCEEDED' : 'FAILED',
      executionArn: child?.ExecutionArn ?? null,
      rotationId: output?.rotationId ?? null,
      startedAt: isoOf(child?.StartDate),
      finishedAt: isoOf(child?.StopDate),
      oldKeyArn: output?.oldKeyArn ?? base.oldKeyArn,
      newKeyArn: output?.newKeyArn ?? null,
      evidenceUri: evidenceUriOf(output),
      error: succeeded ? null : (child?.Error ?? event.error?.Error ?? 'States.TaskFailed'),
      cause: succeeded ? null : (child?.Cause ?? event.error?.Cause ?? null),
    };
    // A person's rejection at the database's own gate (per-database approval) is a decision, not a
    // failure: it leaves that database unrotated (the fleet still fails) but does not spend the
    // failure budget, so the rest of the fleet still starts.
    if (!succeeded && outcome.error !== APPROVAL_REJECTED) await addFailure(event.fleetId);
  }
  await putJson(outcomeKey(event.fleetId, event.id), outcome);
  return { id: event.id, status: outcome.status };
};
