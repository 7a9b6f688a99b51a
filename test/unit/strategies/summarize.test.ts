import { describe, expect, it } from 'vitest';
import type { RotationOutput } from '#domain/output.js';
import type { RotationState } from '#domain/state.js';
import { summarize } from '#strategies/summarize.js';
import { stepEvent } from '../../support/events.js';

const NEW_ENDPOINT = 'orders-db-rk05e5c03bc0.abcdefghij.us-east-1.rds.amazonaws.com';

const completed = (overrides: Partial<RotationState> = {}): RotationState => ({
  ...stepEvent('summarize'),
  ...overrides,
});

describe('summarize', () => {
  it('reports every resource, key, decision and time of a completed rotation', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const output = await summarize(completed());

    // Assess
    expect(output).toMatchObject({
      rotationId: 'rk05e5c03bc0',
      sourceDbInstanceIdentifier: 'orders-db',
      newDbInstanceIdentifier: 'orders-db-rk05e5c03bc0',
      newEndpoint: { address: NEW_ENDPOINT, port: 5432 },
      oldKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      newKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f',
      snapshotIdentifiers: {
        source: 'rekey-orders-db-rk05e5c03bc0-source',
        reencrypted: 'rekey-orders-db-rk05e5c03bc0-reencrypted',
      },
      oldInstance: 'deleted',
      oldKey: { state: 'PendingDeletion', deletionDate: '2026-11-29T16:02:11.000Z' },
      cutover: { type: 'cname', recordName: 'orders.db.example.internal', newValue: NEW_ENDPOINT },
      configurationChangesAfterRestore: stepEvent('summarize').configure?.applied,
      reason: 'Break glass: suspected compromise of the orders-db key (INC-4711)',
      requestedBy: 'oncall-dba',
      startedAt: '2026-11-22T15:30:00.000Z',
    });
    expect(Date.parse(output.finishedAt)).toBeGreaterThanOrEqual(before);
  });

  it('reports a retained instance and key with the reason', async () => {
    // Act
    const output = await summarize(
      completed({
        retireInstance: {
          done: true,
          outcome: 'retained',
          status: 'stopped',
          reason: 'oldInstance is "retain" in the input.',
        },
        oldKey: {
          state: 'Retained',
          keyArn: 'k',
          reason: 'the old instance is kept',
          encryptedResources: ['db-instance:orders-db'],
        },
      }),
    );

    // Assess
    expect((output as RotationOutput).oldInstance).toBe('retained');
    expect(output.oldKey).toEqual({ state: 'Retained', reason: 'the old instance is kept' });
  });

  it('fails clearly when called before validation ran', async () => {
    // Prepare
    const state = completed();
    delete state.validation;

    // Act / Assess
    await expect(summarize(state)).rejects.toThrow('state.validation is missing');
  });
});
