import type { RotationPlan } from '#domain/plan.js';
import type { OldKeyOutcome } from '#domain/results.js';

/** The fields every execution output shares, whatever the kind and the strategy. */

export const strategyOutput = (plan: RotationPlan) => ({
  requested: plan.strategy.requested,
  used: plan.strategy.used,
  reason: plan.strategy.reason,
});

export const oldKeyOutput = (oldKey: OldKeyOutcome) =>
  oldKey.state === 'PendingDeletion'
    ? { state: 'PendingDeletion' as const, deletionDate: oldKey.deletionDate }
    : { state: 'Retained' as const, reason: oldKey.reason };

/** Why and by whom the rotation ran, and when: the last fields of every output. */
export const requestOutput = (plan: RotationPlan) => ({
  reason: plan.request.reason,
  requestedBy: plan.request.requestedBy ?? null,
  startedAt: plan.startedAt,
  finishedAt: new Date().toISOString(),
});
