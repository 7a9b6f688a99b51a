import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decide, decidePlan, decisionsOf } from '#domain/decisions.js';
import { parseRotationInput } from '#domain/input.js';
import { APPROVAL_MINUTES, KEY_PENDING_WINDOW_DAYS } from '#domain/limits.js';
import type { RotationPlan } from '#domain/plan.js';
import { executionInput, stepEvent } from '../../support/events.js';

const stepsDir = fileURLToPath(new URL('../../../events/steps/', import.meta.url));

describe('decide', () => {
  const request = (overrides: Record<string, unknown>) =>
    parseRotationInput({ ...executionInput('scheduled-rotation'), ...overrides });

  it('deletes the old instance and retires the old key by default', () => {
    expect(decide(request({}), { KeyManager: 'CUSTOMER' })).toEqual({
      writeFreeze: { action: 'stop-source' },
      clientSwitch: { action: 'switch', by: 'cname' },
      oldDatabase: { action: 'delete' },
      oldKey: { action: 'schedule-deletion', pendingWindowDays: KEY_PENDING_WINDOW_DAYS.default },
      artifactsOnFailure: { action: 'remove' },
      stopSource: true,
      switchClients: true,
      deleteOldInstance: true,
      keepOldInstanceReason: null,
      retireOldKey: true,
      keepOldKeyReason: null,
      notes: [],
    });
  });

  it('keeps the old instance and key when writes are not frozen, and says so', () => {
    // Act
    const decisions = decide(request({ writeFreeze: 'none' }), { KeyManager: 'CUSTOMER' });

    // Assess
    expect(decisions).toMatchObject({ stopSource: false, deleteOldInstance: false, retireOldKey: false });
    expect(decisions.notes.join(' ')).toMatch(
      /writes made to the source after the snapshot are not in the new instance/,
    );
    expect(decisions.keepOldInstanceReason).toMatch(/writeFreeze is "none"/);
    expect(decisions.writeFreeze).toEqual({
      action: 'none',
      reason: expect.stringMatching(/writeFreeze is "none"/),
    });
    expect(decisions.oldDatabase).toEqual({ action: 'retain', reason: decisions.keepOldInstanceReason });
  });

  it('keeps the old instance with no cutover, since clients still use it', () => {
    const decisions = decide(request({ cutover: { type: 'none' } }), { KeyManager: 'CUSTOMER' });
    expect(decisions).toMatchObject({ switchClients: false, deleteOldInstance: false, retireOldKey: false });
    expect(decisions.keepOldInstanceReason).toMatch(/clients still use the old instance/);
    expect(decisions.clientSwitch).toEqual({ action: 'none', reason: decisions.keepOldInstanceReason });
  });

  it('keeps the old key on request without a note (nothing departs from the request)', () => {
    const decisions = decide(request({ oldKey: 'retain' }), { KeyManager: 'CUSTOMER' });
    expect(decisions).toMatchObject({
      deleteOldInstance: true,
      retireOldKey: false,
      keepOldKeyReason: 'oldKey is "retain" in the input.',
      oldKey: { action: 'retain', reason: 'oldKey is "retain" in the input.' },
    });
    expect(decisions.notes).toEqual([]);
  });

  it('carries the waiting period of the input into the old key decision', () => {
    const decisions = decide(request({ oldKeyPendingWindowDays: KEY_PENDING_WINDOW_DAYS.min }), {
      KeyManager: 'CUSTOMER',
    });
    expect(decisions.oldKey).toEqual({
      action: 'schedule-deletion',
      pendingWindowDays: KEY_PENDING_WINDOW_DAYS.min,
    });
  });

  it('keeps an AWS-managed old key, and says so when the input asked for its deletion', () => {
    const decisions = decide(request({}), { KeyManager: 'AWS' });
    expect(decisions.oldKey).toEqual({ action: 'retain', reason: expect.stringMatching(/aws\/rds.*never/) });
    expect(decisions).toMatchObject({
      retireOldKey: false,
      keepOldKeyReason: decisions.oldKey.action === 'retain' && decisions.oldKey.reason,
    });
    expect(decisions.notes).toEqual([expect.stringMatching(/^Old key kept: the old key is the AWS-managed/)]);
  });

  it('on the Blue/Green path, never stops the source and always switches clients over', () => {
    const decisions = decide(
      request({ cutover: { type: 'none' } }),
      { KeyManager: 'CUSTOMER' },
      { used: 'blue-green' },
    );
    expect(decisions).toMatchObject({
      writeFreeze: { action: 'none', reason: expect.stringContaining('Blue/Green') },
      clientSwitch: { action: 'switch', by: 'switchover' },
      oldDatabase: { action: 'delete' },
      stopSource: false,
      switchClients: true,
    });
    expect(decisions.notes).toEqual([expect.stringContaining('Blue/Green: the source is not stopped')]);
  });

  it('keeps the artifacts of a failed rotation only when the input says keepArtifactsOnFailure', () => {
    expect(decide(request({}), { KeyManager: 'CUSTOMER' }).artifactsOnFailure).toEqual({ action: 'remove' });
    expect(
      decide(request({ keepArtifactsOnFailure: true }), { KeyManager: 'CUSTOMER' }).artifactsOnFailure,
    ).toEqual({
      action: 'keep',
      reason: 'the input says keepArtifactsOnFailure',
    });
  });
});

describe('decidePlan', () => {
  const request = (overrides: Record<string, unknown>) =>
    parseRotationInput({ ...executionInput('scheduled-rotation'), ...overrides });

  it("adds the quota note, then the note of a moot approval gate, after the decisions' notes", () => {
    const { decisions, approval } = decidePlan({
      request: request({ cutover: { type: 'none' }, approval: { required: true, at: 'before-cutover' } }),
      key: { KeyManager: 'CUSTOMER' },
      strategy: { used: 'snapshot' },
      quotaNote: 'The manual snapshot quota could not be checked.',
    });
    expect(approval).toEqual({
      required: false,
      requested: true,
      timeoutSeconds: APPROVAL_MINUTES.default * 60,
      at: 'before-cutover',
    });
    expect(decisions.notes.slice(-2)).toEqual([
      'The manual snapshot quota could not be checked.',
      expect.stringContaining('approval.required was ignored'),
    ]);
  });
});

/** The plan of every sample step event (events/steps), with the file it came from. */
const samplePlans = readdirSync(stepsDir)
  .filter((name) => name.endsWith('.json'))
  .map((name) => {
    const event = JSON.parse(readFileSync(`${stepsDir}${name}`, 'utf8')) as {
      plan?: RotationPlan;
      state?: { plan?: RotationPlan };
    };
    return { name, plan: event.plan ?? event.state?.plan };
  })
  .filter((sample): sample is { name: string; plan: RotationPlan } => sample.plan !== undefined);

describe('the decisions of the sample step events (events/steps)', () => {
  it('covers the samples that carry a plan', () => {
    expect(samplePlans.length).toBeGreaterThan(20);
  });

  it.each(samplePlans)(
    '$name: its request is valid and its decisions are what preflight decides from it',
    ({ plan }) => {
      // Act
      const request = parseRotationInput(plan.request);
      const decisions = decide(request, { KeyManager: plan.source.keyManager }, plan.strategy);

      // Assess
      expect(plan.decisions).toEqual(decisions);
    },
  );
});

describe('decisionsOf: plans written before the typed decisions', () => {
  it.each(['retire-key', 'rollback', 'cutover', 'create-green'])(
    '%s.json without its typed decisions gets the same ones back from its request (an execution running across a deploy)',
    (name) => {
      // Prepare: what a plan of the previous version held: the flags, the notes and the request.
      const { plan } = stepEvent(name);
      const { writeFreeze, clientSwitch, oldDatabase, oldKey, artifactsOnFailure, ...legacy } =
        plan.decisions;

      // Act
      const decided = decisionsOf({ ...plan, decisions: legacy as typeof plan.decisions });

      // Assess
      expect(decided).toEqual(plan.decisions);
      expect(decisionsOf(plan)).toBe(plan.decisions);
    },
  );
});
