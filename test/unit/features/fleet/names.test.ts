import { describe, expect, it } from 'vitest';
import { executionNameFor, idempotencyKeyFor } from '#features/fleet/names.js';

describe('child names', () => {
  it('joins the fleet id and the database, and is the same every time', () => {
    expect(executionNameFor('fleet-2027', 'orders-db')).toBe('fleet-2027-orders-db');
    expect(executionNameFor('fleet-2027', 'orders-db')).toBe(executionNameFor('fleet-2027', 'orders-db'));
    expect(idempotencyKeyFor('fleet-2027', 'orders-db')).toBe('fleet-2027/orders-db');
  });

  it('is a valid Step Functions name: at most 80 of [A-Za-z0-9-_], unique when cut', () => {
    const fleetId = `annual-${'x'.repeat(60)}`;
    const a = executionNameFor(fleetId, `${'a'.repeat(60)}-one`);
    const b = executionNameFor(fleetId, `${'a'.repeat(60)}-two`);
    for (const name of [a, b, executionNameFor('fleet:2027/10', 'orders.db')]) {
      expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
    expect(a).not.toBe(b);
    expect(a).toHaveLength(80);
  });

  it('keeps the idempotency key within 128 printable characters', () => {
    const key = idempotencyKeyFor('f'.repeat(100), 'd'.repeat(63));
    expect(key.length).toBeLessThanOrEqual(128);
    expect(key).toMatch(/^[\x21-\x7e]+$/);
    expect(key).not.toBe(idempotencyKeyFor('f'.repeat(100), `${'d'.repeat(62)}e`));
  });
});
