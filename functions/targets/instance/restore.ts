import { type DBInstance, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { assertInstanceOwned, rotationTags } from '#aws/ownership.js';
import { assertInstanceHealthy, findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError } from '#domain/errors.js';
import { captureInstanceConfig, diffConfig, restoreParameters } from '#domain/instance-config.js';
import { awaiting, RDS_EVENTS } from '#domain/rds-events.js';
import type { RestoreResult } from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertNotBeingDeleted } from '#targets/new-database.js';

/**
 * RDS faults of RestoreDBInstanceFromDBSnapshot that mean the restore cannot succeed as asked:
 * something the source's configuration names is gone or refused, a quota is reached, or the
 * copy's key is unusable. SDK names plus the wire codes without `Fault`. (Throttling and 5xx are
 * classified as transient by the handler.)
 */
const REFUSALS = [
  'AuthorizationNotFoundFault',
  'CertificateNotFoundFault',
  'DBParameterGroupNotFoundFault',
  'DBSecurityGroupNotFoundFault',
  'DBSnapshotNotFoundFault',
  'DBSubnetGroupDoesNotCoverEnoughAZs',
  'DBSubnetGroupNotFoundFault',
  'InstanceQuotaExceededFault',
  'InsufficientDBInstanceCapacityFault',
  'InvalidDBSnapshotStateFault',
  'InvalidRestoreFault',
  'InvalidSubnet',
  'InvalidVPCNetworkStateFault',
  'KMSKeyNotAccessibleFault',
  'NetworkTypeNotSupported',
  'OptionGroupNotFoundFault',
  'ProvisionedIopsNotAvailableInAZFault',
  'StorageQuotaExceededFault',
  'StorageTypeNotSupportedFault',
  'InvalidParameterCombination',
  'InvalidParameterValue',
];
const REFUSAL_NAMES = [...REFUSALS, ...REFUSALS.map((name) => name.replace(/Fault$/, ''))];

/**
 * The refusal under RDS's own error name (the README's error table promises SDK names, and the
 * state machine's Catch takes any name into the rollback), its message saying what to do.
 */
const refusal = (error: Error, message: string): Error =>
  Object.assign(new Error(message, { cause: error }), { name: error.name });

/**
 * Restore a new instance from the re-encrypted copy with the source's configuration, and wait
 * until it is `available`. RestoreDBInstanceFromDBSnapshot has no `KmsKeyId`: the instance takes
 * the copy's key (the new one). The restore silently falls back to defaults for whatever it is
 * not given, so `restoreParameters` passes everything it accepts; `configure-database` applies
 * the rest. Tags: the source's user tags plus this rotation's, which make a re-run adopt the
 * instance and refuse one that is not this rotation's.
 */
export const restoreInstance = async (state: InstanceState): Promise<RestoreResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const id = plan.names.newDbInstanceIdentifier;
  const snapshotId = state.copySnapshot?.snapshotIdentifier ?? plan.names.copySnapshotIdentifier;
  const waiting = (status: string, db?: DBInstance): RestoreResult => ({
    done: false,
    poll: nextPoll(state.restore?.poll, 'restoreInstance', status, `Restoring ${id} from ${snapshotId}`, {
      awaits: awaiting('DB_INSTANCE', id, RDS_EVENTS.instanceRestored),
      expectedSeconds: EXPECTED_SECONDS.restore(plan.source.config.allocatedStorage),
    }),
    ...instanceFields(id, status, db),
  });

  let db = await findInstance(rds, id);
  if (!db) {
    const params = restoreParameters(plan.source.config, plan.source.placement, {
      dbInstanceIdentifier: id,
      snapshotIdentifier: snapshotId,
      tags: rotationTags(plan, 'new-instance', plan.source.config.tags),
    });
    try {
      const { DBInstance: created } = await rds.send(new RestoreDBInstanceFromDBSnapshotCommand(params));
      logger.info('restoring the new instance', { dbInstanceIdentifier: id, from: snapshotId });
      if (!created) return waiting('creating');
      db = created;
    } catch (error) {
      // A racing attempt of this step started the restore: the next check finds it (and checks it is ours).
      if (isAwsError(error, ...RDS_ERRORS.instance.alreadyExists)) return waiting('creating');
      if (isAwsError(error, ...REFUSAL_NAMES)) {
        throw refusal(
          error,
          `RDS refused to restore ${id} from the re-encrypted snapshot ${snapshotId}: ${error.name}: ${error.message}. ` +
            `The source ${plan.source.dbInstanceIdentifier} is untouched. Fix what RDS names (the new instance copies ` +
            "the source's parameter group, option group, subnet group, security groups, class and storage), " +
            'then start a new rotation.',
        );
      }
      throw error;
    }
  }

  assertInstanceOwned(db, plan);
  assertInstanceHealthy(db, 'new');
  const status = db.DBInstanceStatus ?? 'unknown';
  assertNotBeingDeleted(status, 'DB instance', id);
  if (status !== 'available') return waiting(status, db);
  logger.info('the new instance is available', { dbInstanceIdentifier: id });
  // Carried forward once known: ConfigureInstance changes the instance after this step is done.
  const differencesAfterRestore =
    state.restore?.differencesAfterRestore ??
    diffConfig(plan.source.config, captureInstanceConfig(db)).map((d) => d.field);
  return { done: true, ...instanceFields(id, status, db), differencesAfterRestore };
};

const instanceFields = (id: string, status: string, db: DBInstance | undefined) => ({
  dbInstanceIdentifier: id,
  dbInstanceArn: db?.DBInstanceArn ?? null,
  status,
});
