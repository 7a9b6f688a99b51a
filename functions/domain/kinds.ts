/**
 * The kinds of database Rekey rotates. The plan's `kind` must be one of them (checked in plan.ts),
 * and targets/registry.ts has every operation for every kind of plan.
 */
export type TargetKind = 'instance' | 'cluster';

/**
 * The words and resource types that differ by kind, for the features that only name a database
 * (lock keys, evidence, messages). What a kind *does* differently lives behind targets/registry.ts;
 * this table is what it is called. Typed `satisfies` every kind: a kind added to the plan's union
 * fails to compile here until it has its names, instead of being called an instance.
 */
export interface KindNames {
  /** In a sentence: "the old instance". */
  noun: string;
  /** For a person reading a message: "DB instance", "Aurora cluster". */
  title: string;
  /** The evidence record's resource kinds of the database and of its snapshots. */
  resource: 'db-instance' | 'db-cluster';
  snapshotResource: 'db-snapshot' | 'db-cluster-snapshot';
  /** The resource types in RDS ARNs. */
  arnType: 'db' | 'cluster';
  snapshotArnType: 'snapshot' | 'cluster-snapshot';
  /** The lock table's key prefix of a database lock (`db#orders-db`), and of an idempotency key. */
  lockPrefix: 'db' | 'cluster';
  idempotencyPrefix: '' | 'cluster:';
}

export const KIND_NAMES = {
  instance: {
    noun: 'instance',
    title: 'DB instance',
    resource: 'db-instance',
    snapshotResource: 'db-snapshot',
    arnType: 'db',
    snapshotArnType: 'snapshot',
    lockPrefix: 'db',
    idempotencyPrefix: '',
  },
  cluster: {
    noun: 'cluster',
    title: 'Aurora cluster',
    resource: 'db-cluster',
    snapshotResource: 'db-cluster-snapshot',
    arnType: 'cluster',
    snapshotArnType: 'cluster-snapshot',
    lockPrefix: 'cluster',
    idempotencyPrefix: 'cluster:',
  },
} as const satisfies { [K in TargetKind]: KindNames };

export const namesOfKind = (kind: TargetKind): KindNames => KIND_NAMES[kind];
