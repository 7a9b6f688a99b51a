import { getClients } from '#aws/clients.js';
import { resolveKeyArn } from '#aws/kms-keys.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { ValidationFailedError } from '#domain/errors.js';
import { captureInstanceConfig, diffConfig, formatDiff } from '#domain/instance-config.js';
import { TAG_ROTATION_ID } from '#domain/naming.js';
import type { ValidationResult } from '#domain/results.js';
import { type InstanceState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * The gate before clients are switched: the new instance must be `available`, encrypted, under the
 * new key (compared as canonical key ARNs: RDS may report a key id, key ARN or alias ARN), and have
 * the source's configuration field by field. Read-only. Every problem is reported at once, so one
 * failed execution tells a person everything to fix.
 */
export const validateInstance = async (state: InstanceState): Promise<ValidationResult> => {
  const { rds, kms } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const id = plan.names.newDbInstanceIdentifier;
  const sourceId = plan.source.dbInstanceIdentifier;

  const db = await findInstance(rds, id);
  if (!db) {
    throw new ValidationFailedError(
      `The new DB instance ${id} does not exist, so there is nothing to switch clients to. ` +
        `Clients still use the source ${sourceId}; start a new rotation.`,
    );
  }

  const problems: string[] = [];
  const status = db.DBInstanceStatus ?? 'unknown';
  if (status !== 'available') problems.push(`its status is "${status}", not "available"`);
  if (!db.StorageEncrypted) problems.push('its storage is not encrypted');
  if (!db.Endpoint?.Address) problems.push('it has no endpoint address for clients to use');
  if (!carriesRotationId(db.TagList, plan.rotationId)) {
    problems.push(
      `it does not carry the tag ${TAG_ROTATION_ID}=${plan.rotationId}, so it is not the instance this rotation restored`,
    );
  }

  let expectedKeyArn = newKey.keyArn;
  try {
    expectedKeyArn = await resolveKeyArn(kms, newKey.keyArn);
  } catch (error) {
    problems.push(`KMS could not describe the new key ${newKey.keyArn} (${describeError(error)})`);
  }
  let actualKeyArn: string | null = null;
  if (!db.KmsKeyId) {
    problems.push('it reports no KMS key');
  } else {
    try {
      actualKeyArn = await resolveKeyArn(kms, db.KmsKeyId);
    } catch (error) {
      problems.push(`KMS could not describe its key ${db.KmsKeyId} (${describeError(error)})`);
    }
    if (actualKeyArn && actualKeyArn !== expectedKeyArn) {
      const which = actualKeyArn === plan.source.kmsKeyArn ? ' (the OLD key)' : '';
      problems.push(`it is encrypted with ${actualKeyArn}${which}, not with the new key ${expectedKeyArn}`);
    }
  }

  const differences = diffConfig(plan.source.config, captureInstanceConfig(db));
  if (differences.length > 0) {
    problems.push(`its configuration differs from the source ${sourceId}: ${formatDiff(differences)}`);
  }

  if (problems.length > 0) {
    logger.error('the new instance failed validation', { dbInstanceIdentifier: id, problems, differences });
    throw new ValidationFailedError(
      `The new DB instance ${id} is not fit to replace ${sourceId}, so clients were not switched to it. ` +
        `Problems: ${problems.map((p, i) => `(${i + 1}) ${p}`).join('; ')}. ` +
        `Clients still use ${sourceId}. Fix the cause (compare both instances in the RDS console), ` +
        'then start a new rotation.',
    );
  }

  logger.info('the new instance is valid', { dbInstanceIdentifier: id, kmsKeyArn: actualKeyArn });
  return {
    dbInstanceIdentifier: id,
    dbInstanceArn: db.DBInstanceArn ?? '',
    endpointAddress: db.Endpoint?.Address as string,
    port: db.Endpoint?.Port ?? null,
    kmsKeyArn: actualKeyArn ?? expectedKeyArn,
    status,
    differences: [],
    checkedAt: new Date().toISOString(),
  };
};
