import { describe, expect, it } from 'vitest';
import { rotationTags } from '#aws/ownership.js';
import { userTags } from '#domain/instance-config.js';
import { isUserTagKey, REKEY_CONFIG_TAG_KEYS } from '#domain/naming.js';
import type { RotationPlan } from '#domain/plan.js';
import { FLEET_TAGS } from '#features/fleet/types.js';

describe('isUserTagKey: which tags carry over to the new database', () => {
  it('keeps every fleet configuration tag, so next year’s fleet selects the new database again', () => {
    for (const key of Object.values(FLEET_TAGS)) expect(isUserTagKey(key)).toBe(true);
    expect([...REKEY_CONFIG_TAG_KEYS].sort()).toEqual(Object.values(FLEET_TAGS).sort());
  });

  it('drops Rekey’s bookkeeping and AWS’s reserved tags, keeps the user’s', () => {
    expect(isUserTagKey('rekey:rotation-id')).toBe(false);
    expect(isUserTagKey('rekey:source-db')).toBe(false);
    expect(isUserTagKey('rekey:retired-by')).toBe(false);
    expect(isUserTagKey('aws:cloudformation:stack-name')).toBe(false);
    expect(isUserTagKey('team')).toBe(true);
  });

  it('the configuration copied to a new instance or cluster holds the fleet tags', () => {
    expect(
      userTags([
        { Key: 'rekey:rotate', Value: 'annual' },
        { Key: 'rekey:cutover', Value: 'cname' },
        { Key: 'rekey:rotation-id', Value: 'rk0123456789' },
        { Key: 'team', Value: 'orders' },
      ]),
    ).toEqual({ 'rekey:cutover': 'cname', 'rekey:rotate': 'annual', team: 'orders' });
  });

  it('the new instance or cluster is created with the fleet tags and this rotation’s own, never a copied bookkeeping tag', () => {
    const plan = {
      rotationId: 'rk0123456789',
      target: { kind: 'cluster', identifier: 'ledger' },
    } as RotationPlan;
    const tags = Object.fromEntries(
      rotationTags(plan, 'new-cluster', {
        'rekey:rotate': 'annual',
        'rekey:record-name': 'ledger.db.example.internal',
        'rekey:rotation-id': 'rk-of-last-year',
        'rekey:retired-by': 'rk-of-last-year',
      }).map((t) => [t.Key, t.Value]),
    );
    expect(tags).toEqual({
      'rekey:rotate': 'annual',
      'rekey:record-name': 'ledger.db.example.internal',
      'rekey:rotation-id': 'rk0123456789',
      'rekey:source-db': 'ledger',
      'rekey:role': 'new-cluster',
    });
  });
});
