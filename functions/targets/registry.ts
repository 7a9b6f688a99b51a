import { clusterBlueGreen } from './cluster/blue-green.js';
import { configureCluster } from './cluster/configure.js';
import { noClusterCopy } from './cluster/copy.js';
import { cutoverCluster } from './cluster/cutover.js';
import { clusterPreflight } from './cluster/preflight.js';
import { restoreCluster } from './cluster/restore.js';
import { retireCluster } from './cluster/retire.js';
import { clusterRetirement } from './cluster/retirement.js';
import { rollbackCluster } from './cluster/rollback.js';
import { snapshotCluster } from './cluster/snapshot.js';
import { startCluster } from './cluster/start.js';
import { stopCluster } from './cluster/stop.js';
import { summarizeCluster } from './cluster/summarize.js';
import { validateCluster } from './cluster/validate.js';
import { instanceBlueGreen } from './instance/blue-green.js';
import { configureInstance } from './instance/configure.js';
import { copyInstanceSnapshot } from './instance/copy.js';
import { cutoverInstance } from './instance/cutover.js';
import { instancePreflight } from './instance/preflight.js';
import { restoreInstance } from './instance/restore.js';
import { retireInstance } from './instance/retire.js';
import { instanceRetirement } from './instance/retirement.js';
import { rollbackInstance } from './instance/rollback.js';
import { snapshotInstance } from './instance/snapshot.js';
import { startInstance } from './instance/start.js';
import { stopInstance } from './instance/stop.js';
import { summarizeInstance } from './instance/summarize.js';
import { validateInstance } from './instance/validate.js';
import type { BlueGreenOps, ByKind, OpName, PreflightOps, RetirementOps, TargetKind } from './ops.js';

/**
 * The target registry: for every operation of TargetOps, its implementation for every kind. Each
 * table `satisfies ByKind<op>`, so a kind added to the plan's union fails to compile here until it
 * has every operation.
 *
 * One table per operation rather than one object per kind: a step imports only its own table, so
 * its bundle holds only the AWS calls of that operation and its role grants only those
 * (test/static/iam-calls.test.ts); one object would pull every operation into every step.
 */
export const PREFLIGHT = {
  instance: instancePreflight,
  cluster: clusterPreflight,
} satisfies ByKind<'preflight'>;
export const STOP_SOURCE = { instance: stopInstance, cluster: stopCluster } satisfies ByKind<'stopSource'>;
export const SNAPSHOT_SOURCE = {
  instance: snapshotInstance,
  cluster: snapshotCluster,
} satisfies ByKind<'snapshotSource'>;
export const COPY_SNAPSHOT = {
  instance: copyInstanceSnapshot,
  cluster: noClusterCopy,
} satisfies ByKind<'copySnapshot'>;
export const RESTORE_DATABASE = {
  instance: restoreInstance,
  cluster: restoreCluster,
} satisfies ByKind<'restoreDatabase'>;
export const CONFIGURE_DATABASE = {
  instance: configureInstance,
  cluster: configureCluster,
} satisfies ByKind<'configureDatabase'>;
export const VALIDATE_DATABASE = {
  instance: validateInstance,
  cluster: validateCluster,
} satisfies ByKind<'validateDatabase'>;
export const START_SOURCE = {
  instance: startInstance,
  cluster: startCluster,
} satisfies ByKind<'startSource'>;
export const RETIRE_DATABASE = {
  instance: retireInstance,
  cluster: retireCluster,
} satisfies ByKind<'retireDatabase'>;
export const CUTOVER = { instance: cutoverInstance, cluster: cutoverCluster } satisfies ByKind<'cutover'>;
export const RETIREMENT = {
  instance: instanceRetirement,
  cluster: clusterRetirement,
} satisfies ByKind<'retirement'>;
export const ROLLBACK = { instance: rollbackInstance, cluster: rollbackCluster } satisfies ByKind<'rollback'>;
export const SUMMARIZE = {
  instance: summarizeInstance,
  cluster: summarizeCluster,
} satisfies ByKind<'summarize'>;
export const BLUE_GREEN = {
  instance: instanceBlueGreen,
  cluster: clusterBlueGreen,
} satisfies ByKind<'blueGreen'>;

/** The registry as one type: an operation of TargetOps without a table above fails to compile here. */
export type TargetRegistry = Registered<{
  preflight: typeof PREFLIGHT;
  stopSource: typeof STOP_SOURCE;
  snapshotSource: typeof SNAPSHOT_SOURCE;
  copySnapshot: typeof COPY_SNAPSHOT;
  restoreDatabase: typeof RESTORE_DATABASE;
  configureDatabase: typeof CONFIGURE_DATABASE;
  validateDatabase: typeof VALIDATE_DATABASE;
  startSource: typeof START_SOURCE;
  retireDatabase: typeof RETIRE_DATABASE;
  cutover: typeof CUTOVER;
  retirement: typeof RETIREMENT;
  rollback: typeof ROLLBACK;
  summarize: typeof SUMMARIZE;
  blueGreen: typeof BLUE_GREEN;
}>;
type Registered<T extends { [O in OpName]: ByKind<O> }> = T;

/** The preflight of `kind`, for a caller that holds that kind's own values. */
export const preflightOf = (kind: TargetKind): PreflightOps<TargetKind> =>
  PREFLIGHT[kind] as PreflightOps<TargetKind>;

/** The serving and retired marks of the plan's kind. */
export const retirementOf = (plan: { kind: TargetKind }): RetirementOps<TargetKind> =>
  RETIREMENT[plan.kind] as RetirementOps<TargetKind>;

/** The Blue/Green specifics of the plan's kind. */
export const blueGreenOf = (plan: { kind: TargetKind }): BlueGreenOps<TargetKind> =>
  BLUE_GREEN[plan.kind] as BlueGreenOps<TargetKind>;
