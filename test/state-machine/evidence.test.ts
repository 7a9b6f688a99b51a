import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { InsufficientDBInstanceCapacityFault } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RotationOutput } from '#domain/output.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import { LOCAL_EVIDENCE_BUCKET, readEvidence } from '../../cli/evidence-bucket.js';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import { runRotation } from '../support/rotation.js';

/**
 * Issue 5: the evidence record a compliance reviewer reads a year later, written by the real
 * RecordEvidence step at the end of a rotation over moto_server and read back from its S3.
 * CloudTrail LookupEvents is not implemented by the emulator: only the CloudTrail client is mocked.
 */

const cloudTrail = mockClient(CloudTrailClient);
const DAY = 24 * 60 * 60 * 1000;

describe('the evidence record of a rotation on the emulator', () => {
  useEmulator();
  beforeEach(() => {
    cloudTrail.reset();
  });

  it('holds what a reviewer needs after the break-glass rotation', async () => {
    // Prepare
    const sample = await seedSample();
    const executionArn = 'arn:aws:states:us-east-1:000000000000:execution:rekey-local:evidence-happy';
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    cloudTrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'StartExecution' }],
      })
      .resolves({
        Events: [
          {
            EventId: 'start',
            EventName: 'StartExecution',
            EventSource: 'states.amazonaws.com',
            EventTime: new Date(),
            CloudTrailEvent: JSON.stringify({
              userIdentity: { arn: 'arn:aws:sts::123456789012:assumed-role/oncall/alice' },
              sourceIPAddress: '203.0.113.7',
              responseElements: { executionArn },
            }),
          },
        ],
      });
    cloudTrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: sample.oldKeyArn }],
      })
      .resolves({
        Events: [
          {
            EventId: 'sched',
            EventName: 'ScheduleKeyDeletion',
            EventSource: 'kms.amazonaws.com',
            EventTime: new Date(),
            Resources: [{ ResourceName: sample.oldKeyArn }],
          },
        ],
      });
    const started = Date.now();

    // Act
    const result = await runRotation({
      input: executionInput('break-glass'),
      executionName: 'evidence-happy',
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = (result as { output: RotationOutput & { evidence: { bucket: string; key: string } } })
      .output;
    expect(output.evidence).toMatchObject({
      bucket: LOCAL_EVIDENCE_BUCKET,
      key: expect.stringMatching(/^rotations\/orders-db\//),
    });
    expect(result.evidence?.key).toBe(output.evidence.key);
    const record = JSON.parse(
      await readEvidence(output.evidence.bucket, output.evidence.key),
    ) as EvidenceRecord;

    expect(record).toMatchObject({
      schemaVersion: 'rekey.evidence/v1',
      rotationId: output.rotationId,
      execution: { arn: executionArn, status: 'SUCCEEDED', error: null },
      // A local run on an emulator claims no identity, even one a StartExecution event would give.
      startedBy: { principal: null, source: 'emulator', requestedBy: 'oncall-dba' },
      environment: {
        runner: 'local',
        services: 'emulator',
        endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/),
      },
      approval: null,
      refused: false,
      input: executionInput('break-glass'),
      reason: 'Break glass: suspected compromise of the orders-db key (INC-4711)',
      target: { kind: 'instance', identifier: 'orders-db' },
      keys: {
        old: { arn: sample.oldKeyArn, keyState: 'PendingDeletion' },
        new: { arn: output.newKeyArn, keyState: 'Enabled', alias: expect.stringMatching(/^alias\/rekey\//) },
      },
      validation: {
        passed: true,
        differences: [],
        expectedKeyArn: output.newKeyArn,
        actualKeyArn: output.newKeyArn,
      },
      cutover: {
        type: 'cname',
        before: sample.endpointAddress,
        after: output.newEndpoint.address,
        verified: true,
      },
      oldKeyOutcome: {
        state: 'PendingDeletion',
        deletionDate: output.oldKey.state === 'PendingDeletion' ? output.oldKey.deletionDate : '',
      },
      history: { source: 'local-runner', truncated: false },
      cloudTrail: { available: true, reason: null },
      rollback: null,
    });
    const deletion = Date.parse(record.keys.old?.deletionDate ?? '');
    expect(deletion - started).toBeGreaterThan(7 * DAY - 60_000);
    expect(deletion - started).toBeLessThan(7 * DAY + 60_000);

    const actions = record.resources.map((r) => `${r.kind} ${r.identifier} ${r.action}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        `kms-key ${output.newKeyArn.split('/')[1]} created`,
        `db-snapshot ${output.snapshotIdentifiers.source} created`,
        `db-snapshot ${output.snapshotIdentifiers.reencrypted} created`,
        `db-instance ${output.newDbInstanceIdentifier} created`,
        'dns-record orders.db.example.internal changed',
        'db-instance orders-db deleted',
        `db-snapshot ${output.snapshotIdentifiers.source} deleted`,
        `kms-key ${sample.oldKeyArn.split('/')[1]} scheduled-for-deletion`,
      ]),
    );
    expect(record.resources.every((r) => r.at && Date.parse(r.at) >= started - 1000)).toBe(true);

    const stepNames = record.steps.map((s) => s.name);
    expect(stepNames).toEqual(
      expect.arrayContaining(['Preflight', 'CopySnapshot', 'Cutover', 'RetireKey', 'Summarize']),
    );
    expect(
      record.steps
        .filter((s) => s.name !== 'RecordEvidence')
        .every((s) => s.outcome === 'succeeded' && (s.durationMs ?? -1) >= 0),
    ).toBe(true);
    expect(record.history.events.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'ExecutionStarted',
        'TaskStateEntered',
        'LambdaFunctionScheduled',
        'TaskStateExited',
      ]),
    );
    expect(record.cloudTrail.lookedUp).toEqual(
      expect.arrayContaining([sample.oldKeyArn, output.newKeyArn, 'orders-db']),
    );
    expect(record.cloudTrail.events.map((e) => e.eventName)).toEqual(['ScheduleKeyDeletion']);
    expect(
      cloudTrail
        .commandCalls(LookupEventsCommand)
        .map((c) => c.args[0].input.LookupAttributes?.[0]?.AttributeKey),
    ).not.toContain('EventName');
  });

  it('records a failed rotation with its error, cause and rollback, and still fails with them', async () => {
    // Prepare
    await seedSample();
    cloudTrail.on(LookupEventsCommand).rejects(new Error('AccessDeniedException: not authorized'));

    // Act
    const result = await runRotation({
      input: executionInput('break-glass'),
      executionName: 'evidence-failed',
      wrapTask: (stateName, invoke) =>
        stateName === 'RestoreInstance'
          ? async () => {
              throw new InsufficientDBInstanceCapacityFault({
                message: 'no capacity for db.t3.medium',
                $metadata: {},
              });
            }
          : invoke,
    });

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'InsufficientDBInstanceCapacityFault' });
    const cause = (result as { cause: string }).cause;
    expect(result.evidence).toBeDefined();
    const record = JSON.parse(
      await readEvidence(result.evidence?.bucket ?? '', result.evidence?.key ?? ''),
    ) as EvidenceRecord;
    expect(record.execution).toMatchObject({
      status: 'FAILED',
      error: 'InsufficientDBInstanceCapacityFault',
      cause,
    });
    expect(record.rollback?.undone).toEqual(
      expect.arrayContaining([expect.stringContaining('started orders-db again')]),
    );
    expect(record.oldKeyOutcome.state).toBe('Untouched');
    expect(record.keys.old?.keyState).toBe('Enabled');
    // The rollback's typed facts, as resources: what it deleted and scheduled, and the source started.
    const actions = record.resources.map((r) => `${r.kind} ${r.action} ${r.detail}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^db-instance started started again by the rollback$/),
        expect.stringMatching(/^db-snapshot deleted created by this rotation, deleted by the rollback/),
        expect.stringMatching(
          /^kms-key scheduled-for-deletion the unused new key, scheduled for deletion by the rollback/,
        ),
      ]),
    );
    expect(
      record.resources.some(
        (r) =>
          /under the new key/.test(r.detail ?? '') &&
          !/NOT the new key|asked to be/.test(r.detail ?? '') &&
          r.kind === 'db-instance',
      ),
    ).toBe(false);
    expect(record.steps.find((s) => s.name === 'RestoreInstance')?.outcome).toBe('failed');
    expect(record.cloudTrail).toMatchObject({
      available: false,
      reason: expect.stringContaining('AccessDenied'),
    });
  });
});
