import { ModifyDBInstanceCommand, RebootDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { assertInstanceOwned } from '#aws/ownership.js';
import { assertInstanceHealthy, findInstance, isSettled } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError, ValidationFailedError } from '#domain/errors.js';
import {
  type ConfigDifference,
  type ConfigField,
  captureInstanceConfig,
  diffConfig,
  formatDiff,
  modifyParameters,
} from '#domain/instance-config.js';
import type { ConfigureResult } from '#domain/results.js';
import { type InstanceState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';

/** ModifyDBInstance faults that mean RDS will not take a value of the source's configuration. */
const REFUSALS = [
  'InvalidParameterCombination',
  'InvalidParameterValue',
  'KMSKeyNotAccessibleFault',
  'KMSKeyNotAccessible',
  'DBParameterGroupNotFoundFault',
  'DBParameterGroupNotFound',
  'OptionGroupNotFoundFault',
  'StorageTypeNotSupportedFault',
  'StorageTypeNotSupported',
  'InsufficientDBInstanceCapacityFault',
  'InsufficientDBInstanceCapacity',
  'CertificateNotFoundFault',
  'CertificateNotFound',
  'InvalidVPCNetworkStateFault',
  'NetworkTypeNotSupported',
];

/**
 * A convergence loop for what RestoreDBInstanceFromDBSnapshot cannot take (Enhanced Monitoring,
 * Performance Insights under the new key, max allocated storage, maintenance window) and for any
 * restore parameter the service did not honour. Each call: wait until the new instance is settled
 * (available, nothing pending); apply with one ModifyDBInstance every difference not applied yet;
 * then reboot once if the parameter group is `pending-reboot`; then done. A field is applied at
 * most once, so a value RDS does not honour cannot loop forever: `validate-database` reports it.
 */
export const configureInstance = async (state: InstanceState): Promise<ConfigureResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const id = plan.names.newDbInstanceIdentifier;
  const previous = state.configure;
  const applied = [...(previous?.applied ?? [])];
  let rebooted = previous?.rebooted ?? false;
  // The modify and the reboot each aim the checks at their expected end, from the call that began them.
  const waiting = (status: string, began?: 'modify' | 'reboot'): ConfigureResult => ({
    done: false,
    poll: nextPoll(
      previous?.poll,
      'configureInstance',
      status,
      `Configuring the new instance ${id}`,
      began ? { expectedSeconds: EXPECTED_SECONDS[began](), started: true } : {},
    ),
    applied,
    rebooted,
    status,
  });

  const db = await findInstance(rds, id);
  if (!db) {
    throw new PreconditionFailedError(
      `The new DB instance ${id} no longer exists: someone deleted it while the rotation configured it. ` +
        'Clients still use the source; start a new rotation.',
    );
  }
  assertInstanceOwned(db, plan);
  assertInstanceHealthy(db, 'new');
  const status = db.DBInstanceStatus ?? 'unknown';
  if (!isSettled(db)) return waiting(status);

  const expected = plan.source.config;
  const differences = diffConfig(expected, captureInstanceConfig(db));
  const appliesHere = (d: ConfigDifference) =>
    Object.keys(modifyParameters([d], expected, newKey.keyArn)).length > 0;
  const applicable = differences.filter((d) => !applied.includes(d.field) && appliesHere(d));
  if (applicable.length > 0) {
    const params = modifyParameters(applicable, expected, newKey.keyArn);
    try {
      await rds.send(
        new ModifyDBInstanceCommand({ ...params, DBInstanceIdentifier: id, ApplyImmediately: true }),
      );
    } catch (error) {
      // Something else started a change in between: try again once it is settled.
      if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) return waiting(status);
      if (isAwsError(error, ...REFUSALS)) throw refused(id, applicable, error);
      throw error;
    }
    applied.push(...applicable.map((d) => d.field));
    logger.info('applied the configuration the restore could not take', {
      dbInstanceIdentifier: id,
      fields: applicable.map((d) => d.field),
    });
    return waiting('modifying', 'modify');
  }

  const pendingReboot = (db.DBParameterGroups ?? []).some((g) => g.ParameterApplyStatus === 'pending-reboot');
  if (pendingReboot && !rebooted) {
    try {
      await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: id }));
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) return waiting(status);
      throw error;
    }
    rebooted = true;
    logger.info('rebooted the new instance to apply its parameter group', { dbInstanceIdentifier: id });
    return waiting('rebooting', 'reboot');
  }

  // `applied` misses what a ModifyDBInstance applied when its answer was lost (the re-run found
  // nothing left to apply): add what differed after the restore, applies here, and is right now.
  for (const field of state.restore?.differencesAfterRestore ?? []) {
    const d = { field, expected: expected[field as ConfigField], actual: undefined } as ConfigDifference;
    if (!applied.includes(field) && appliesHere(d) && !differences.some((x) => x.field === field))
      applied.push(field);
  }
  return { done: true, applied, rebooted, status };
};

const refused = (id: string, differences: ConfigDifference[], error: Error): ValidationFailedError =>
  new ValidationFailedError(
    `RDS refused to give the new DB instance ${id} the source's configuration (${error.name}: ${error.message}). ` +
      `Requested: ${formatDiff(differences)}. Clients still use the source. Check that the new instance's class ` +
      'and engine support these settings (e.g. Performance Insights) and that the new key and monitoring role ' +
      'are usable, then start a new rotation.',
    { cause: error },
  );
