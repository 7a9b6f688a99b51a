import type { ApprovalSummary } from './plan.js';

/** The output of a successful execution (the `Summarize` step), per target kind and strategy. */

/** The output of a successful execution (the `Summarize` step). */
/** What every successful output ends with: the notes, who asked and why, when, the approval. */
interface OutputCommon {
  notes: string[];
  reason: string;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  /** The approval gate: who approved the cutover (or switchover), and when. */
  approval?: ApprovalSummary;
}

export interface RotationOutput extends OutputCommon {
  rotationId: string;
  /** The strategy used and why (`auto` records what it chose). */
  strategy: { requested: string; used: string; reason: string };
  sourceDbInstanceIdentifier: string;
  newDbInstanceIdentifier: string;
  newEndpoint: { address: string; port: number | null };
  oldKeyArn: string;
  newKeyArn: string;
  snapshotIdentifiers: { source: string; reencrypted: string };
  oldInstance: 'deleted' | 'retained';
  oldKey: { state: 'PendingDeletion'; deletionDate: string } | { state: 'Retained'; reason: string };
  cutover:
    | { type: 'cname'; recordName: string; previousValue: string; newValue: string }
    | { type: 'rename'; identifier: string; endpoint: string; oldInstanceRenamedTo: string }
    | { type: 'none' };
  writeFreeze: 'stop' | 'none';
  configurationChangesAfterRestore: string[];
}

/** The output of a successful Blue/Green rotation (the `Summarize` step). */
export interface BlueGreenRotationOutput extends OutputCommon {
  rotationId: string;
  strategy: { requested: string; used: string; reason: string };
  kind: 'instance' | 'cluster';
  /** The database clients use, before and after: the switchover keeps its name and endpoint. */
  sourceIdentifier: string;
  endpoint: { address: string; port: number | null };
  blueGreenDeployment: { identifier: string; name: string; deleted: boolean };
  /** The green resources now in service, each under the new key. */
  greenResources: { kind: string; identifier: string; arn: string; kmsKeyArn: string | null }[];
  /** The old blue resources (renamed `-old1` by the switchover). */
  oldResources: { deleted: string[]; retained: string[] };
  oldKeyArn: string;
  newKeyArn: string;
  oldInstance: 'deleted' | 'retained';
  oldKey: { state: 'PendingDeletion'; deletionDate: string } | { state: 'Retained'; reason: string };
  switchover: { timeoutSeconds: number; completedAt: string | null };
  cutover: { type: 'cname'; recordName: string; value: string } | { type: 'none' };
}

/** The output of a successful Aurora cluster rotation: the instance output's shape, for a cluster. */
export interface ClusterRotationOutput
  extends Omit<
    RotationOutput,
    | 'sourceDbInstanceIdentifier'
    | 'newDbInstanceIdentifier'
    | 'oldInstance'
    | 'cutover'
    | 'snapshotIdentifiers'
  > {
  kind: 'cluster';
  /**
   * No re-encrypting copy (`reencrypted` is null): the new cluster was restored straight from the
   * `source` snapshot with `KmsKeyId` = the new key (`restoredFrom`).
   */
  snapshotIdentifiers: { source: string; reencrypted: null; restoredFrom: string };
  sourceDbClusterIdentifier: string;
  newDbClusterIdentifier: string;
  newReaderEndpoint: string | null;
  members: { source: string; new: string; writer: boolean }[];
  oldCluster: 'deleted' | 'retained';
  cutover:
    | {
        type: 'cname';
        recordName: string;
        previousValue: string;
        newValue: string;
        reader: { recordName: string; previousValue: string; newValue: string } | null;
      }
    | { type: 'rename'; identifier: string; endpoint: string; oldClusterRenamedTo: string }
    | { type: 'none' };
}
