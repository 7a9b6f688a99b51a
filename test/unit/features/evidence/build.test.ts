import type { HistoryEventType } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { ClusterPlan, RotationPlan } from '#domain/plan.js';
import type { InstanceState } from '#domain/state.js';
import { buildEvidence } from '#features/evidence/build.js';
import type { BuildEvidenceOptions, CloudTrailInput, EvidenceState } from '#features/evidence/context.js';
import { historyFromStepFunctions } from '#features/evidence/history.js';
import type { HistoryEventEvidence } from '#features/evidence/schema.js';
import { deriveSteps } from '#features/evidence/steps.js';
import { stepEvent } from '../../../support/events.js';

const EXECUTION = {
  Id: 'arn:aws:states:us-east-1:123456789012:execution:rekey-rotate-instance:inc-4711',
  Name: 'inc-4711',
  StartTime: '2026-11-22T15:30:00.000Z',
};
const NOW = new Date('2026-11-22T16:10:00.000Z');

const at = (seconds: number) => new Date(Date.parse('2026-11-22T15:30:00.000Z') + seconds * 1000);

/** A Step Functions history: CopySnapshot polled twice with a 30 s wait, then retried once after a throttle. */
const SFN_HISTORY = historyFromStepFunctions([
  { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
  { id: 2, type: 'TaskStateEntered', timestamp: at(1), stateEnteredEventDetails: { name: 'CopySnapshot' } },
  { id: 3, type: 'LambdaFunctionScheduled', timestamp: at(1) },
  { id: 4, type: 'LambdaFunctionSucceeded', timestamp: at(2) },
  { id: 5, type: 'TaskStateExited', timestamp: at(2), stateExitedEventDetails: { name: 'CopySnapshot' } },
  {
    id: 6,
    type: 'ChoiceStateEntered',
    timestamp: at(2),
    stateEnteredEventDetails: { name: 'CopySnapshotDone?' },
  },
  {
    id: 7,
    type: 'ChoiceStateExited',
    timestamp: at(2),
    stateExitedEventDetails: { name: 'CopySnapshotDone?' },
  },
  {
    id: 8,
    type: 'WaitStateEntered',
    timestamp: at(2),
    stateEnteredEventDetails: { name: 'WaitForCopySnapshot' },
  },
  {
    id: 9,
    type: 'WaitStateExited',
    timestamp: at(32),
    stateExitedEventDetails: { name: 'WaitForCopySnapshot' },
  },
  { id: 10, type: 'TaskStateEntered', timestamp: at(32), stateEnteredEventDetails: { name: 'CopySnapshot' } },
  { id: 11, type: 'LambdaFunctionScheduled', timestamp: at(32) },
  {
    id: 12,
    type: 'LambdaFunctionFailed',
    timestamp: at(33),
    lambdaFunctionFailedEventDetails: { error: 'TransientAwsError', cause: 'Throttling' },
  },
  { id: 13, type: 'LambdaFunctionScheduled', timestamp: at(38) },
  { id: 14, type: 'LambdaFunctionSucceeded', timestamp: at(39) },
  { id: 15, type: 'TaskStateExited', timestamp: at(40), stateExitedEventDetails: { name: 'CopySnapshot' } },
  {
    id: 16,
    type: 'TaskStateEntered',
    timestamp: at(40),
    stateEnteredEventDetails: { name: 'RestoreInstance' },
  },
  { id: 17, type: 'LambdaFunctionScheduled', timestamp: at(40) },
  {
    id: 18,
    type: 'LambdaFunctionFailed',
    timestamp: at(41),
    lambdaFunctionFailedEventDetails: { error: 'InsufficientDBInstanceCapacityFault', cause: 'no capacity' },
  },
  { id: 19, type: 'TaskStateEntered', timestamp: at(42), stateEnteredEventDetails: { name: 'Rollback' } },
  { id: 20, type: 'LambdaFunctionScheduled', timestamp: at(42) },
]);

const NO_CLOUDTRAIL: CloudTrailInput = {
  available: false,
  reason: 'LookupEvents failed: AccessDeniedException (HTTP 400): not authorized',
  lookedUp: [],
  events: [],
  startedBy: null,
  notes: [],
};

const build = (state: EvidenceState, overrides: Partial<BuildEvidenceOptions> = {}) =>
  buildEvidence({
    state,
    execution: EXECUTION,
    history: { source: 'states:GetExecutionHistory', events: [], truncated: false },
    cloudTrail: NO_CLOUDTRAIL,
    keys: { old: null, new: null },
    now: NOW,
    ...overrides,
  });

describe('deriveSteps', () => {
  it('gives each Task its duration from first entry to last exit, its invocations, waits and outcome', () => {
    // Act
    const steps = deriveSteps(SFN_HISTORY);

    // Assess
    expect(steps).toEqual([
      {
        name: 'CopySnapshot',
        startedAt: '2026-11-22T15:30:01.000Z',
        finishedAt: '2026-11-22T15:30:40.000Z',
        durationMs: 39_000,
        invocations: 3,
        waitedSeconds: 30,
        outcome: 'succeeded',
      },
      {
        name: 'RestoreInstance',
        startedAt: '2026-11-22T15:30:40.000Z',
        finishedAt: '2026-11-22T15:30:41.000Z',
        durationMs: 1000,
        invocations: 1,
        waitedSeconds: 0,
        outcome: 'failed',
      },
      expect.objectContaining({ name: 'Rollback', finishedAt: null, durationMs: null, outcome: 'running' }),
    ]);
  });

  it('counts an event-driven wait (AwaitX) as waited time of its step, its timeout not a failure', () => {
    // Prepare: StopSource polls; AwaitStopSource times out (no event) after 60 s, then the event
    // wakes the second wait after 20 s.
    const entered = (id: number, s: number, type: HistoryEventType, name: string) => ({
      id,
      type,
      timestamp: at(s),
      stateEnteredEventDetails: { name },
    });
    const exited = (id: number, s: number, type: HistoryEventType, name: string) => ({
      id,
      type,
      timestamp: at(s),
      stateExitedEventDetails: { name },
    });
    const history = historyFromStepFunctions([
      { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
      entered(2, 1, 'TaskStateEntered', 'StopSource'),
      { id: 3, type: 'LambdaFunctionScheduled', timestamp: at(1) },
      { id: 4, type: 'LambdaFunctionSucceeded', timestamp: at(2) },
      exited(5, 2, 'TaskStateExited', 'StopSource'),
      entered(6, 2, 'TaskStateEntered', 'AwaitStopSource'),
      { id: 7, type: 'TaskScheduled', timestamp: at(2) },
      { id: 8, type: 'TaskTimedOut', timestamp: at(62) },
      entered(9, 62, 'TaskStateEntered', 'StopSource'),
      { id: 10, type: 'LambdaFunctionScheduled', timestamp: at(62) },
      { id: 11, type: 'LambdaFunctionSucceeded', timestamp: at(63) },
      exited(12, 63, 'TaskStateExited', 'StopSource'),
      entered(13, 63, 'TaskStateEntered', 'AwaitStopSource'),
      { id: 14, type: 'TaskScheduled', timestamp: at(63) },
      { id: 15, type: 'TaskSucceeded', timestamp: at(83) },
      exited(16, 83, 'TaskStateExited', 'AwaitStopSource'),
      entered(17, 83, 'TaskStateEntered', 'StopSource'),
      { id: 18, type: 'LambdaFunctionScheduled', timestamp: at(83) },
      { id: 19, type: 'LambdaFunctionSucceeded', timestamp: at(84) },
      exited(20, 84, 'TaskStateExited', 'StopSource'),
    ]);

    // Act
    const steps = deriveSteps(history);

    // Assess
    expect(steps).toEqual([
      {
        name: 'StopSource',
        startedAt: at(1).toISOString(),
        finishedAt: at(84).toISOString(),
        durationMs: 83_000,
        invocations: 3,
        waitedSeconds: 80,
        outcome: 'succeeded',
      },
    ]);
  });

  it('keeps the state name and the error of each history event', () => {
    expect(SFN_HISTORY[11]).toEqual<HistoryEventEvidence>({
      id: 12,
      timestamp: '2026-11-22T15:30:33.000Z',
      type: 'LambdaFunctionFailed',
      stateName: 'CopySnapshot',
      detail: 'TransientAwsError: Throttling',
    });
  });
});

describe('buildEvidence', () => {
  it('records a completed cname rotation: keys, resources with times, validation, cutover, old key', () => {
    // Prepare
    const state = stepEvent('summarize');
    const history = historyFromStepFunctions(
      [
        'CreateKey',
        'StopSource',
        'SnapshotSource',
        'CopySnapshot',
        'RestoreInstance',
        'Cutover',
        'RetireKey',
      ].flatMap((name, i) => [
        {
          id: 3 * i + 1,
          type: 'TaskStateEntered',
          timestamp: at(10 * i),
          stateEnteredEventDetails: { name },
        },
        { id: 3 * i + 2, type: 'LambdaFunctionScheduled', timestamp: at(10 * i) },
        {
          id: 3 * i + 3,
          type: 'TaskStateExited',
          timestamp: at(10 * i + 5),
          stateExitedEventDetails: { name },
        },
      ]),
    );

    // Act
    const record = build(state, {
      history: { source: 'states:GetExecutionHistory', events: history, truncated: false },
    });

    // Assess
    expect(record).toMatchObject({
      schemaVersion: 'rekey.evidence/v1',
      rotationId: state.plan.rotationId,
      execution: {
        arn: EXECUTION.Id,
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:rekey-rotate-instance',
        consoleUrl: expect.stringContaining('https://us-east-1.console.aws.amazon.com/states/home'),
        status: 'SUCCEEDED',
        error: null,
      },
      startedBy: { principal: null, source: 'unknown', requestedBy: 'oncall-dba' },
      target: { kind: 'instance', identifier: 'orders-db', accountId: '123456789012' },
      validation: { passed: true, differences: [], expectedKeyArn: state.newKey?.keyArn },
      cutover: {
        type: 'cname',
        before: state.cutover?.previousValue,
        after: state.cutover?.newValue,
        verified: true,
      },
      oldKeyOutcome: { state: 'PendingDeletion', deletionDate: '2026-11-29T16:02:11.000Z' },
      cloudTrail: { available: false, reason: expect.stringContaining('AccessDenied') },
      rollback: null,
    });
    const lines = record.resources.map((r) => `${r.kind} ${r.identifier} ${r.action} ${r.at}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        `kms-key ${state.newKey?.keyId} created 2026-11-22T15:30:05.000Z`,
        'db-instance orders-db stopped 2026-11-22T15:30:15.000Z',
        `db-snapshot ${state.sourceSnapshot?.snapshotIdentifier} created 2026-11-22T15:30:25.000Z`,
        `db-snapshot ${state.copySnapshot?.snapshotIdentifier} created 2026-11-22T15:30:35.000Z`,
        `db-instance ${state.restore?.dbInstanceIdentifier} created 2026-11-22T15:30:45.000Z`,
        'dns-record orders.db.example.internal changed 2026-11-22T15:30:55.000Z',
        `db-snapshot ${state.sourceSnapshot?.snapshotIdentifier} deleted 2026-11-22T15:31:05.000Z`,
        expect.stringMatching(/^kms-key [0-9a-f-]+ scheduled-for-deletion 2026-11-22T15:31:05.000Z$/),
      ]),
    );
    expect(lines.some((line) => line.startsWith('db-instance orders-db deleted'))).toBe(true);
  });

  it('records the source snapshot deleted when RetireKey kept the old key for something else under it', () => {
    // Prepare
    const state = stepEvent('summarize');
    state.oldKey = {
      state: 'Retained',
      keyArn: state.plan.source.kmsKeyArn,
      reason:
        'The old key is kept because 1 other RDS resource is still encrypted under it: db-instance:invoices-db.',
      encryptedResources: ['db-instance:invoices-db'],
      sourceSnapshotDeleted: true,
    };

    // Act
    const record = build(state);

    // Assess
    expect(record.oldKeyOutcome).toMatchObject({
      state: 'Retained',
      reason: expect.stringContaining('invoices-db'),
    });
    const lines = record.resources.map((r) => `${r.kind} ${r.identifier} ${r.action}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        `db-snapshot ${state.sourceSnapshot?.snapshotIdentifier} deleted`,
        expect.stringMatching(/^kms-key [0-9a-f-]+ retained$/),
      ]),
    );
  });

  it('records a rename cutover as two renames and the old instance under its aside name', () => {
    // Prepare
    const base = stepEvent('summarize');
    const aside = `orders-db-old-${base.plan.rotationId}`;
    const state: InstanceState = {
      ...base,
      plan: {
        ...base.plan,
        cutover: { type: 'rename', asideIdentifier: aside, endpointAddress: 'orders-db.x' },
      },
      freeze: { done: true, stoppedByRekey: true, movedAside: true, status: 'stopped' },
      cutover: {
        done: true,
        type: 'rename',
        phase: 'done',
        sourceMoveRequested: true,
        newRenameRequested: true,
        oldIdentifier: aside,
        newIdentifier: 'orders-db',
        previousValue: 'orders-db.x',
        newValue: 'orders-db.x',
        status: 'available',
        verified: true,
      },
    };

    // Act
    const record = build(state);

    // Assess
    expect(record.cutover).toMatchObject({
      type: 'rename',
      before: 'orders-db.x',
      after: 'orders-db.x',
      verified: true,
    });
    expect(record.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          identifier: 'orders-db',
          action: 'renamed',
          detail: `renamed to ${aside}`,
        }),
        expect.objectContaining({ identifier: state.validation?.dbInstanceIdentifier, action: 'renamed' }),
        expect.objectContaining({ identifier: aside, action: 'deleted' }),
      ]),
    );
  });

  it('records a cluster: the new cluster and its members', () => {
    // Prepare
    const base = stepEvent('summarize');
    const plan = {
      ...base.plan,
      kind: 'cluster',
      target: { kind: 'cluster', identifier: 'orders-aurora' },
      source: {
        dbClusterIdentifier: 'orders-aurora',
        dbClusterArn: 'arn:aws:rds:us-east-1:123456789012:cluster:orders-aurora',
        endpointAddress: 'orders-aurora.cluster-x',
        readerEndpointAddress: null,
        port: 5432,
        kmsKeyArn: base.plan.source.kmsKeyArn,
        keyManager: 'CUSTOMER',
        config: {},
        members: [],
      },
    } as unknown as ClusterPlan;
    const state: EvidenceState = {
      ...base,
      plan: plan as RotationPlan,
      restore: {
        done: true,
        dbInstanceIdentifier: 'orders-aurora-rk1',
        dbClusterIdentifier: 'orders-aurora-rk1',
        dbInstanceArn: null,
        status: 'available',
        members: [
          {
            sourceDbInstanceIdentifier: 'orders-aurora-1',
            dbInstanceIdentifier: 'orders-aurora-1-rk1',
            isWriter: true,
            status: 'available',
          },
        ],
      },
    };

    // Act
    const record = build(state);

    // Assess
    expect(record.target).toMatchObject({ kind: 'cluster', identifier: 'orders-aurora' });
    expect(record.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'db-cluster',
          identifier: 'orders-aurora-rk1',
          arn: 'arn:aws:rds:us-east-1:123456789012:cluster:orders-aurora-rk1',
          action: 'created',
        }),
        expect.objectContaining({
          kind: 'db-instance',
          identifier: 'orders-aurora-1-rk1',
          action: 'created',
        }),
        expect.objectContaining({ kind: 'db-cluster-snapshot', action: 'created' }),
      ]),
    );
  });

  describe('re-encryption (how the data reached the new key)', () => {
    /** An Aurora rotation of the current definition: no copy, restored from the source snapshot. */
    const clusterState = (extra: Partial<EvidenceState> = {}): EvidenceState => {
      const base = stepEvent('summarize');
      const { copySnapshotIdentifier: _none, ...names } = base.plan.names;
      const plan = {
        ...base.plan,
        kind: 'cluster',
        target: { kind: 'cluster', identifier: 'orders-aurora' },
        names: {
          ...names,
          sourceSnapshotIdentifier: 'rekey-orders-aurora-rk1-source',
          cluster: {
            newDbClusterIdentifier: 'orders-aurora-rk1',
            asideDbClusterIdentifier: 'x',
            newMemberIdentifiers: {},
          },
        },
      } as unknown as ClusterPlan;
      return {
        ...base,
        plan: plan as RotationPlan,
        sourceSnapshot: {
          done: true,
          snapshotIdentifier: 'rekey-orders-aurora-rk1-source',
          snapshotArn: null,
          kmsKeyId: base.plan.source.kmsKeyArn,
          status: 'available',
        },
        copySnapshot: undefined,
        restore: {
          done: true,
          dbInstanceIdentifier: 'orders-aurora-rk1',
          dbClusterIdentifier: 'orders-aurora-rk1',
          dbInstanceArn: null,
          status: 'available',
          members: [],
          restoredFrom: { snapshotIdentifier: 'rekey-orders-aurora-rk1-source', reencryptedBy: 'restore' },
        },
        ...extra,
      };
    };

    it('says an Aurora cluster was restored directly from its source snapshot, with no copy', () => {
      // Act
      const record = build(clusterState());

      // Assess
      expect(record.reencryption).toEqual({
        method: 'restore',
        restoredFrom: 'rekey-orders-aurora-rk1-source',
        copySnapshotIdentifier: null,
        detail: expect.stringContaining('no re-encrypting copy'),
      });
      const created = record.resources.filter((r) => r.action === 'created' && r.kind.endsWith('snapshot'));
      expect(created).toEqual([
        expect.objectContaining({
          kind: 'db-cluster-snapshot',
          identifier: 'rekey-orders-aurora-rk1-source',
        }),
      ]);
      expect(record.resources.find((r) => r.kind === 'db-cluster' && r.action === 'created')?.detail).toBe(
        'restored directly from the source snapshot under the new key (no re-encrypting copy); validated under the new key',
      );
    });

    it('lists no copy for the copy step of an earlier definition that copied nothing', () => {
      // Prepare: an execution that started before the skip passed CopySnapshot, which answered "not needed".
      const source = clusterState().sourceSnapshot;
      const state = clusterState({ copySnapshot: source && { ...source, status: 'not-needed' } });

      // Act
      const record = build(state);

      // Assess
      expect(record.reencryption?.method).toBe('restore');
      const created = record.resources.filter((r) => r.action === 'created' && r.kind.endsWith('snapshot'));
      expect(created.map((r) => r.identifier)).toEqual(['rekey-orders-aurora-rk1-source']);
    });

    it('says a DB instance was copied under the new key and restored from the copy', () => {
      // Act
      const record = build(stepEvent('summarize'));

      // Assess
      expect(record.reencryption).toEqual({
        method: 'snapshot-copy',
        restoredFrom: expect.stringMatching(/-reencrypted$/),
        copySnapshotIdentifier: expect.stringMatching(/-reencrypted$/),
        detail: expect.stringContaining('copied under the new key'),
      });
    });

    it('has no re-encryption for a Blue/Green rotation', () => {
      // Prepare
      const base = stepEvent('summarize');

      // Act
      const record = build({
        ...base,
        plan: {
          ...base.plan,
          strategy: { requested: 'blue-green', used: 'blue-green', reason: 'asked', blueGreenIneligible: [] },
        },
      });

      // Assess
      expect(record.reencryption).toBeNull();
    });
  });

  it('records a Blue/Green rotation: deployment, greens, switchover, old blues deleted', () => {
    // Prepare
    const base = stepEvent('summarize');
    const green = 'arn:aws:rds:us-east-1:123456789012:db:orders-db-green-abc';
    const state: EvidenceState = {
      ...base,
      plan: {
        ...base.plan,
        strategy: { requested: 'blue-green', used: 'blue-green', reason: 'asked', blueGreenIneligible: [] },
      },
      freeze: undefined,
      sourceSnapshot: undefined,
      copySnapshot: undefined,
      restore: undefined,
      configure: undefined,
      validation: undefined,
      cutover: undefined,
      greenDeployment: {
        done: true,
        deploymentId: 'bgd-123',
        deploymentName: 'rekey-orders-db',
        status: 'AVAILABLE',
        created: true,
        members: [{ sourceArn: base.plan.source.dbInstanceArn, targetArn: green, status: 'AVAILABLE' }],
      },
      greenValidation: {
        deploymentId: 'bgd-123',
        checkedAt: '2026-11-22T15:40:00.000Z',
        resources: [
          {
            kind: 'db-instance',
            identifier: 'orders-db-green-abc',
            arn: green,
            status: 'available',
            kmsKeyArn: base.newKey?.keyArn ?? null,
            sourceArn: base.plan.source.dbInstanceArn,
          },
        ],
      },
      switchover: {
        done: true,
        deploymentId: 'bgd-123',
        status: 'SWITCHOVER_COMPLETED',
        requested: true,
        switchoverTimeoutSeconds: 300,
        members: [],
        completedAt: '2026-11-22T15:45:00.000Z',
      },
      retireInstance: {
        done: true,
        outcome: 'deleted',
        status: 'deleted',
        deploymentDeleted: true,
        deleted: ['orders-db-old1'],
        retained: [],
      },
    };

    // Act
    const record = build(state);

    // Assess
    expect(record.strategy).toMatchObject({ used: 'blue-green' });
    expect(record.validation).toMatchObject({
      passed: true,
      actualKeyArn: base.newKey?.keyArn,
      differences: [],
    });
    expect(record.cutover).toMatchObject({ type: 'switchover', verified: true });
    expect(record.resources.map((r) => `${r.kind} ${r.identifier} ${r.action}`)).toEqual(
      expect.arrayContaining([
        'blue-green-deployment bgd-123 created',
        'db-instance orders-db-green-abc created',
        'blue-green-deployment bgd-123 changed',
        'db-instance orders-db-old1 deleted',
        'blue-green-deployment bgd-123 deleted',
      ]),
    );
  });

  it('records a failure with its error, the cause the Fail state gives, and the rollback lines', () => {
    // Prepare
    const base = stepEvent('rollback');
    const state: EvidenceState = {
      ...base,
      failure: { Error: 'InsufficientDBInstanceCapacityFault', Cause: '{"errorMessage":"no capacity"}' },
      rollback: {
        done: true,
        undone: ['started orders-db again'],
        leftBehind: ['the new key (pending deletion)'],
        cause: 'no capacity. Undone: started orders-db again.',
      },
      oldKey: undefined,
    };

    // Act
    const record = build(state, {
      history: { source: 'states:GetExecutionHistory', events: SFN_HISTORY, truncated: false },
    });

    // Assess
    expect(record.execution).toMatchObject({
      status: 'FAILED',
      error: 'InsufficientDBInstanceCapacityFault',
      cause: 'no capacity. Undone: started orders-db again.',
    });
    expect(record.rollback).toEqual({
      undone: ['started orders-db again'],
      leftBehind: ['the new key (pending deletion)'],
    });
    expect(record.oldKeyOutcome).toMatchObject({ state: 'Untouched', deletionDate: null });
    expect(record.steps.find((s) => s.name === 'RestoreInstance')?.outcome).toBe('failed');
  });

  it('records a rollback that failed itself as RollbackFailedError', () => {
    const record = build({
      ...stepEvent('rollback'),
      failure: { Error: 'X', Cause: 'y' },
      rollbackFailure: { cause: 'both broke' },
    });
    expect(record.execution).toMatchObject({
      status: 'FAILED',
      error: 'RollbackFailedError',
      cause: 'both broke',
    });
  });

  it('records a refusal before the plan from the input, and a duplicate start as SKIPPED', () => {
    // Act
    const refused = build({
      input: { dbInstanceIdentifier: 'orders-db', reason: 'x' },
      failure: { Error: 'InvalidInputError', Cause: 'bad' },
      rollback: { done: true, undone: [], leftBehind: [], cause: 'bad. Nothing was changed in AWS.' },
    });
    const skipped = build({
      input: { dbInstanceIdentifier: 'orders-db', reason: 'x', requestedBy: 'scheduler' },
      start: { duplicateOf: 'rk0123456789', skipped: 'Nothing was done: rk0123456789 already ran.' },
    });

    // Assess
    expect(refused).toMatchObject({
      execution: { status: 'FAILED', error: 'InvalidInputError' },
      target: { kind: 'instance', identifier: 'orders-db', region: 'us-east-1', accountId: '123456789012' },
      resources: [],
      keys: { old: null, new: null },
    });
    expect(skipped.execution.status).toBe('SKIPPED');
    expect(skipped.notes).toContain('Nothing was done: rk0123456789 already ran.');
    expect(skipped.oldKeyOutcome.state).toBe('Untouched');
  });

  it('says when CloudTrail was available and who started the execution', () => {
    const record = build(stepEvent('summarize'), {
      cloudTrail: {
        ...NO_CLOUDTRAIL,
        available: true,
        reason: null,
        startedBy: {
          principal: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
          sourceIpAddress: '10.0.0.1',
          userAgent: 'aws-cli',
        },
      },
    });
    expect(record.startedBy).toEqual({
      principal: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
      source: 'cloudtrail',
      requestedBy: 'oncall-dba',
      sourceIpAddress: '10.0.0.1',
      userAgent: 'aws-cli',
    });
    expect(record.cloudTrail).toMatchObject({ available: true, reason: null });
  });
});
