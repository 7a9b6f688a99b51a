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
 *   functions/domain/durations.ts, docs/fleet.md#downtime-estimate), not AWS figures: AWS
 *   publishes no stop, snapshot, copy or restore throughput. Route 53 INSYNC takes 60 s. The
 *   waits aim at the same times, so the bench also runs every operation 20 % shorter and 25 %
 *   longer (SENSITIVITY_SCALES) and prints what that costs.
 * - Each Lambda invocation takes LAMBDA_SECONDS of virtual time and is billed that long at 256 MB.
 * - History events follow Step Functions' pattern per state: a Lambda Task 5 events
 *   (entered, scheduled, started, succeeded, exited) and 3 more per retry; any other state 2.
 * - Prices (us-east-1 list prices, check the pricing pages): Step Functions Standard $0.025 per
 *   1,000 state transitions; Lambda arm64 $0.20 per million requests and $0.0000133334 per GB-second.
 *
 * The last stdout line is one JSON object:
 * {"profiles": {"<profile>": {"<policy>": {...}}}, "sensitivity": {"x0.8": {"<profile>": ...}, ...}}.
 *
 * Environment: BENCH_PROFILES (a comma-separated subset), BENCH_DURATION_SCALE (the main table's
 * scale, default 1), BENCH_SENSITIVITY=0 (skip the sensitivity runs), BENCH_EVENT_DELAY_SECONDS,
 * BENCH_EVENT_LOSS, BENCH_TRACE=1 (states entered, on stderr) or =polls (every check's poll).
 */

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { getClients } from '#aws/clients.js';
import { DOWNTIME_ASSUMPTIONS as A } from '#domain/durations.js';
import type { Poll } from '#domain/limits.js';
import { AWAITED_EVENT_IDS } from '#domain/rds-events.js';
import { startEmulator, useEndpoint } from '../cli/emulator.js';
import type { LocalEvent } from '../cli/local-history.js';
import { LOCAL_LOCK_TABLE } from '../cli/lock-table.js';
import { DEFAULT_ASL, type EventWait, runStateMachine } from '../cli/runner.js';
import { seedClusterSample, seedSample } from '../cli/seed.js';
import { type Durations, type Operation, useVirtualDate, VirtualAws } from './bench/virtual-aws.js';

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

/** The bench's settings, from the environment: a wrong one stops it before anything runs. */
const number = z.coerce.number({ error: 'must be a number' });
const SETTINGS = z
  .object({
    BENCH_EVENT_LOSS: number.min(0).max(1, 'must be a share from 0 to 1').default(0),
    BENCH_EVENT_DELAY_SECONDS: number.min(0, 'must be 0 or more seconds').default(5),
    BENCH_DURATION_SCALE: number.positive('must be more than 0').default(1),
    BENCH_SENSITIVITY: z
      .enum(['0', '1'], { error: 'must be 0 (skip the sensitivity runs) or 1' })
      .default('1'),
    BENCH_TRACE: z.enum(['', '1', 'polls'], { error: 'must be 1 or polls' }).default(''),
    BENCH_PROFILES: z.string().optional(),
  })
  .safeParse(process.env);
if (!SETTINGS.success) {
  for (const issue of SETTINGS.error.issues)
    process.stderr.write(`npm run bench: ${issue.path.join('.')} ${issue.message}\n`);
  process.exit(2);
}
const settings = SETTINGS.data;

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

/** The profiles BENCH_PROFILES names (all by default); an unknown name stops the bench. */
const selectedProfiles = (): Profile[] => {
  const only = settings.BENCH_PROFILES?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !PROFILES.some((p) => p.name === name)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(
      `npm run bench: BENCH_PROFILES names no profile ${unknown.join(', ')}; the profiles are ${PROFILES.map((p) => p.name).join(', ')}.\n`,
    );
    process.exit(2);
  }
  return PROFILES.filter((p) => !only || only.includes(p.name));
};

/** The operation times of a profile, from the planning assumptions. */
export const durationsFor = (profile: Profile, scale = 1): Durations => ({
  stopSeconds: scale * A.stopSeconds,
  startSeconds: scale * A.startSeconds,
  snapshotSeconds: scale * profile.gib * A.snapshotSecondsPerGiB,
  copySeconds: scale * profile.gib * A.copySecondsPerGiB,
  restoreSeconds: scale * (A.restoreSeconds + profile.gib * A.restoreSecondsPerGiB),
  // A cluster restore creates no instances: each member comes up on its own.
  memberSeconds: scale * A.configureSeconds,
  modifySeconds: scale * A.configureSeconds,
  rebootSeconds: scale * A.rebootSeconds,
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

/** BENCH_TRACE=1: how often each state was entered (on stderr), to see where the transitions go. */
const traceStates = (label: string, events: LocalEvent[]) => {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.type !== 'StateEntered' && event.type !== 'StateRetried') continue;
    const name = `${event.state?.name ?? '?'}${event.type === 'StateRetried' ? ' (retry)' : ''}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const line = [...counts].map(([name, n]) => `${name} ${n}`).join(', ');
  process.stderr.write(`${label}: ${line}\n`);
};

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
  new: { waitPolicy: undefined, events: true, loss: settings.BENCH_EVENT_LOSS },
  'new-events-lost': { waitPolicy: undefined, events: true, loss: 1 },
} as const;
const EVENT_DELAY_SECONDS = settings.BENCH_EVENT_DELAY_SECONDS;

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
  scale: number,
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
  else await seedSample({ allocatedStorageGiB: profile.gib });
  const sample = profile.kind === 'cluster' ? 'aurora-cluster' : 'break-glass';
  const input = JSON.parse(readFileSync(`${root}events/${sample}.json`, 'utf8'));
  const clock = new VirtualAws(durationsFor(profile, scale));
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
    executionName: `bench-${profile.name}-${policy}-x${scale}`,
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
      if (settings.BENCH_TRACE === 'polls')
        process.stderr.write(
          `${Math.round(clock.now)} ${stateName} ${JSON.stringify(output?.poll ?? output?.done ?? null)}\n`,
        );
      if (stateName === 'Cutover' && output?.done === true) freezeEnd = clock.now;
      return output;
    },
  });
  restoreDate();
  if (settings.BENCH_TRACE) traceStates(`${profile.name} ${policy} x${scale}`, events);
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

type PolicyFigures = Record<keyof typeof POLICIES, Figures>;

/** The issue's goals (issue 12) for one profile: which are met. */
const goalsOf = (p: PolicyFigures) => {
  // A rotation that failed meets no goal, whatever its figures (its freeze never ended).
  const succeeded = Object.values(p).every((f) => f.status === 'SUCCEEDED');
  const counts = (f: Figures) =>
    succeeded && f.stateTransitions <= p.old.stateTransitions && f.historyEvents <= p.old.historyEvents;
  return {
    // Added freeze at most 60 s, or 2 % of AWS's own where that is more, with events...
    withEvents: succeeded && p.new.addedFreezeSeconds <= Math.max(60, 0.02 * p.new.awsFreezeSeconds),
    // ...and at most 5 % with every event lost.
    allLost: succeeded && p['new-events-lost'].addedFreezePercent <= 5,
    // No more state transitions or history events than the old machine.
    countsWithEvents: counts(p.new),
    countsAllLost: counts(p['new-events-lost']),
  };
};
const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

/**
 * The simulated times are the same assumptions the waits aim at (domain/durations.ts), so at
 * scale 1 an operation ends exactly when expected: the best case for a lost event. The
 * sensitivity runs make every operation this much shorter or longer than expected.
 */
const SENSITIVITY_SCALES = settings.BENCH_SENSITIVITY === '0' ? [] : [0.8, 1.25];

const main = async () => {
  const profiles = selectedProfiles();
  const emulator = await startEmulator();
  useEndpoint(emulator.endpoint);
  const scale = settings.BENCH_DURATION_SCALE;
  const runAll = async (at: number) => {
    const all: Record<string, PolicyFigures> = {};
    for (const profile of profiles) {
      const reset = () => emulator.reset();
      all[profile.name] = {
        old: await runProfile(profile, 'old', reset, at),
        new: await runProfile(profile, 'new', reset, at),
        'new-events-lost': await runProfile(profile, 'new-events-lost', reset, at),
      };
    }
    return all;
  };
  let figures: Record<string, PolicyFigures>;
  const sensitivity: Record<string, Record<string, PolicyFigures>> = {};
  try {
    figures = await runAll(scale);
    for (const at of SENSITIVITY_SCALES) sensitivity[`x${at}`] = await runAll(at);
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
  for (const [name, p] of Object.entries(figures)) {
    const g = goalsOf(p);
    say(
      `goals ${name}: added with events ${met(g.withEvents)}; all events lost ${met(g.allLost)}; ` +
        `transitions and history with events ${met(g.countsWithEvents)}, all lost ${met(g.countsAllLost)}`,
    );
  }
  if (SENSITIVITY_SCALES.length > 0) {
    say();
    say('Every operation shorter or longer than Rekey expects (added freeze s, then history events):');
    say(
      [
        'profile',
        'scale',
        'old added',
        'new added',
        'lost added',
        'lost %',
        'history old/new/lost',
        'goals',
      ].join('\t'),
    );
    for (const [at, all] of Object.entries(sensitivity)) {
      for (const [name, p] of Object.entries(all)) {
        const g = goalsOf(p);
        const missed = Object.entries(g)
          .filter(([, ok]) => !ok)
          .map(([goal]) => goal);
        const failed = Object.values(p).find((f) => f.status !== 'SUCCEEDED');
        say(
          [
            name,
            at,
            p.old.addedFreezeSeconds,
            p.new.addedFreezeSeconds,
            p['new-events-lost'].addedFreezeSeconds,
            p['new-events-lost'].addedFreezePercent,
            `${p.old.historyEvents}/${p.new.historyEvents}/${p['new-events-lost'].historyEvents}`,
            failed ? failed.status : missed.length === 0 ? 'all met' : `missed: ${missed.join(', ')}`,
          ].join('\t'),
        );
      }
    }
  }
  say(
    `RDS events delivered ${EVENT_DELAY_SECONDS} s after the operation ends (BENCH_EVENT_DELAY_SECONDS), ` +
      `a share ${POLICIES.new.loss} of them lost in "new" (BENCH_EVENT_LOSS).`,
  );
  say(
    `Operation times are Rekey's planning assumptions (functions/domain/durations.ts) x${scale} (BENCH_DURATION_SCALE), ` +
      'not AWS figures, and the same times the waits aim at; ' +
      `each Lambda invocation ${LAMBDA_SECONDS} s at 256 MB; us-east-1 list prices.`,
  );
  say(JSON.stringify({ profiles: figures, sensitivity }));
  // A rotation of the main table that failed makes the run fail (its figures mean nothing).
  const failed = Object.values(figures).some((p) => Object.values(p).some((f) => f.status !== 'SUCCEEDED'));
  if (failed) process.exitCode = 1;
};

await main();
