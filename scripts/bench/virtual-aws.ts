import type { AwsClients } from '#aws/clients.js';
import { RDS_EVENTS } from '#domain/rds-events.js';

/**
 * RDS and Route 53 on a virtual clock, for `npm run bench`. The emulator (moto_server) keeps the
 * resources and answers every call with AWS's shapes, but finishes every operation at once. This
 * overlay gives each operation a duration on a virtual clock: while it runs, the Describe answers
 * say what RDS says at that point (`stopping`, `creating` with `PercentProgress`, `modifying`, ...);
 * once the clock passes its end, moto's own answer (the finished state) goes through unchanged.
 * Nothing sleeps: the clock moves only when the harness advances it (a Wait state, a Lambda
 * invocation). Each finished operation is also an RDS event (EventBridge's `aws.rds` source) with
 * the event ID AWS's RDS event reference gives it, for the event-driven waits to consume.
 */

export interface Durations {
  stopSeconds: number;
  startSeconds: number;
  snapshotSeconds: number;
  copySeconds: number;
  restoreSeconds: number;
  /** A cluster member (CreateDBInstance into a restored cluster). */
  memberSeconds: number;
  /** A ModifyDBInstance / ModifyDBCluster that changes configuration (not deletion protection alone). */
  modifySeconds: number;
  rebootSeconds: number;
  /** Route 53: from ChangeResourceRecordSets to INSYNC. */
  dnsChangeSeconds: number;
}

/** One timed operation: what, on which resource, from when to when (virtual seconds). */
export interface Operation {
  kind: keyof Durations;
  resource: string;
  start: number;
  end: number;
  /** The RDS event AWS publishes when it ends (docs/aws-facts.md#rds-events), if any. */
  event: RdsEvent | null;
}

export interface RdsEvent {
  eventId: string;
  sourceType: 'DB_INSTANCE' | 'CLUSTER' | 'SNAPSHOT' | 'CLUSTER_SNAPSHOT';
  sourceIdentifier: string;
  time: number;
}

/** What RDS reports while an operation of that kind runs. */
const IN_PROGRESS: Record<keyof Durations, string> = {
  stopSeconds: 'stopping',
  startSeconds: 'starting',
  snapshotSeconds: 'creating',
  copySeconds: 'creating',
  restoreSeconds: 'creating',
  memberSeconds: 'creating',
  modifySeconds: 'modifying',
  rebootSeconds: 'rebooting',
  dnsChangeSeconds: 'PENDING',
};

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

const eventFor = (
  kind: keyof Durations,
  resource: string,
  cluster: boolean,
): Omit<RdsEvent, 'time'> | null => {
  switch (kind) {
    case 'stopSeconds':
      return cluster
        ? { eventId: RDS_EVENTS.clusterStopped, sourceType: 'CLUSTER', sourceIdentifier: resource }
        : { eventId: RDS_EVENTS.instanceStopped, sourceType: 'DB_INSTANCE', sourceIdentifier: resource };
    case 'startSeconds':
      return cluster
        ? { eventId: RDS_EVENTS.clusterStarted, sourceType: 'CLUSTER', sourceIdentifier: resource }
        : { eventId: RDS_EVENTS.instanceStarted, sourceType: 'DB_INSTANCE', sourceIdentifier: resource };
    case 'snapshotSeconds':
      return cluster
        ? {
            eventId: RDS_EVENTS.clusterSnapshotCreated,
            sourceType: 'CLUSTER_SNAPSHOT',
            sourceIdentifier: resource,
          }
        : { eventId: RDS_EVENTS.snapshotCreated, sourceType: 'SNAPSHOT', sourceIdentifier: resource };
    case 'copySeconds':
      // The Aurora event list has no "cluster snapshot copied" event.
      return cluster
        ? null
        : { eventId: RDS_EVENTS.snapshotCopied, sourceType: 'SNAPSHOT', sourceIdentifier: resource };
    case 'restoreSeconds':
      return cluster
        ? { eventId: RDS_EVENTS.clusterCreated, sourceType: 'CLUSTER', sourceIdentifier: resource }
        : { eventId: RDS_EVENTS.instanceRestored, sourceType: 'DB_INSTANCE', sourceIdentifier: resource };
    case 'memberSeconds':
      return { eventId: RDS_EVENTS.instanceCreated, sourceType: 'DB_INSTANCE', sourceIdentifier: resource };
    case 'rebootSeconds':
      // "DB instance restarted": published, but no wait awaits it (the rule does not match it).
      return { eventId: 'RDS-EVENT-0006', sourceType: 'DB_INSTANCE', sourceIdentifier: resource };
    default:
      // No RDS event says "modification complete", and Route 53 publishes none.
      return null;
  }
};

/** The calls that start a timed operation: its kind, the input field naming the resource, Aurora or not. */
const STARTS: Record<string, [keyof Durations, string, boolean]> = {
  StopDBInstanceCommand: ['stopSeconds', 'DBInstanceIdentifier', false],
  StartDBInstanceCommand: ['startSeconds', 'DBInstanceIdentifier', false],
  StopDBClusterCommand: ['stopSeconds', 'DBClusterIdentifier', true],
  StartDBClusterCommand: ['startSeconds', 'DBClusterIdentifier', true],
  CreateDBSnapshotCommand: ['snapshotSeconds', 'DBSnapshotIdentifier', false],
  CreateDBClusterSnapshotCommand: ['snapshotSeconds', 'DBClusterSnapshotIdentifier', true],
  CopyDBSnapshotCommand: ['copySeconds', 'TargetDBSnapshotIdentifier', false],
  CopyDBClusterSnapshotCommand: ['copySeconds', 'TargetDBClusterSnapshotIdentifier', true],
  RestoreDBInstanceFromDBSnapshotCommand: ['restoreSeconds', 'DBInstanceIdentifier', false],
  RestoreDBClusterFromSnapshotCommand: ['restoreSeconds', 'DBClusterIdentifier', true],
  CreateDBInstanceCommand: ['memberSeconds', 'DBInstanceIdentifier', false],
  RebootDBInstanceCommand: ['rebootSeconds', 'DBInstanceIdentifier', false],
};

const INSTANT_MODIFY_KEYS = new Set([
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
  'ApplyImmediately',
  'DeletionProtection',
]);

export class VirtualAws {
  now = 0;
  readonly operations: Operation[] = [];

  constructor(readonly durations: Durations) {}

  advance(seconds: number): void {
    this.now += Math.max(0, seconds);
  }

  /** The running operation on `resource`, if any. */
  private running(resource: string): Operation | undefined {
    return this.operations.find(
      (op) => op.resource === resource && op.start <= this.now && this.now < op.end,
    );
  }

  private begin(kind: keyof Durations, resource: string, cluster = false): void {
    const seconds = this.durations[kind];
    if (seconds <= 0) return;
    const end = this.now + seconds;
    const event = eventFor(kind, resource, cluster);
    this.operations.push({
      kind,
      resource,
      start: this.now,
      end,
      event: event ? { ...event, time: end } : null,
    });
  }

  /** The operations that begin with a successful mutating call. */
  private record(command: string, input: Input, output: Output): void {
    const started = STARTS[command];
    if (started) {
      const [kind, idKey, cluster] = started;
      this.begin(kind, String(input[idKey] ?? ''), cluster);
    } else if (command === 'ModifyDBInstanceCommand' || command === 'ModifyDBClusterCommand') {
      // Lifting or setting deletion protection alone is instant on RDS.
      const changes = Object.keys(input).filter((key) => !INSTANT_MODIFY_KEYS.has(key));
      const cluster = command === 'ModifyDBClusterCommand';
      const id = String(input[cluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier'] ?? '');
      if (changes.length > 0) this.begin('modifySeconds', id, cluster);
    } else if (command === 'ChangeResourceRecordSetsCommand') {
      const id = (output.ChangeInfo as { Id?: string } | undefined)?.Id;
      if (id) this.begin('dnsChangeSeconds', id);
    }
  }

  /**
   * Puts the in-progress status into any answer that describes a resource still at work: the
   * Describe calls, and the mutating calls' own answers (CreateDBSnapshot returns the snapshot,
   * ChangeResourceRecordSets the change), which moto gives as already finished.
   */
  private overlay(output: Output): void {
    const patch = (found: unknown, idKey: string, statusKey: string, progress: boolean) => {
      const items = Array.isArray(found) ? found : found ? [found] : [];
      for (const item of items as Record<string, unknown>[]) {
        const op = this.running(String(item[idKey] ?? ''));
        if (!op) continue;
        item[statusKey] = IN_PROGRESS[op.kind];
        if (progress) item.PercentProgress = Math.floor((100 * (this.now - op.start)) / (op.end - op.start));
      }
    };
    patch(output.DBInstance ?? output.DBInstances, 'DBInstanceIdentifier', 'DBInstanceStatus', false);
    patch(output.DBCluster ?? output.DBClusters, 'DBClusterIdentifier', 'Status', false);
    patch(output.DBSnapshot ?? output.DBSnapshots, 'DBSnapshotIdentifier', 'Status', true);
    patch(
      output.DBClusterSnapshot ?? output.DBClusterSnapshots,
      'DBClusterSnapshotIdentifier',
      'Status',
      true,
    );
    patch(output.ChangeInfo, 'Id', 'Status', false);
  }

  /** Adds the overlay to the shared RDS and Route 53 clients the steps use. */
  install(clients: Pick<AwsClients, 'rds' | 'route53'>): void {
    for (const client of [clients.rds, clients.route53]) {
      // One clock at a time: a later install replaces an earlier one.
      client.middlewareStack.remove('rekeyBenchVirtualClock');
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          const command = String(context.commandName ?? '');
          const output = result.output as unknown as Output;
          this.record(command, (args.input ?? {}) as Input, output);
          this.overlay(output);
          return result;
        },
        { step: 'initialize', name: 'rekeyBenchVirtualClock' },
      );
    }
  }

  /**
   * Where the freeze [from, to] was idle, by the operation whose end the idle time followed (the
   * wait that had not yet noticed it, plus the step time before the next operation began).
   */
  idleAfter(from: number, to: number): Partial<Record<keyof Durations | 'start', number>> {
    const ops = this.operations
      .filter((op) => op.end > from && op.start < to)
      .sort((a, b) => a.start - b.start);
    const idle: Partial<Record<keyof Durations | 'start', number>> = {};
    let reach = from;
    let last: keyof Durations | 'start' = 'start';
    for (const op of [...ops, { kind: 'end' as const, start: to, end: to }]) {
      if (op.start > reach) idle[last] = (idle[last] ?? 0) + Math.round(op.start - reach);
      if (op.end > reach) {
        reach = Math.min(op.end, to);
        if (op.kind !== 'end') last = op.kind;
      }
    }
    return idle;
  }

  /** Seconds of [from, to] during which at least one AWS operation was running: AWS's own time. */
  busySeconds(from: number, to: number): number {
    const spans = this.operations
      .map((op) => [Math.max(op.start, from), Math.min(op.end, to)] as const)
      .filter(([start, end]) => end > start)
      .sort((a, b) => a[0] - b[0]);
    let busy = 0;
    let reach = from;
    for (const [start, end] of spans) {
      const s = Math.max(start, reach);
      if (end > s) busy += end - s;
      reach = Math.max(reach, end);
    }
    return busy;
  }
}

const RealDate = Date;

/**
 * Makes `Date` (new Date(), Date.now()) read the virtual clock, so the steps' own times (when a
 * loop started, how long a copy has run) move with it: `clock.now` seconds after the moment this
 * is called. Returns the function that puts the real Date back.
 */
export const useVirtualDate = (clock: VirtualAws): (() => void) => {
  const origin = RealDate.now();
  const nowMs = () => origin + clock.now * 1000;
  class VirtualDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(nowMs());
      else super(...(args as [string]));
    }
    static override now(): number {
      return nowMs();
    }
  }
  globalThis.Date = VirtualDate as DateConstructor;
  return () => {
    globalThis.Date = RealDate;
  };
};
