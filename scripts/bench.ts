/**
 * `npm run bench`: what a rotation costs writers and AWS bills, per database size, measured by
 * running the real rotation state machine with the real step handlers (cli/runner.ts) against the
 * embedded emulator with RDS and Route 53 put on a virtual clock (scripts/bench/virtual-aws.ts).
 *
 * Per profile it prints:
 * - awsFreezeSeconds: the part of the write freeze (StopSource's stop call to the verified cutover)
 *   during which AWS itself was working (stopping, snapshotting, copying, restoring, modifying,
 *   propagating the DNS change);
 * - addedFreezeSeconds: the rest of the freeze, which Rekey adds (detection lag of its waits and
 *   its own step time);
 * - stateTransitions, lambdaInvocations, lambdaGbSeconds, historyEvents, and the Step Functions
 *   plus Lambda cost of one rotation at the list prices below.
 *
 * Assumptions (say them with every figure):
 * - Operation times are Rekey's planning assumptions (DOWNTIME_ASSUMPTIONS in
 *   functions/features/fleet/estimate.ts, docs/fleet.md#downtime-estimate), not AWS figures: AWS
 *   publishes no snapshot, copy or restore throughput. Route 53 INSYNC takes 60 s.
 * - Each Lambda invocation takes LAMBDA_SECONDS of virtual time and is billed that long at 256 MB.
 * - History events follow Step Functions' pattern per state: a Lambda Task 5 events
 *   (entered, scheduled, started, succeeded, exited) and 3 more per retry; any other state 2.
 * - Prices (us-east-1 list prices, check the pricing pages): Step Functions Standard $0.025 per
 *   1,000 state transitions; Lambda arm64 $0.20 per million requests and $0.0000133334 per GB-second.
 *
 * The last stdout line is one JSON object: {"profiles": {"<profile>": {"<policy>": {...}}}}.
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getClients } from '#aws/clients.js';
import type { Poll } from '#domain/limits.js';
import { AWAITED_EVENT_IDS } from '#domain/rds-events.js';
import { DOWNTIME_ASSUMPTIONS as A } from '#features/fleet/estimate.js';
import { startEmulator, useEndpoint } from '../cli/emulator.js';
import type { LocalEvent } from '../cli/local-history.js';
import { LOCAL_LOCK_TABLE } from '../cli/lock-table.js';
import { DEFAULT_ASL, type EventWait, runStateMachine } from '../cli/runner.js';
import { seedClusterSample, seedSample } from '../cli/seed.js';
import { type Durations, type Operation, useVirtualDate, VirtualAws } from './bench/virtual-aws.js';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const root = fileURLToPath(new URL('../', import.meta.url));
const say = (line = '') => process.stdout.write(`${line}\n`);

const LAMBDA_SECONDS = 0.4;
const LAMBDA_GB = 0.25;
const PRICE = { transition: 0.025 / 1000, request: 0.2 / 1e6, gbSecond: 0.0000133334 };

interface Profile {
  name: string;
  kind: 'instance' | 'cluster';
  gib: number;
}

const PROFILES: Profile[] = [
  { name: '20GB-instance', kind: 'instance', gib: 20 },
  { name: '500GB-instance', kind: 'instance', gib: 500 },
  { name: '4TB-instance', kind: 'instance', gib: 4096 },
  { name: '20GB-aurora', kind: 'cluster', gib: 20 },
  { name: '500GB-aurora', kind: 'cluster', gib: 500 },
  { name: '4TB-aurora', kind: 'cluster', gib: 4096 },
];

/** The operation times of a profile, from the planning assumptions. */
export const durationsFor = (profile: Profile): Durations => ({
  stopSeconds: A.stopSeconds,
  startSeconds: A.stopSeconds,
  snapshotSeconds: profile.gib * A.snapshotSecondsPerGiB,
  copySeconds: profile.gib * A.copySecondsPerGiB,
  restoreSeconds: A.restoreSeconds + profile.gib * A.restoreSecondsPerGiB,
  // A cluster restore creates no instances: each member comes up on its own.
  memberSeconds: A.configureSeconds,
  modifySeconds: A.configureSeconds,
  rebootSeconds: 120,
  dnsChangeSeconds: 60,
});

export interface Figures {
  status: string;
  awsFreezeSeconds: number;
  addedFreezeSeconds: number;
  addedFreezePercent: number;
  stateTransitions: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  historyEvents: number;
  costUsd: number;
  /** The added freeze by the operation whose end it followed (what each wait cost). */
  addedAfter: Record<string, number>;
}

/** A waitForTaskToken Task has one more history event than a Lambda Task (TaskSubmitted). */
const historyEventsOf = (events: LocalEvent[]): number => {
  let count = 2; // ExecutionStarted, ExecutionSucceeded/Failed
  for (const event of events) {
    const name = event.state?.name ?? '';
    if (event.type === 'StateEntered')
      count += event.state?.type === 'Task' ? (isEventWait(name) ? 6 : 5) : 2;
    if (event.type === 'StateRetried') count += 3;
  }
  return count;
};

const isEventWait = (stateName: string) => /^Await[A-Z]/.test(stateName);

/**
 * The policies compared:
 * - old: the state machine before event-driven waits (each loop's Wait state, the backoff alone:
 *   REKEY_WAIT_POLICY=backoff);
 * - new: the current machine and policy, RDS events delivered BENCH_EVENT_DELAY_SECONDS (default
 *   5) after the operation ends, a share BENCH_EVENT_LOSS (default 0) of them lost;
 * - new-events-lost: the same, every event lost (every wait ends at its fallback timeout).
 */
const POLICIES = {
  old: { waitPolicy: 'backoff', events: false, loss: 1 },
  new: { waitPolicy: undefined, events: true, loss: Number(process.env.BENCH_EVENT_LOSS ?? 0) },
  'new-events-lost': { waitPolicy: undefined, events: true, loss: 1 },
} as const;
const EVENT_DELAY_SECONDS = Number(process.env.BENCH_EVENT_DELAY_SECONDS ?? 5);

/** The rotation ASL as it was before event-driven waits: each loop's Choice goes to its Wait. */
const oldAsl = (): string => {
  const definition = JSON.parse(readFileSync(DEFAULT_ASL, 'utf8')) as {
    States: Record<string, { Type: string; Default?: string }>;
  };
  for (const [name, state] of Object.entries(definition.States)) {
    const check = name.endsWith('Done?') ? name.slice(0, -5) : null;
    if (check && state.Default === `Await${check}`) {
      state.Default = `WaitFor${check}`;
      delete definition.States[`Await${check}`];
    }
  }
  // The same file name: the runner finds the state machine of the template by it.
  const path = join(mkdtempSync(join(tmpdir(), 'rekey-bench-')), 'rotate-database.asl.json');
  writeFileSync(path, JSON.stringify(definition));
  return path;
};

/** A fixed sequence in [0, 1) (the same losses on every run). */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};

const runProfile = async (
  profile: Profile,
  policy: keyof typeof POLICIES,
  reset: () => Promise<void>,
): Promise<Figures> => {
  await reset();
  const setting = POLICIES[policy];
  if (setting.waitPolicy) process.env.REKEY_WAIT_POLICY = setting.waitPolicy;
  else delete process.env.REKEY_WAIT_POLICY;
  const lost = new Map<Operation, boolean>();
  const random = seeded(42);
  const isLost = (op: Operation) => {
    if (!lost.has(op)) lost.set(op, setting.loss >= 1 || random() < setting.loss);
    return lost.get(op) === true;
  };
  /**
   * An event wait lasts until the awaited operation's event arrives (its end + the delay), if it
   * is not lost and comes before the Task's timeout (poll.waitSeconds); else the timeout.
   */
  const onEventWait = async (wait: EventWait) => {
    const { awaits, waitSeconds } = wait.poll as Poll;
    const op = awaits
      ? clock.operations.find(
          (o) =>
            o.event !== null &&
            o.end > clock.now &&
            o.event.sourceIdentifier.toLowerCase() === awaits.sourceIdentifier.toLowerCase() &&
            awaits.eventIds.includes(o.event.eventId),
        )
      : undefined;
    const arrives = op ? op.end + EVENT_DELAY_SECONDS : Number.POSITIVE_INFINITY;
    if (op?.event && !isLost(op) && arrives <= clock.now + waitSeconds) {
      const at = new Date(Date.now() + (op.end - clock.now) * 1000);
      clock.advance(arrives - clock.now);
      await wait.deliver({ ...op.event, time: at });
    } else {
      clock.advance(waitSeconds);
    }
  };
  if (profile.kind === 'cluster') await seedClusterSample();
  else await seedSample();
  const sample = profile.kind === 'cluster' ? 'aurora-cluster' : 'break-glass';
  const input = JSON.parse(readFileSync(`${root}events/${sample}.json`, 'utf8'));
  const clock = new VirtualAws(durationsFor(profile));
  clock.install(getClients());
  const restoreDate = useVirtualDate(clock);
  const events: LocalEvent[] = [];
  let invocations = 0;
  let freezeEnd: number | null = null;
  // The Wait after a step that is not done lasts its poll.waitSeconds: the clock moves by it
  // when the next Task starts (the runner skips the real wait).
  let pendingWait = 0;
  const result = await runStateMachine({
    input,
    executionName: `bench-${profile.name}-${policy}`,
    fastWaits: true,
    ...(policy === 'old' ? { aslPath: oldAsl() } : { onEventWait }),
    lockTable: { name: LOCAL_LOCK_TABLE, create: true },
    onEvent: (event) => events.push(event),
    wrapTask: (stateName, invoke) => async (taskInput) => {
      // An event wait takes the place of the Wait: onEventWait moves the clock.
      if (!isEventWait(stateName)) clock.advance(pendingWait);
      pendingWait = 0;
      invocations += 1;
      const output = (await invoke(taskInput)) as { done?: boolean; poll?: { waitSeconds?: number } } | null;
      clock.advance(LAMBDA_SECONDS);
      if (output?.done === false && output.poll?.waitSeconds) pendingWait = output.poll.waitSeconds;
      if (stateName === 'Cutover' && output?.done === true) freezeEnd = clock.now;
      return output;
    },
  });
  restoreDate();
  const stop = clock.operations.find((op) => op.kind === 'stopSeconds');
  const freezeStart = stop?.start ?? null;
  const frozen = freezeStart !== null && freezeEnd !== null ? freezeEnd - freezeStart : 0;
  const awsFreeze =
    freezeStart !== null && freezeEnd !== null ? clock.busySeconds(freezeStart, freezeEnd) : 0;
  const transitions = events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried').length;
  // OnRdsEvent runs once per RDS event the rule matches (delivered, whether or not a wait was
  // woken by it); a lost event runs nothing.
  if (setting.events) {
    invocations += clock.operations.filter(
      (op) => op.event && AWAITED_EVENT_IDS.includes(op.event.eventId) && !isLost(op),
    ).length;
  }
  const gbSeconds = invocations * LAMBDA_SECONDS * LAMBDA_GB;
  const round = (n: number, places = 0) => Number(n.toFixed(places));
  return {
    status:
      result.status === 'SUCCEEDED' ? 'SUCCEEDED' : `FAILED ${result.error}: ${result.cause.slice(0, 200)}`,
    awsFreezeSeconds: round(awsFreeze),
    addedFreezeSeconds: round(frozen - awsFreeze),
    addedFreezePercent: awsFreeze > 0 ? round((100 * (frozen - awsFreeze)) / awsFreeze, 1) : 0,
    stateTransitions: transitions,
    lambdaInvocations: invocations,
    lambdaGbSeconds: round(gbSeconds, 1),
    historyEvents: historyEventsOf(events),
    costUsd: round(
      transitions * PRICE.transition + invocations * PRICE.request + gbSeconds * PRICE.gbSecond,
      5,
    ),
    addedAfter:
      freezeStart !== null && freezeEnd !== null
        ? (clock.idleAfter(freezeStart, freezeEnd) as Record<string, number>)
        : {},
  };
};

const main = async () => {
  const emulator = await startEmulator();
  useEndpoint(emulator.endpoint);
  const figures: Record<string, Record<string, Figures>> = {};
  try {
    for (const profile of PROFILES) {
      const reset = () => emulator.reset();
      figures[profile.name] = {
        old: await runProfile(profile, 'old', reset),
        new: await runProfile(profile, 'new', reset),
        'new-events-lost': await runProfile(profile, 'new-events-lost', reset),
      };
    }
  } finally {
    await emulator.stop();
  }
  const columns = [
    'profile',
    'policy',
    'AWS freeze s',
    'added s',
    'added %',
    'transitions',
    'Lambda calls',
    'GB-s',
    'history',
    'USD',
  ];
  say(columns.join('\t'));
  for (const [name, policies] of Object.entries(figures)) {
    for (const [policy, f] of Object.entries(policies)) {
      say(
        [
          name,
          policy,
          f.awsFreezeSeconds,
          f.addedFreezeSeconds,
          f.addedFreezePercent,
          f.stateTransitions,
          f.lambdaInvocations,
          f.lambdaGbSeconds,
          f.historyEvents,
          f.costUsd,
        ].join('\t'),
      );
      if (f.status !== 'SUCCEEDED') say(`  ${name}: ${f.status}`);
      const after = Object.entries(f.addedAfter)
        .map(([kind, seconds]) => `${kind.replace(/Seconds$/, '')} ${seconds}`)
        .join(', ');
      say(`    added after: ${after}`);
    }
  }
  say();
  // The goals (issue 12): added freeze at most 60 s or 2 % with events, 5 % with every
  // event lost; no more transitions or history events than the old machine.
  for (const [name, p] of Object.entries(figures)) {
    const withEvents = p.new;
    const allLost = p['new-events-lost'];
    const old = p.old;
    if (!withEvents || !allLost || !old) continue;
    const events =
      withEvents.addedFreezeSeconds <= Math.max(60, 0.02 * withEvents.awsFreezeSeconds) ? 'met' : 'NOT met';
    const lostGoal = allLost.addedFreezePercent <= 5 ? 'met' : 'NOT met';
    const counts = (f: Figures) =>
      f.stateTransitions <= old.stateTransitions && f.historyEvents <= old.historyEvents ? 'met' : 'NOT met';
    say(
      `goals ${name}: added with events ${events}; all events lost ${lostGoal}; ` +
        `transitions and history with events ${counts(withEvents)}, all lost ${counts(allLost)}`,
    );
  }
  say(
    `RDS events delivered ${EVENT_DELAY_SECONDS} s after the operation ends (BENCH_EVENT_DELAY_SECONDS), ` +
      `a share ${POLICIES.new.loss} of them lost in "new" (BENCH_EVENT_LOSS).`,
  );
  say(
    'Operation times are planning assumptions (functions/features/fleet/estimate.ts), not AWS figures; ' +
      `each Lambda invocation ${LAMBDA_SECONDS} s at 256 MB; us-east-1 list prices.`,
  );
  say(JSON.stringify({ profiles: figures }));
};

await main();
