import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rotationIdFor } from '#domain/naming.js';
import { defaultDeps, type RecordEvidenceDeps } from '#features/evidence/deps.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import {
  type ExecutionStatusChangeEvent,
  NotAStoppedExecutionError,
  recordStoppedExecution,
  stateFromHistory,
} from '#features/evidence/stopped.js';
import { renderHistory } from '../../../../cli/operator/render.js';
import { renderHtml } from '../../../../cli/report/render-html.js';
import { renderMarkdown } from '../../../../cli/report/render-markdown.js';
import { handler } from '../../../../functions/record-evidence.js';
import { stepEvent } from '../../../support/events.js';

/**
 * An execution that was aborted (StopExecution) or timed out runs no further state: its record is
 * written from the EventBridge status-change event (RecordEvidenceOnStopRule), with the state
 * rebuilt from the execution history.
 */

const cloudTrail = mockClient(CloudTrailClient);
const kms = mockClient(KMSClient);
const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);

const EXECUTION_ARN =
  'arn:aws:states:us-east-1:123456789012:execution:rekey-rotate-instance:orders-db-break-glass';
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:rekey-rotate-instance';
const STARTED = '2026-11-22T15:30:00.000Z';
const STOPPED = '2026-11-22T16:10:00.000Z';

const deps: RecordEvidenceDeps = {
  ...defaultDeps,
  now: () => new Date('2026-11-22T16:10:05.000Z'),
  sleep: async () => {},
};

const statusEvent = (
  status: string,
  detail: Partial<ExecutionStatusChangeEvent['detail']> = {},
): ExecutionStatusChangeEvent => ({
  source: 'aws.states',
  'detail-type': 'Step Functions Execution Status Change',
  time: STOPPED,
  detail: {
    executionArn: EXECUTION_ARN,
    stateMachineArn: STATE_MACHINE_ARN,
    name: 'orders-db-break-glass',
    status,
    startDate: Date.parse(STARTED),
    stopDate: Date.parse(STOPPED),
    input: JSON.stringify(stepEvent('check-start').input),
    error: null,
    cause: null,
    ...detail,
  },
});

/** History events, one second apart from the start, ids in order. */
const history = (events: Omit<HistoryEvent, 'id' | 'timestamp'>[]): HistoryEvent[] =>
  events.map((event, i) => ({
    id: i + 1,
    timestamp: new Date(Date.parse(STARTED) + i * 60_000),
    ...event,
  }));

const entered = (
  type: string,
  name: string,
  input: unknown = {},
): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: type as HistoryEvent['type'],
  stateEnteredEventDetails: { name, input: JSON.stringify(input) },
});
const exited = (type: string, name: string, output: unknown): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: type as HistoryEvent['type'],
  stateExitedEventDetails: { name, output: JSON.stringify(output) },
});
const lambda = (type: string): Omit<HistoryEvent, 'id' | 'timestamp'> => ({
  type: type as HistoryEvent['type'],
});

const input = stepEvent('check-start').input as { reason: string };
const atCopy = stepEvent('copy-snapshot');
const { sourceSnapshot: _source, ...beforeSnapshot } = atCopy;
const copyPending = {
  ...atCopy,
  copySnapshot: {
    done: false,
    snapshotIdentifier: `rekey-orders-db-${atCopy.plan.rotationId}-reencrypted`,
    status: 'pending',
  },
};

/** Aborted mid-CopySnapshot: the copy was started, its status poll was running. */
const abortedMidCopy = history([
  { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input) } },
  entered('PassStateEntered', 'Prepare', input),
  exited('PassStateExited', 'Prepare', { input }),
  entered('TaskStateEntered', 'CheckStart', { input }),
  lambda('LambdaFunctionScheduled'),
  lambda('LambdaFunctionSucceeded'),
  exited('TaskStateExited', 'CheckStart', { input, start: { duplicateOf: null } }),
  entered('TaskStateEntered', 'Preflight'),
  lambda('LambdaFunctionScheduled'),
  lambda('LambdaFunctionSucceeded'),
  exited('TaskStateExited', 'Preflight', { input, plan: atCopy.plan }),
  entered('TaskStateEntered', 'SnapshotSource'),
  lambda('LambdaFunctionScheduled'),
  lambda('LambdaFunctionSucceeded'),
  exited('TaskStateExited', 'SnapshotSource', beforeSnapshot),
  exited('ChoiceStateExited', 'SnapshotDone?', atCopy),
  entered('TaskStateEntered', 'CopySnapshot'),
  lambda('LambdaFunctionScheduled'),
  lambda('LambdaFunctionSucceeded'),
  exited('TaskStateExited', 'CopySnapshot', copyPending),
  entered('ChoiceStateEntered', 'CopyDone?'),
  exited('ChoiceStateExited', 'CopyDone?', copyPending),
  entered('WaitStateEntered', 'WaitForCopy'),
  exited('WaitStateExited', 'WaitForCopy', copyPending),
  entered('TaskStateEntered', 'CopySnapshot', copyPending),
  lambda('LambdaFunctionScheduled'),
  {
    type: 'ExecutionAborted',
    executionAbortedEventDetails: { error: 'ManualStop', cause: 'oncall-dba: wrong database' },
  },
]);

const bodyOf = (): EvidenceRecord => {
  const call = s3.commandCalls(PutObjectCommand)[0];
  return JSON.parse(String(call?.args[0].input.Body)) as EvidenceRecord;
};

const keyFor = (rotationId: string) => `rotations/orders-db/${STARTED}-${rotationId}.json`;

describe('recordStoppedExecution (EventBridge: ABORTED / TIMED_OUT)', () => {
  beforeEach(() => {
    cloudTrail.reset();
    kms.reset();
    s3.reset();
    sfn.reset();
    process.env.EVIDENCE_BUCKET = 'rekey-evidence-123';
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    kms.on(DescribeKeyCommand).callsFake((given: { KeyId: string }) => ({
      KeyMetadata: { Arn: given.KeyId, KeyManager: 'CUSTOMER', KeyState: 'Enabled' },
    }));
    kms.on(ListAliasesCommand).resolves({ Aliases: [] });
    s3.on(PutObjectCommand).resolves({ VersionId: 'v1', ChecksumSHA256: 'abc=' });
  });
  afterEach(() => {
    delete process.env.EVIDENCE_BUCKET;
  });

  it('writes an ABORTED record for an execution stopped mid-CopySnapshot, under the key of the normal path', async () => {
    // Prepare: the history arrives on two pages.
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({ events: abortedMidCopy.slice(0, 10), nextToken: 'p2' })
      .resolvesOnce({ events: abortedMidCopy.slice(10) });

    // Act
    const result = await recordStoppedExecution(statusEvent('ABORTED'), deps);

    // Assess: the key the state machine's own RecordEvidence would have used.
    const rotationId = rotationIdFor(EXECUTION_ARN);
    expect(rotationId).toBe(atCopy.plan.rotationId);
    expect(result).toMatchObject({ key: keyFor(rotationId), versionId: 'v1' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'rekey-evidence-123',
      Key: keyFor(rotationId),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    });
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: EXECUTION_ARN,
      includeExecutionData: true,
    });
    const record = bodyOf();
    expect(record.execution).toMatchObject({
      arn: EXECUTION_ARN,
      name: 'orders-db-break-glass',
      status: 'ABORTED',
      startedAt: STARTED,
      finishedAt: STOPPED,
      error: 'ManualStop',
      cause: 'oncall-dba: wrong database',
    });
    expect(record.rotationId).toBe(rotationId);
    expect(record.target).toEqual({
      kind: 'instance',
      identifier: 'orders-db',
      region: 'us-east-1',
      accountId: '123456789012',
    });
    expect(record.keys.old?.arn).toBe(atCopy.plan.source.kmsKeyArn);
    expect(record.keys.new?.arn).toBe(atCopy.newKey?.keyArn);
    expect(record.oldKeyOutcome).toMatchObject({
      state: 'Untouched',
      reason: expect.stringContaining('stopped before RetireKey'),
    });
    // Steps up to the abort: CopySnapshot was entered and never finished.
    expect(record.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['CheckStart', 'succeeded'],
      ['Preflight', 'succeeded'],
      ['SnapshotSource', 'succeeded'],
      ['CopySnapshot', 'running'],
    ]);
    expect(record.steps.find((s) => s.name === 'CopySnapshot')?.invocations).toBe(2);
    expect(record.history.events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      detail: 'ManualStop: oncall-dba: wrong database',
    });
    // What was created so far, from the last state the history holds.
    expect(record.resources.map((r) => [r.kind, r.identifier, r.action])).toEqual(
      expect.arrayContaining([
        ['kms-key', atCopy.newKey?.keyId, 'created'],
        ['db-instance', 'orders-db', 'stopped'],
        ['db-snapshot', atCopy.sourceSnapshot?.snapshotIdentifier, 'created'],
        ['db-snapshot', copyPending.copySnapshot.snapshotIdentifier, 'created'],
      ]),
    );
    expect(record.rollback).toBeNull();
    const note = record.notes.find((n) => n.includes('ABORTED'));
    expect(note).toContain('while in state CopySnapshot');
    expect(note).toContain('no rollback ran');
    expect(note).toContain('Rekey had stopped the source orders-db');
    expect(note).toContain('README: Limits');
  });

  it('writes a TIMED_OUT record, error and cause from the history when the event has none', async () => {
    // Prepare
    const timedOut = [
      ...abortedMidCopy.slice(0, -1),
      {
        id: abortedMidCopy.length,
        timestamp: new Date(STOPPED),
        type: 'ExecutionTimedOut',
        executionTimedOutEventDetails: { error: 'States.Timeout', cause: 'The execution timed out.' },
      },
    ] as HistoryEvent[];
    sfn.on(GetExecutionHistoryCommand).resolves({ events: timedOut });

    // Act: through the Lambda handler, as EventBridge invokes it.
    const result = await handler(statusEvent('TIMED_OUT'), {} as never);

    // Assess
    expect(result.key).toBe(keyFor(rotationIdFor(EXECUTION_ARN)));
    const record = bodyOf();
    expect(record.execution).toMatchObject({
      status: 'TIMED_OUT',
      error: 'States.Timeout',
      cause: 'The execution timed out.',
      finishedAt: STOPPED,
    });
    expect(record.notes.find((n) => n.includes('TIMED_OUT'))).toContain('timed out');
    expect(record.oldKeyOutcome.reason).toContain('timed out before RetireKey');
  });

  it('records the input only when the execution was aborted during CheckStart (no plan yet)', async () => {
    // Prepare
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: history([
        { type: 'ExecutionStarted', executionStartedEventDetails: { input: JSON.stringify(input) } },
        entered('PassStateEntered', 'Prepare', input),
        exited('PassStateExited', 'Prepare', { input }),
        entered('TaskStateEntered', 'CheckStart', { input }),
        lambda('LambdaFunctionScheduled'),
        { type: 'ExecutionAborted', executionAbortedEventDetails: {} },
      ]),
    });

    // Act
    await recordStoppedExecution(statusEvent('ABORTED'), deps);

    // Assess: no plan, so the rotation id comes from the execution ARN, as preflight derives it.
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: keyFor(rotationIdFor(EXECUTION_ARN)) });
    const record = bodyOf();
    expect(record.execution).toMatchObject({ status: 'ABORTED', error: null, cause: null });
    expect(record.input).toEqual(input);
    expect(record.reason).toBe(input.reason);
    expect(record.startedBy.requestedBy).toBe('oncall-dba');
    expect(record.target).toMatchObject({ kind: 'instance', identifier: 'orders-db' });
    expect(record.strategy).toBeNull();
    expect(record.keys).toEqual({ old: null, new: null });
    expect(record.resources).toEqual([]);
    expect(record.steps.map((s) => [s.name, s.outcome])).toEqual([['CheckStart', 'running']]);
    const note = record.notes.find((n) => n.includes('ABORTED'));
    expect(note).toContain('while in state CheckStart');
    expect(note).toContain('the record holds the input only');
  });

  it('falls back to the event input when the history cannot be read', async () => {
    // Prepare
    sfn.on(GetExecutionHistoryCommand).rejects(new Error('AccessDeniedException'));

    // Act
    await recordStoppedExecution(statusEvent('ABORTED', { error: 'Stop', cause: 'by hand' }), deps);

    // Assess
    const record = bodyOf();
    expect(record.history.source).toBe('unavailable');
    expect(record.input).toEqual(input);
    expect(record.execution).toMatchObject({ status: 'ABORTED', error: 'Stop', cause: 'by hand' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: keyFor(rotationIdFor(EXECUTION_ARN)) });
  });

  it('refuses a status other than ABORTED and TIMED_OUT, writing nothing', async () => {
    await expect(recordStoppedExecution(statusEvent('SUCCEEDED'), deps)).rejects.toThrow(
      NotAStoppedExecutionError,
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('stateFromHistory', () => {
  it('takes the latest state output that carries the plan', () => {
    const rebuilt = stateFromHistory(abortedMidCopy);
    expect(rebuilt.state).toEqual(copyPending);
    expect(rebuilt.lastState).toBe('CopySnapshot');
    expect(rebuilt.startedAt).toBe(STARTED);
    expect(rebuilt).toMatchObject({ error: 'ManualStop', cause: 'oncall-dba: wrong database' });
  });

  it('uses the execution input, as Prepare keeps it, when no state ran', () => {
    expect(stateFromHistory([], { dbInstanceIdentifier: 'orders-db' })).toEqual({
      state: { input: { dbInstanceIdentifier: 'orders-db' } },
      lastState: null,
      startedAt: null,
      error: null,
      cause: null,
    });
  });

  it('skips outputs it cannot parse (Step Functions truncates outputs over 256 KiB)', () => {
    const events = history([
      exited('TaskStateExited', 'Preflight', { input, plan: atCopy.plan }),
      {
        type: 'TaskStateExited',
        stateExitedEventDetails: { name: 'CreateKey', output: '{"input":{"dbInstan' },
      },
    ]);
    expect(stateFromHistory(events).state).toEqual({ input, plan: atCopy.plan });
  });
});

describe('rendering an ABORTED or TIMED_OUT record', () => {
  beforeEach(() => {
    for (const mock of [cloudTrail, kms, s3, sfn]) mock.reset();
    process.env.EVIDENCE_BUCKET = 'rekey-evidence-123';
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    kms.on(DescribeKeyCommand).rejects(new Error('NotFoundException'));
    kms.on(ListAliasesCommand).resolves({ Aliases: [] });
    s3.on(PutObjectCommand).resolves({});
    sfn.on(GetExecutionHistoryCommand).resolves({ events: abortedMidCopy });
  });
  afterEach(() => {
    delete process.env.EVIDENCE_BUCKET;
  });

  it.each([
    ['ABORTED', 'Aborted (stopped by hand, no rollback ran)', 'was stopped (ABORTED)'],
    ['TIMED_OUT', 'Timed out (no rollback ran)', 'timed out'],
  ])(
    '%s: the report names the result and says no rollback ran; history lists the status',
    async (status, label, why) => {
      // Prepare
      await recordStoppedExecution(statusEvent(status), deps);
      const record = bodyOf();

      // Act
      const md = renderMarkdown(record);
      const page = renderHtml(record);
      const table = renderHistory(
        [
          {
            key: 'k',
            rotationId: record.rotationId,
            target: 'orders-db',
            startedAt: STARTED,
            finishedAt: STOPPED,
            durationMs: 40 * 60_000,
            strategy: 'snapshot',
            status: record.execution.status,
            oldKey: null,
            newKey: null,
            requestedBy: 'oncall-dba',
            executionArn: EXECUTION_ARN,
            region: 'us-east-1',
            error: null,
            refused: false,
            problem: null,
          },
        ],
        'rekey-evidence-123',
        undefined,
      );

      // Assess
      expect(md).toContain(label);
      expect(md).toContain('\n## Rollback\n');
      expect(md).toContain(`No rollback ran: the execution ${why}`);
      expect(page).toContain(`status-${status}`);
      expect(page).toContain('No rollback ran');
      expect(table).toContain(status);
    },
  );
});
