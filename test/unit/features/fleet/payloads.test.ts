import { describe, expect, it } from 'vitest';
import {
  fitOutput,
  fleetPayloads,
  MAX_PAYLOAD_BYTES,
  OUTPUT_LIMIT_BYTES,
  sizeOf,
} from '#features/fleet/payloads.js';
import type { DatabaseOutcome, FleetOutput } from '#features/fleet/types.js';

const outcome = (
  id: string,
  status: DatabaseOutcome['status'],
  cause: string | null = null,
): DatabaseOutcome => ({
  id,
  kind: 'instance',
  status,
  rotationId: 'rk0123456789',
  executionArn: `arn:aws:states:us-east-1:123456789012:execution:rotate:${id}`,
  startedAt: '2027-03-09T06:00:00.000Z',
  finishedAt: '2027-03-09T07:00:00.000Z',
  oldKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/old',
  newKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/new',
  evidenceUri: `s3://rekey-evidence/rotations/${id}/record.json`,
  error: status === 'FAILED' ? 'ValidationFailedError' : null,
  cause,
});

const fleet = (databases: DatabaseOutcome[]): FleetOutput => ({
  fleetId: 'annual-2027',
  status: 'FAILED',
  reason: 'annual rotation 2027',
  requestedBy: 'platform-team',
  startedAt: '2027-03-09T06:00:00.000Z',
  finishedAt: '2027-03-10T06:00:00.000Z',
  maxConcurrency: 3,
  maxFailures: 1,
  onIneligible: 'skip',
  counts: { SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, NOT_STARTED: 0 },
  databases,
  warnings: [],
  evidenceUri: 's3://rekey-evidence/fleets/annual-2027/record.json',
});

describe('the fleet output under the payload limit', () => {
  it('is whole when it fits', () => {
    // Act
    const fitted = fitOutput(fleet([outcome('orders-db', 'SUCCEEDED'), outcome('ledger', 'FAILED', 'boom')]));

    // Assess
    expect(fitted.complete).toBe(true);
    expect(fitted.databases.map((d) => d.id)).toEqual(['orders-db', 'ledger']);
    expect(fitted.warnings).toEqual([]);
  });

  it('keeps every database that did not succeed, and points to the record, when the whole list is too big', () => {
    // Prepare
    const many = Array.from({ length: 1500 }, (_, i) => outcome(`db-${i}`, 'SUCCEEDED'));

    // Act
    const fitted = fitOutput(fleet([...many, outcome('ledger', 'FAILED', 'the new key is not on it')]));

    // Assess
    expect(fitted.complete).toBe(false);
    expect(fitted.databases).toEqual([outcome('ledger', 'FAILED', 'the new key is not on it')]);
    expect(fitted.warnings.join(' ')).toContain('s3://rekey-evidence/fleets/annual-2027/record.json');
    expect(sizeOf(fitted)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
  });

  it('cuts long causes, then lists only ids and statuses, and says how many it left out', () => {
    // Prepare
    const failed = Array.from({ length: 3000 }, (_, i) =>
      outcome(`db-${i}-${'x'.repeat(50)}`, 'FAILED', 'c'.repeat(2048)),
    );

    // Act
    const fitted = fitOutput(fleet(failed));

    // Assess
    expect(sizeOf(fitted)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(fitted.databases.length).toBeGreaterThan(0);
    expect(fitted.databases.length).toBeLessThan(3000);
    expect(fitted.databases.every((d) => d.cause === null && d.status === 'FAILED')).toBe(true);
    expect(fitted.warnings[0]).toContain(`the first ${fitted.databases.length} of 3000`);
  });

  it('keeps every payload of a 1,000-database fleet under 256 KB, in the worst case', () => {
    // Act
    const { bytes } = fleetPayloads(1000);

    // Assess
    for (const [name, size] of Object.entries(bytes))
      expect(size, name).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
  });
});
