import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import {
  DBInstanceNotFoundFault,
  DBSnapshotNotFoundFault,
  DeleteDBSnapshotCommand,
  DescribeDBClusterAutomatedBackupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { POLL_LIMITS, SCAN_BUDGETS } from '#domain/limits.js';
import type { NewKey, OldKeyOutcome } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { createKey, type NewKeyPending } from '#features/keys/create-key.js';
import { retireKey } from '#features/keys/retire-key.js';
import { removeArtifacts } from '#reconcilers/cleanup.js';
import type { StepContext } from '#runtime/handler.js';
import { template } from '../../../static/helpers.js';
import { createKeyEvent, stepEvent } from '../../../support/events.js';

/**
 * Issue 10, point 3: CreateKey's search for an unaliased key and RetireKey's inventory in an
 * account with 5,000 KMS keys and 20,000 snapshots. The mocked clients answer in pages as KMS and
 * RDS do; every invocation is timed with a per-call latency (docs/budgets.md): 250 ms for a KMS
 * call, 1 s for an RDS Describe page of 100 records, with ListResourceTags calls running
 * SCAN_BUDGETS.tagLookupConcurrency at a time. Each invocation must end well inside the Lambda
 * timeout of template.yaml, and the work must complete over several invocations with the right
 * outcome.
 */

const kms = mockClient(KMSClient);
const rds = mockClient(RDSClient);

const KMS_CALL_MS = 250;
const RDS_CALL_MS = 1_000;
/** The Lambda timeout both functions run with (Globals; neither function overrides it). */
const LAMBDA_TIMEOUT_MS = Number(template.Globals?.Function?.Timeout) * 1000;

/** Calls a KMS invocation may make: its pages of keys and their tags, plus the alias, adoption and rotation calls. */
const KMS_CALLS_PER_INVOCATION = SCAN_BUDGETS.keyPagesPerInvocation * (1 + SCAN_BUDGETS.keyPageSize) + 8;
/** Calls a RetireKey invocation may make: its RDS pages, and DeleteDBSnapshot; DescribeKey and ScheduleKeyDeletion. */
const RDS_CALLS_PER_INVOCATION = SCAN_BUDGETS.rdsPagesPerInvocation + 1;

const ROTATION_ID = 'rk05e5c03bc0';
const ALIAS = `alias/rekey/orders-db/${ROTATION_ID}`;
const OLD_KEY_ID = '1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const OLD_KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${OLD_KEY_ID}`;
const NEW_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const SOURCE_SNAPSHOT = `rekey-orders-db-${ROTATION_ID}-source`;

const keyIdOf = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** Pages of `items` by an opaque marker (the index of the next item), as the AWS APIs page. */
const pageOf = <T>(items: T[], marker: string | undefined, size: number) => {
  const start = marker ? Number(marker.replace('m-', '')) : 0;
  const next = start + size;
  return { page: items.slice(start, next), marker: next < items.length ? `m-${next}` : undefined };
};

/**
 * The time an invocation took on AWS at the stated latencies: KMS calls one after the other,
 * except ListResourceTags, which run `tagLookupConcurrency` at a time; RDS calls one after the other.
 */
const elapsedMs = (kmsCalls: string[], rdsCalls: number) => {
  const tags = kmsCalls.filter((name) => name === 'ListResourceTagsCommand').length;
  const others = kmsCalls.length - tags;
  return (
    (others + Math.ceil(tags / SCAN_BUDGETS.tagLookupConcurrency)) * KMS_CALL_MS + rdsCalls * RDS_CALL_MS
  );
};

const commandNames = (stub: { calls: () => { args: unknown[] }[] }) =>
  stub.calls().map((call) => (call.args[0] as object).constructor.name);

/** The Lambda context of an invocation: its remaining time, as the calls made so far consumed it. */
const lambdaContext = (): StepContext => ({
  remainingMs: () => LAMBDA_TIMEOUT_MS - elapsedMs(commandNames(kms), rds.calls().length),
});

interface Invocation {
  kmsCalls: number;
  rdsCalls: number;
  ms: number;
}

/** Runs one invocation and measures it. */
const invoke = async <T>(step: (context: StepContext) => Promise<T>): Promise<[T, Invocation]> => {
  kms.resetHistory();
  rds.resetHistory();
  const result = await step(lambdaContext());
  const kmsCalls = commandNames(kms);
  return [
    result,
    { kmsCalls: kmsCalls.length, rdsCalls: rds.calls().length, ms: elapsedMs(kmsCalls, rds.calls().length) },
  ];
};

describe('budgets at scale', () => {
  beforeEach(() => {
    kms.reset();
    rds.reset();
  });

  it('runs with the Lambda timeout the budgets are derived from', () => {
    expect(LAMBDA_TIMEOUT_MS).toBe(60_000);
    for (const fn of ['CreateKeyFunction', 'RetireKeyFunction']) {
      expect(template.Resources[fn]?.Properties?.Timeout, fn).toBeUndefined();
    }
  });

  describe('CreateKey in an account with 5,000 keys', () => {
    const KEYS = 5_000;
    const keys = Array.from({ length: KEYS }, (_, i) => ({
      KeyId: keyIdOf(i),
      KeyArn: `arn:key/${keyIdOf(i)}`,
    }));

    const account = (orphan: number | null) => {
      kms.on(DescribeKeyCommand).callsFake(({ KeyId }: { KeyId: string }) => {
        if (KeyId === ALIAS) throw new NotFoundException({ message: 'alias not found', $metadata: {} });
        return {
          KeyMetadata: {
            KeyId,
            Arn: `arn:aws:kms:us-east-1:123456789012:key/${KeyId}`,
            KeyState: 'Enabled',
            KeyManager: 'CUSTOMER',
          },
        };
      });
      kms.on(ListKeysCommand).callsFake(({ Limit, Marker }: { Limit?: number; Marker?: string }) => {
        const { page, marker } = pageOf(keys, Marker, Math.min(Limit ?? 100, 1000));
        return { Keys: page, Truncated: marker !== undefined, ...(marker && { NextMarker: marker }) };
      });
      kms.on(ListResourceTagsCommand).callsFake(({ KeyId }: { KeyId: string }) => ({
        Tags: [
          {
            TagKey: 'rekey:rotation-id',
            TagValue: KeyId === keyIdOf(orphan ?? -1) ? ROTATION_ID : 'rk-other',
          },
        ],
        Truncated: false,
      }));
      kms.on(GetKeyRotationStatusCommand).resolves({ KeyRotationEnabled: false });
      kms.on(CreateKeyCommand).resolves({
        KeyMetadata: {
          KeyId: 'new-key',
          Arn: 'arn:aws:kms:us-east-1:123456789012:key/new-key',
          KeyState: 'Enabled',
        },
      });
      kms.on(CreateAliasCommand).resolves({});
    };

    /** CreateKey as the state machine runs it after a retry: called again until it is done. */
    const afterRetry = async () => {
      const invocations: Invocation[] = [];
      let state: RotationState = createKeyEvent().state;
      let retryCount = 1;
      for (let call = 1; call <= POLL_LIMITS.createKey; call += 1) {
        const [result, measured] = await invoke((context) => createKey(state, { retryCount, ...context }));
        invocations.push(measured);
        if (!('done' in result)) return { key: result, invocations };
        state = { ...state, newKey: result as NewKeyPending as unknown as NewKey };
        retryCount = 0;
      }
      throw new Error(`CreateKey did not finish in ${POLL_LIMITS.createKey} calls`);
    };

    it('creates the key on a first call without reading a single key of the account', async () => {
      // Prepare
      account(null);

      // Act
      const [key, measured] = await invoke((context) =>
        createKey(createKeyEvent().state, { retryCount: 0, ...context }),
      );

      // Assess
      expect(key).toMatchObject({ keyId: 'new-key', created: true });
      expect(kms).not.toHaveReceivedCommand(ListKeysCommand);
      expect(measured.kmsCalls).toBeLessThanOrEqual(6);
    });

    it('after a retry, finds the key an earlier attempt left without its alias, in bounded calls, and creates none', async () => {
      // Prepare
      account(4_321);

      // Act
      const { key, invocations } = await afterRetry();

      // Assess: settle, then 500 keys a call: the orphan is in the ninth share.
      expect(key).toEqual({
        keyId: keyIdOf(4_321),
        keyArn: expect.stringContaining(keyIdOf(4_321)),
        alias: ALIAS,
        created: false,
      });
      expect(invocations).toHaveLength(1 + Math.ceil(4_322 / (SCAN_BUDGETS.keyPagesPerInvocation * 100)));
      for (const { kmsCalls, ms } of invocations) {
        expect(kmsCalls).toBeLessThanOrEqual(KMS_CALLS_PER_INVOCATION);
        expect(ms).toBeLessThan(LAMBDA_TIMEOUT_MS - SCAN_BUDGETS.reserveMs / 2);
      }
      expect(kms).not.toHaveReceivedCommand(CreateKeyCommand);
      expect(kms).toHaveReceivedCommandWith(CreateAliasCommand, {
        AliasName: ALIAS,
        TargetKeyId: keyIdOf(4_321),
      });
    });

    it('a rollback finds the key a CreateKey left without its alias a bounded share per poll, and schedules it', async () => {
      // Prepare: CreateKey never returned a key; nothing but the key is left to clean up.
      account(4_321);
      rds
        .on(DescribeDBInstancesCommand)
        .rejects(new DBInstanceNotFoundFault({ message: 'gone', $metadata: {} }));
      rds
        .on(DescribeDBSnapshotsCommand)
        .rejects(new DBSnapshotNotFoundFault({ message: 'gone', $metadata: {} }));
      kms.on(ScheduleKeyDeletionCommand).resolves({ DeletionDate: new Date('2026-12-09T00:00:00Z') });
      let state: RotationState = { ...createKeyEvent().state, newKey: undefined };
      const invocations: Invocation[] = [];

      // Act: the rollback's polls, each carrying the search forward.
      let step = await removeArtifacts(state);
      for (let poll = 0; !step.done && poll < 20; poll += 1) {
        const [next, measured] = await invoke(() => removeArtifacts(state));
        invocations.push(measured);
        step = next;
        state = {
          ...state,
          rollback: { done: false, undone: [], leftBehind: [], cause: '', keySearch: step.keySearch },
        };
      }

      // Assess
      expect(step.done).toBe(true);
      expect(step.removed).toContainEqual(expect.objectContaining({ kind: 'key-scheduled-for-deletion' }));
      expect(kms).toHaveReceivedCommandWith(ScheduleKeyDeletionCommand, { KeyId: keyIdOf(4_321) });
      expect(invocations.length).toBeGreaterThan(3);
      for (const { kmsCalls, ms } of invocations) {
        expect(kmsCalls).toBeLessThanOrEqual(KMS_CALLS_PER_INVOCATION);
        expect(ms).toBeLessThan(LAMBDA_TIMEOUT_MS - SCAN_BUDGETS.reserveMs / 2);
      }
    });

    it('after a retry that left no key, reads all 5,000 keys over several calls, then creates exactly one', async () => {
      // Prepare
      account(null);
      let created = 0;
      kms.on(CreateKeyCommand).callsFake(() => {
        created += 1;
        return {
          KeyMetadata: {
            KeyId: 'new-key',
            Arn: 'arn:aws:kms:us-east-1:123456789012:key/new-key',
            KeyState: 'Enabled',
          },
        };
      });

      // Act
      const { key, invocations } = await afterRetry();

      // Assess: settle, ten shares of 500 keys, the create.
      expect(key).toMatchObject({ keyId: 'new-key', created: true });
      expect(created).toBe(1);
      expect(invocations).toHaveLength(1 + KEYS / 500 + 1);
      expect(Math.max(...invocations.map((i) => i.kmsCalls))).toBeLessThanOrEqual(KMS_CALLS_PER_INVOCATION);
      expect(Math.max(...invocations.map((i) => i.ms))).toBeLessThan(
        LAMBDA_TIMEOUT_MS - SCAN_BUDGETS.reserveMs / 2,
      );
    });
  });

  describe('RetireKey in an account with 20,000 snapshots', () => {
    const snapshots = (count: number, type: string, prefix: string) =>
      Array.from({ length: count }, (_, i) => ({
        id: `${prefix}-${i}`,
        SnapshotType: type,
        KmsKeyId: i % 2 ? NEW_KEY_ARN : 'arn:aws:kms:us-east-1:123456789012:key/another-teams-key',
      }));

    /** 300 instances, 40 clusters; 14,000 manual, 3,000 automated, 1,000 AWS Backup DB snapshots, 2,000 cluster snapshots. */
    const account = (underOldKey: string[]) => {
      const db = [
        ...snapshots(14_000, 'manual', 'manual'),
        ...snapshots(3_000, 'automated', 'rds:auto'),
        ...snapshots(1_000, 'awsbackup', 'awsbackup:job'),
      ];
      db[7] = { id: SOURCE_SNAPSHOT, SnapshotType: 'manual', KmsKeyId: OLD_KEY_ARN };
      for (const id of underOldKey) {
        const found = db.find((s) => s.id === id);
        if (found) found.KmsKeyId = OLD_KEY_ID;
      }
      const cluster = snapshots(2_000, 'manual', 'cluster-manual');
      kms.on(DescribeKeyCommand).resolves({
        KeyMetadata: { KeyId: OLD_KEY_ID, Arn: OLD_KEY_ARN, KeyState: 'Enabled', KeyManager: 'CUSTOMER' },
      });
      kms
        .on(ScheduleKeyDeletionCommand)
        .resolves({ DeletionDate: new Date('2026-11-29T17:30:00Z'), PendingWindowInDays: 7 });
      rds.on(DescribeDBInstancesCommand).callsFake(({ Marker, MaxRecords }) => {
        const all = Array.from({ length: 300 }, (_, i) => ({
          DBInstanceIdentifier: `db-${i}`,
          KmsKeyId: NEW_KEY_ARN,
        }));
        const { page, marker } = pageOf(all, Marker, MaxRecords);
        return { DBInstances: page, Marker: marker };
      });
      rds.on(DescribeDBClustersCommand).callsFake(({ Marker, MaxRecords }) => {
        const all = Array.from({ length: 40 }, (_, i) => ({
          DBClusterIdentifier: `cluster-${i}`,
          KmsKeyId: NEW_KEY_ARN,
        }));
        const { page, marker } = pageOf(all, Marker, MaxRecords);
        return { DBClusters: page, Marker: marker };
      });
      rds.on(DescribeDBSnapshotsCommand).callsFake(({ SnapshotType, Marker, MaxRecords }) => {
        expect(MaxRecords).toBeLessThanOrEqual(100);
        const { page, marker } = pageOf(
          db.filter((s) => s.SnapshotType === SnapshotType),
          Marker,
          MaxRecords,
        );
        return {
          DBSnapshots: page.map((s) => ({
            DBSnapshotIdentifier: s.id,
            SnapshotType: s.SnapshotType,
            KmsKeyId: s.KmsKeyId,
          })),
          Marker: marker,
        };
      });
      rds.on(DescribeDBClusterSnapshotsCommand).callsFake(({ SnapshotType, Marker, MaxRecords }) => {
        const { page, marker } = pageOf(
          cluster.filter((s) => s.SnapshotType === SnapshotType),
          Marker,
          MaxRecords,
        );
        return {
          DBClusterSnapshots: page.map((s) => ({
            DBClusterSnapshotIdentifier: s.id,
            SnapshotType: s.SnapshotType,
            KmsKeyId: s.KmsKeyId,
          })),
          Marker: marker,
        };
      });
      rds.on(DescribeDBInstanceAutomatedBackupsCommand).resolves({ DBInstanceAutomatedBackups: [] });
      rds.on(DescribeDBClusterAutomatedBackupsCommand).resolves({ DBClusterAutomatedBackups: [] });
      rds.on(DeleteDBSnapshotCommand).resolves({});
    };

    /** 3 instance + 1 cluster + 140 + 30 + 10 DB snapshot + 20 + 1 (empty automated) cluster snapshot + 2 backup pages. */
    const PAGES = 3 + 1 + 140 + 30 + 10 + 20 + 1 + 2;

    /** RetireKey as the state machine runs it: called again after its Wait until it is done. */
    const untilDone = async () => {
      const invocations: Invocation[] = [];
      let state = stepEvent('retire-key') as RotationState;
      for (let call = 1; call <= POLL_LIMITS.retireKey; call += 1) {
        const [result, measured] = await invoke((context) => retireKey(state, context));
        invocations.push(measured);
        if (!('done' in result)) return { outcome: result, invocations };
        expect(result).toMatchObject({
          state: 'Retained',
          done: false,
          poll: { waitSeconds: SCAN_BUDGETS.continueSeconds },
        });
        state = { ...state, oldKey: result as OldKeyOutcome };
      }
      throw new Error(`RetireKey did not finish in ${POLL_LIMITS.retireKey} calls`);
    };

    const assessBudgets = (invocations: Invocation[]) => {
      expect(invocations).toHaveLength(Math.ceil(PAGES / SCAN_BUDGETS.rdsPagesPerInvocation));
      for (const { rdsCalls, kmsCalls, ms } of invocations) {
        expect(rdsCalls).toBeLessThanOrEqual(RDS_CALLS_PER_INVOCATION);
        expect(kmsCalls).toBeLessThanOrEqual(2);
        expect(ms).toBeLessThan(LAMBDA_TIMEOUT_MS - SCAN_BUDGETS.reserveMs / 2);
      }
    };

    it('keeps the old key when one snapshot among the 20,000 is still under it, over several bounded calls', async () => {
      // Prepare
      account(['manual-13457']);

      // Act
      const { outcome, invocations } = await untilDone();

      // Assess
      assessBudgets(invocations);
      expect(outcome).toEqual({
        state: 'Retained',
        keyArn: OLD_KEY_ARN,
        reason: expect.stringContaining(
          '1 other RDS resource is still encrypted under it: db-snapshot:manual-13457.',
        ),
        encryptedResources: ['db-snapshot:manual-13457'],
        sourceSnapshotDeleted: true,
      });
      expect(kms).not.toHaveReceivedCommand(ScheduleKeyDeletionCommand);
      // Its own source snapshot, once, by the call that finished the inventory.
      expect(rds).toHaveReceivedCommandTimes(DeleteDBSnapshotCommand, 1);
    });

    it('schedules the old key when none of the 20,000 is under it, only in the call that finished the inventory', async () => {
      // Prepare
      account([]);

      // Act
      const { outcome, invocations } = await untilDone();

      // Assess
      assessBudgets(invocations);
      expect(outcome).toMatchObject({ state: 'PendingDeletion', keyArn: OLD_KEY_ARN, pendingWindowDays: 7 });
      expect(kms).toHaveReceivedCommandTimes(ScheduleKeyDeletionCommand, 1);
      expect(rds).toHaveReceivedCommandWith(DeleteDBSnapshotCommand, {
        DBSnapshotIdentifier: SOURCE_SNAPSHOT,
      });
    });
  });
});
