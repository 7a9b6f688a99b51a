import { describe, expect, it } from 'vitest';
import { isFleetInput, parseFleetInput } from '#features/fleet/input.js';
import { executionInput } from '../../../support/events.js';

const ISSUE_EXAMPLE = {
  fleet: {
    select: { tags: { 'rekey:rotate': 'annual' }, keyOlderThanDays: 300 },
    maxConcurrency: 3,
    maxFailures: 1,
  },
  defaults: { strategy: 'auto', oldKeyPendingWindowDays: 30 },
  reason: 'annual rotation 2027',
  requestedBy: 'platform-team',
};

const refusal = (raw: unknown): string => {
  try {
    parseFleetInput(raw);
  } catch (error) {
    expect((error as Error).name).toBe('InvalidInputError');
    return (error as Error).message;
  }
  throw new Error('the input was accepted');
};

describe('parseFleetInput', () => {
  it('accepts the issue’s example as written and fills the defaults', () => {
    expect(parseFleetInput(ISSUE_EXAMPLE)).toMatchObject({
      fleet: { maxConcurrency: 3, maxFailures: 1, onIneligible: 'fail', approval: 'none' },
      defaults: { strategy: 'auto', oldKeyPendingWindowDays: 30, writeFreeze: 'stop' },
      reason: 'annual rotation 2027',
    });
    expect(
      parseFleetInput({ fleet: { select: { identifiers: ['orders-db'] } }, reason: 'r' }).fleet,
    ).toMatchObject({ maxConcurrency: 2, maxFailures: 1 });
  });

  it('refuses an empty select: the whole account must be chosen explicitly', () => {
    expect(refusal({ fleet: { select: {} }, reason: 'r' })).toContain(
      'fleet.select: must hold at least one condition',
    );
    expect(refusal({ fleet: { select: {} }, reason: 'r' })).toContain('"keyOlderThanDays": 0');
    expect(parseFleetInput({ fleet: { select: { keyOlderThanDays: 0 } }, reason: 'r' }).fleet.select).toEqual(
      {
        keyOlderThanDays: 0,
      },
    );
  });

  it('names every wrong field at once', () => {
    const message = refusal({
      fleet: {
        select: { tags: 3, oldKeyArn: 'my-key' },
        maxConcurrency: 0,
        onIneligible: 'ignore',
        extra: 1,
      },
      defaults: { strategy: 'fast', dbInstanceIdentifier: 'orders-db' },
    });
    expect(message).toContain('fleet.select.tags: must be an object of tag key to value');
    expect(message).toContain('fleet.select.oldKeyArn: must be a KMS key ARN');
    expect(message).toContain('fleet.maxConcurrency: must be at least 1');
    expect(message).toContain('fleet.onIneligible: must be "fail" or "skip"');
    expect(message).toContain('unknown field "extra" in fleet');
    expect(message).toContain('defaults.strategy: must be "snapshot", "blue-green" or "auto"');
    expect(message).toContain('unknown field "dbInstanceIdentifier" in defaults');
    expect(message).toContain('reason: is required');
  });

  it('tells a fleet input from a single one by its top-level "fleet" key', () => {
    expect(isFleetInput(ISSUE_EXAMPLE)).toBe(true);
    expect(isFleetInput({ dbInstanceIdentifier: 'orders-db', reason: 'r' })).toBe(false);
    expect(isFleetInput(null)).toBe(false);
    expect(isFleetInput([])).toBe(false);
  });
});

describe('a scheduled fleet start', () => {
  // What template.yaml's RotationSchedule sends: ScheduleInput wrapped with the approval default.
  const scheduled = (rotation: unknown, required: boolean) => ({
    rotation,
    scheduleDefaults: { approval: { required } },
  });

  it('reads the wrapped input: ScheduleRequiresApproval "true" asks one approval for the fleet', () => {
    const parsed = parseFleetInput(scheduled(executionInput('scheduled-fleet'), true));
    expect(parsed.fleet.approval).toBe('fleet');
    expect(parsed.idempotencyKey).toBe('<aws.scheduler.scheduled-time>');
    expect(parsed.reason).toContain('Annual key rotation');
  });

  it('keeps the fleet input’s own approval choice, and adds none when the schedule asks none', () => {
    const perDatabase = { ...ISSUE_EXAMPLE, fleet: { ...ISSUE_EXAMPLE.fleet, approval: 'per-database' } };
    expect(parseFleetInput(scheduled(perDatabase, true)).fleet.approval).toBe('per-database');
    expect(parseFleetInput(scheduled(ISSUE_EXAMPLE, false)).fleet.approval).toBe('none');
  });

  it('refuses a wrapped input that is not valid, naming the field', () => {
    expect(refusal(scheduled({ ...ISSUE_EXAMPLE, reason: '' }, true))).toContain('reason: must not be empty');
  });

  it('refuses an idempotencyKey with spaces', () => {
    expect(refusal({ ...ISSUE_EXAMPLE, idempotencyKey: 'march 2027' })).toContain(
      'idempotencyKey: must be printable characters without spaces',
    );
  });
});
