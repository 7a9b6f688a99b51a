import type { DBInstance } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { isSettled, isTerminalInstanceStatus } from '#aws/rds.js';

const available = (overrides: Partial<DBInstance> = {}): DBInstance => ({
  DBInstanceStatus: 'available',
  DBParameterGroups: [{ DBParameterGroupName: 'pg', ParameterApplyStatus: 'in-sync' }],
  OptionGroupMemberships: [{ OptionGroupName: 'og', Status: 'in-sync' }],
  ...overrides,
});

describe('isSettled', () => {
  it('is settled when available with nothing pending', () => {
    expect(isSettled(available())).toBe(true);
    expect(isSettled(available({ PendingModifiedValues: { ProcessorFeatures: [] } }))).toBe(true);
  });

  it.each([
    ['a pending modification', available({ PendingModifiedValues: { DBInstanceClass: 'db.r6g.large' } })],
    ['parameters being applied', available({ DBParameterGroups: [{ ParameterApplyStatus: 'applying' }] })],
    ['an option group pending apply', available({ OptionGroupMemberships: [{ Status: 'pending-apply' }] })],
    ['a status other than available', available({ DBInstanceStatus: 'modifying' })],
  ])('is not settled with %s', (_case, db) => {
    expect(isSettled(db)).toBe(false);
  });

  it('treats pending-reboot as settled: the reboot is the next change to make', () => {
    expect(isSettled(available({ DBParameterGroups: [{ ParameterApplyStatus: 'pending-reboot' }] }))).toBe(
      true,
    );
  });
});

describe('isTerminalInstanceStatus', () => {
  it.each([
    'failed',
    'incompatible-parameters',
    'inaccessible-encryption-credentials-recoverable',
    'storage-full',
  ])('ends a wait on %s', (status) => {
    expect(isTerminalInstanceStatus(status)).toBe(true);
  });

  it.each(['creating', 'backing-up', 'modifying', 'stopping', 'available'])(
    'keeps waiting on %s',
    (status) => {
      expect(isTerminalInstanceStatus(status)).toBe(false);
    },
  );
});
