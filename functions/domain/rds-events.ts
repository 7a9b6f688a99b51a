import type { AwaitedEvent, RdsEventSourceType } from './limits.js';

/**
 * The RDS events (EventBridge source `aws.rds`, `detail.EventID`) that say an operation a wait
 * loop waits on has finished, from the RDS and Aurora user guides' event tables
 * (docs/aws-facts.md#rds-events). A wait that awaits one of them ends when it arrives; the check
 * step still decides whether the operation is done (docs/waits.md).
 */
export const RDS_EVENTS = {
  instanceStopped: 'RDS-EVENT-0087',
  instanceStarted: 'RDS-EVENT-0088',
  instanceCreated: 'RDS-EVENT-0005',
  instanceRestored: 'RDS-EVENT-0043',
  clusterStopped: 'RDS-EVENT-0150',
  clusterStarted: 'RDS-EVENT-0151',
  clusterCreated: 'RDS-EVENT-0170',
  snapshotCreated: 'RDS-EVENT-0042',
  snapshotCopied: 'RDS-EVENT-0197',
  clusterSnapshotCreated: 'RDS-EVENT-0075',
} as const;

/** Every event ID a wait can await: the EventBridge rule's `detail.EventID` list (template.yaml). */
export const AWAITED_EVENT_IDS: string[] = Object.values(RDS_EVENTS).sort();

export const awaiting = (
  sourceType: RdsEventSourceType,
  sourceIdentifier: string,
  ...eventIds: string[]
): AwaitedEvent => ({ sourceType, sourceIdentifier, eventIds });
