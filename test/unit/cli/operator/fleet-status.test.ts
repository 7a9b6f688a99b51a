import { describe, expect, it } from 'vitest';
import type { DatabaseOutcome, FleetPlan, PlannedDatabase } from '#features/fleet/types.js';
import { renderFleetStatus } from '../../../../cli/operator/fleet-status.js';

const planned = (id: string, over: Partial<PlannedDatabase> = {}): PlannedDatabase => ({
  id,
  kind: 'instance',
  eligible: true,
  strategy: 'snapshot',
  strategyReason: 'input',
  cutover: 'rename',
  oldKeyArn: 'k',
  blockers: [],
  estimatedWriterDowntimeSeconds: null,
  input: {},
  order: { group: 'k', position: 1, of: 1 },
  executionName: `fleet-1-${id}`,
  ...over,
});

const plan = {
  status: 'PLANNED',
  fleetId: 'fleet-1',
  databases: [
    planned('a'),
    planned('b'),
    planned('c'),
    planned('d', { eligible: false, blockers: ['not encrypted'] }),
  ],
} as unknown as FleetPlan;

const done = (id: string, status: DatabaseOutcome['status'], cause: string | null = null) =>
  ({
    id,
    status,
    error: cause ? 'States.TaskFailed' : null,
    cause,
    finishedAt: '2027-01-10T10:20:00Z',
  }) as DatabaseOutcome;

describe('rekey status: a fleet execution', () => {
  it('shows each planned database: outcome, running child, refused by the plan', () => {
    const { rows, text } = renderFleetStatus(
      plan,
      [done('a', 'SUCCEEDED'), done('b', 'FAILED', 'snapshot failed')],
      new Date('2027-01-10T10:30:00Z'),
      { childStates: { 'fleet-1-c': 'RUNNING at CopySnapshot' } },
    );
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'FAILED'],
      ['c', 'RUNNING'],
      ['d', 'SKIPPED'],
    ]);
    expect(text).toContain('States.TaskFailed: snapshot failed');
    expect(text).toContain('child fleet-1-c: RUNNING at CopySnapshot');
    expect(text).toContain('not encrypted');
    expect(text).toContain('2027-01-10T10:30:00.000Z');
    expect(text).toContain('4 databases (1 SUCCEEDED, 1 FAILED, 1 RUNNING, 1 SKIPPED)');
  });

  it('a database without an outcome is PENDING while the fleet runs, NOT_STARTED once it has ended', () => {
    const running = renderFleetStatus(plan, [done('a', 'SUCCEEDED')], new Date(0));
    const ended = renderFleetStatus(plan, [done('a', 'SUCCEEDED')], new Date(0), { closed: true });
    expect(running.rows.map((r) => r.status)).toEqual(['SUCCEEDED', 'PENDING', 'PENDING', 'SKIPPED']);
    expect(ended.rows.map((r) => r.status)).toEqual(['SUCCEEDED', 'NOT_STARTED', 'NOT_STARTED', 'SKIPPED']);
    expect(ended.counts).toEqual({ SUCCEEDED: 1, NOT_STARTED: 2, SKIPPED: 1 });
  });
});
