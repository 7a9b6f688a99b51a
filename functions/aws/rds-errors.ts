/**
 * The names RDS gives its errors, one table per resource type. The SDK reports the service's
 * error code as `error.name`: RDS's Query API answers with the `...Fault` shape names, and the
 * same errors have been seen without the suffix, so each entry lists both spellings.
 * Match with `isAwsError(error, ...RDS_ERRORS.instance.notFound)`.
 */
const both = <const N extends string>(name: N) => [`${name}Fault`, name] as const;

export const RDS_ERRORS = {
  instance: {
    notFound: both('DBInstanceNotFound'),
    /** The instance is busy or stopped: RDS refuses the call for now. */
    invalidState: both('InvalidDBInstanceState'),
    alreadyExists: both('DBInstanceAlreadyExists'),
  },
  cluster: {
    notFound: both('DBClusterNotFound'),
    invalidState: both('InvalidDBClusterState'),
    alreadyExists: both('DBClusterAlreadyExists'),
  },
  snapshot: {
    notFound: both('DBSnapshotNotFound'),
    invalidState: both('InvalidDBSnapshotState'),
    alreadyExists: both('DBSnapshotAlreadyExists'),
    /** The Region's manual snapshot quota is used up (instances and clusters each have one). */
    quotaExceeded: both('SnapshotQuotaExceeded'),
  },
  clusterSnapshot: {
    notFound: both('DBClusterSnapshotNotFound'),
    invalidState: both('InvalidDBClusterSnapshotState'),
    alreadyExists: both('DBClusterSnapshotAlreadyExists'),
    quotaExceeded: both('SnapshotQuotaExceeded'),
  },
  blueGreen: {
    notFound: both('BlueGreenDeploymentNotFound'),
    invalidState: both('InvalidBlueGreenDeploymentState'),
    alreadyExists: both('BlueGreenDeploymentAlreadyExists'),
  },
  kms: {
    /** RDS cannot use the key (disabled, pending deletion, or no grant). */
    keyNotAccessible: both('KMSKeyNotAccessible'),
  },
} as const;
