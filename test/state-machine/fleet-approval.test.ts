import { CreateTopicCommand, type PublishCommandInput } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { getJson } from '#features/fleet/documents-read.js';
import { planKey, recordKey } from '#features/fleet/store.js';
import type { FleetOutput, FleetPlan } from '#features/fleet/types.js';
import { snsClient } from '#features/notifications/messages.js';
import type { ApprovalDecision, ApprovalRequest } from '../../cli/approval-gate.js';
import { LOCAL_LOCK_TABLE } from '../../cli/lock-table.js';
import { FLEET_ASL, runStateMachine } from '../../cli/runner.js';
import { seedFleetSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { emulatorState } from '../support/emulator-state.js';

/**
 * The fleet's one approval (`fleet.approval: "fleet"`) on the real fleet ASL, the real planner
 * and the real child rotations over the emulator: two seeded instances sharing a key and one the
 * plan refuses (not encrypted). The runner serves WaitForFleetApproval's task token through the
 * decider, as `rekey run --approve` / `--reject` does.
 */

const SELECTED = ['fleet-billing-db', 'fleet-invoices-db'];
const REFUSED = 'fleet-legacy-db';

const fleetInput = (approval: 'fleet' | 'per-database') => ({
  fleet: {
    select: { identifiers: [...SELECTED, REFUSED] },
    maxConcurrency: 2,
    maxFailures: 1,
    onIneligible: 'skip',
    approval,
    approvalTimeoutMinutes: 30,
  },
  defaults: { strategy: 'snapshot', oldKeyPendingWindowDays: 7 },
  reason: 'annual rotation 2027',
  requestedBy: 'platform-team',
});

/** Captures the subject and body of every SNS Publish on its way to the emulator. */
const watchPublishes = () => {
  const published: PublishCommandInput[] = [];
  const client = snsClient();
  const name = `fleet-approval-publish-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PublishCommand') published.push(args.input as PublishCommandInput);
      return next(args);
    },
    { step: 'initialize', name },
  );
  return { published, remove: () => client.middlewareStack.remove(name) };
};

const runFleet = async (
  approval: 'fleet' | 'per-database',
  executionName: string,
  decide: (request: ApprovalRequest) => Promise<ApprovalDecision>,
) => {
  const { TopicArn } = await snsClient().send(new CreateTopicCommand({ Name: 'rekey' }));
  const requests: ApprovalRequest[] = [];
  const result = await runStateMachine({
    aslPath: FLEET_ASL,
    input: fleetInput(approval),
    executionName,
    fastWaits: true,
    lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    notificationTopicArn: TopicArn as string,
    approval: async (request) => {
      requests.push(request);
      return decide(request);
    },
  });
  return { result, requests };
};

const waitingSubjects = (published: PublishCommandInput[]) =>
  published.filter((p) => p.Subject?.endsWith('waiting for approval')).map((p) => p.Subject);

describe('the fleet approval gate (fleet.approval "fleet")', () => {
  useEmulator();
  let watch: ReturnType<typeof watchPublishes> | undefined;
  beforeEach(() => {
    watch = watchPublishes();
  });
  afterEach(() => {
    watch?.remove();
  });

  it('asks once for the whole fleet before anything starts, the databases do not ask again, and the record names the approver', async () => {
    // Prepare
    const sample = await seedFleetSample();
    const before = await emulatorState();
    let whileWaiting: string[] = [];

    // Act
    const { result, requests } = await runFleet('fleet', 'fleet-approved', async () => {
      whileWaiting = await emulatorState();
      return { approve: true, by: 'alice' };
    });

    // Assess: one request, for the fleet (its plan summary), answered before any rotation began.
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.state).toMatchObject({ fleetId: 'fleet-approved', approval: 'fleet' });
    const order = result.timings.map((t) => t.state);
    expect(order.filter((state) => state === 'WaitForFleetApproval')).toHaveLength(1);
    expect(order.indexOf('WaitForFleetApproval')).toBeLessThan(order.indexOf('StartFleetDatabase'));
    // While it waited nothing had changed (no key, no stopped database), only the lock table existed.
    expect(whileWaiting).toEqual(before);
    expect(waitingSubjects(watch?.published ?? [])).toEqual([
      '[Rekey] fleet fleet-approved: waiting for approval',
    ]);
    // The children's inputs carry no approval, so no child gate ran.
    const plan = (await getJson<FleetPlan>(planKey('fleet-approved'))) as FleetPlan;
    for (const db of plan.databases.filter((d) => d.eligible))
      expect(db.input).not.toHaveProperty('approval');

    const output = (result as { output: FleetOutput }).output;
    expect(output).toMatchObject({
      status: 'SUCCEEDED',
      counts: { SUCCEEDED: 2, FAILED: 0, SKIPPED: 1, NOT_STARTED: 0 },
      approval: { mode: 'fleet', decision: 'approved', by: 'alice', timeoutSeconds: 1800 },
    });
    expect(output.approval?.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    for (const id of SELECTED) {
      const db = output.databases.find((d) => d.id === id);
      expect(db?.status).toBe('SUCCEEDED');
      expect((await findInstance(getClients().rds, id))?.KmsKeyId).not.toBe(sample.sharedKeyArn);
    }
    const record = await getJson<FleetOutput>(recordKey('fleet-approved'));
    expect(record?.approval).toEqual(output.approval);
  }, 60_000);

  it('on a rejection starts nothing: RDS and KMS unchanged, every eligible database NOT_STARTED with who rejected and why, the fleet FAILED', async () => {
    // Prepare
    await seedFleetSample();
    const before = await emulatorState();

    // Act
    const { result, requests } = await runFleet('fleet', 'fleet-rejected', async () => ({
      reject: 'change freeze until Friday',
      by: 'bob',
    }));

    // Assess
    expect(requests).toHaveLength(1);
    expect(result).toMatchObject({ status: 'FAILED', error: 'FleetApprovalNotGiven' });
    const cause = (result as { cause: string }).cause;
    expect(cause).toContain('The fleet approval was rejected by bob: change freeze until Friday.');
    expect(cause).toContain('fleet-billing-db (NOT_STARTED)');
    expect(result.timings.map((t) => t.state)).not.toContain('StartFleetDatabase');
    expect(await emulatorState()).toEqual(before);

    const record = (await getJson<FleetOutput>(recordKey('fleet-rejected'))) as FleetOutput;
    expect(record).toMatchObject({
      status: 'FAILED',
      counts: { SUCCEEDED: 0, FAILED: 0, SKIPPED: 1, NOT_STARTED: 2 },
      approval: {
        mode: 'fleet',
        decision: 'rejected',
        by: 'bob',
        reason: 'change freeze until Friday',
      },
    });
    for (const id of SELECTED) {
      expect(record.databases.find((d) => d.id === id)).toMatchObject({
        status: 'NOT_STARTED',
        error: 'FleetApprovalNotGiven',
        cause: 'not started: The fleet approval was rejected by bob: change freeze until Friday.',
      });
    }
  }, 60_000);
  it('without a decision in time starts nothing either, and says the gate timed out', async () => {
    // Prepare
    await seedFleetSample();
    const before = await emulatorState();

    // Act
    const { result } = await runFleet('fleet', 'fleet-timed-out', async () => 'timeout');

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'FleetApprovalNotGiven' });
    expect((result as { cause: string }).cause).toContain(
      'The fleet approval got no decision within 30 minutes (WaitForFleetApproval timed out), so the fleet was called off.',
    );
    expect(await emulatorState()).toEqual(before);
    const record = (await getJson<FleetOutput>(recordKey('fleet-timed-out'))) as FleetOutput;
    expect(record.counts).toMatchObject({ SUCCEEDED: 0, NOT_STARTED: 2, SKIPPED: 1 });
    expect(record.approval).toMatchObject({ decision: 'timed-out', by: null });
  }, 60_000);

  it('with "per-database" the fleet has no gate of its own and the same decider answers each database\'s gate', async () => {
    // Prepare
    await seedFleetSample();

    // Act
    const { result, requests } = await runFleet('per-database', 'fleet-each', async () => ({
      approve: true,
      by: 'carol',
    }));

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({
      status: 'SUCCEEDED',
      output: { approval: { mode: 'per-database', decision: 'not-required' } },
    });
    expect(result.timings.map((t) => t.state)).not.toContain('WaitForFleetApproval');
    const asked = requests.map(
      (r) => (r.state as { plan?: { target: { identifier: string } } }).plan?.target,
    );
    expect(asked.map((target) => target?.identifier).sort()).toEqual(SELECTED);
    expect(waitingSubjects(watch?.published ?? []).sort()).toEqual(
      SELECTED.map((id) => `[Rekey] ${id}: waiting for approval`),
    );
  }, 60_000);

  it('with "per-database" a rejected database is left unrotated without spending maxFailures: the next one still starts', async () => {
    // Prepare: the two databases share a key, so they run one after the other; maxFailures is 1.
    await seedFleetSample();

    // Act: reject the first database asked, approve the second.
    let asked = 0;
    const { result } = await runFleet('per-database', 'fleet-one-rejected', async () =>
      asked++ === 0 ? { reject: 'not this one yet', by: 'dave' } : { approve: true, by: 'dave' },
    );

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'FleetIncomplete' });
    const record = (await getJson<FleetOutput>(recordKey('fleet-one-rejected'))) as FleetOutput;
    const statuses = Object.fromEntries(record.databases.map((d) => [d.id, [d.status, d.error]]));
    const [first, second] = [...SELECTED].sort();
    expect(statuses[first as string]).toEqual(['FAILED', 'ApprovalRejected']);
    expect(statuses[second as string]).toEqual(['SUCCEEDED', null]);
  }, 60_000);

  it('with "per-database" a gate that times out does spend maxFailures: nobody answering, the next one is not started', async () => {
    // Prepare: the same two databases, one after the other; maxFailures is 1.
    await seedFleetSample();

    // Act: nobody answers the first database's gate.
    const { result, requests } = await runFleet('per-database', 'fleet-one-timed-out', async () => 'timeout');

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'FleetIncomplete' });
    const record = (await getJson<FleetOutput>(recordKey('fleet-one-timed-out'))) as FleetOutput;
    const statuses = Object.fromEntries(record.databases.map((d) => [d.id, [d.status, d.error]]));
    const [first, second] = [...SELECTED].sort();
    expect(statuses[first as string]).toEqual(['FAILED', 'States.Timeout']);
    expect(statuses[second as string]).toEqual(['NOT_STARTED', 'NotStarted']);
    expect(requests).toHaveLength(1);
  }, 60_000);
});
