import {
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { findInstance, isSettled } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import {
  captureClusterConfig,
  captureMemberConfig,
  diffFields,
  formatDifferences,
  modifyClusterParameters,
  modifyMemberParameters,
} from '#domain/cluster-config.js';
import { EXPECTED_SECONDS } from '#domain/durations.js';
import { isAwsError, PreconditionFailedError, ValidationFailedError } from '#domain/errors.js';
import type { ConfigureResult } from '#domain/results.js';
import { type ClusterState, required } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { assertClusterHealthy, assertMemberHealthy, assertOwned } from './checks.js';
import { clusterNames, findCluster } from './lookups.js';

const REFUSALS = [
  'InvalidParameterCombination',
  'InvalidParameterValue',
  'KMSKeyNotAccessibleFault',
  'DBParameterGroupNotFoundFault',
  'DBClusterParameterGroupNotFoundFault',
  'InsufficientDBInstanceCapacityFault',
  'CertificateNotFoundFault',
  'InvalidVPCNetworkStateFault',
];
const REFUSAL_NAMES = [...REFUSALS, ...REFUSALS.map((name) => name.replace(/Fault$/, ''))];

/**
 * A convergence loop for what the cluster restore and CreateDBInstance cannot take (the cluster's
 * maintenance window) and for anything RDS did not honour. Each call: wait until the cluster and
 * every member are settled; apply with one ModifyDBCluster the cluster's differences not applied
 * yet; then one ModifyDBInstance per member; then reboot once each member whose parameter group is
 * `pending-reboot`; then done. Each field is applied at most once (`cluster.<field>`,
 * `<member>.<field>` in `applied`), so a value RDS does not honour cannot loop: validation reports it.
 */
export const configureCluster = async (state: ClusterState): Promise<ConfigureResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const newKey = required(state, 'newKey');
  const names = clusterNames(plan);
  const id = names.newDbClusterIdentifier;
  const previous = state.configure;
  const applied = [...(previous?.applied ?? [])];
  const rebootedMembers = [...(previous?.rebootedMembers ?? [])];
  // A modify or a reboot aims the checks at its expected end, from the call that began it.
  const result = (done: boolean, status: string, began?: 'modify' | 'reboot'): ConfigureResult => ({
    done,
    applied,
    rebooted: rebootedMembers.length > 0,
    rebootedMembers,
    status,
    ...(!done && {
      poll: nextPoll(
        previous?.poll,
        'configureInstance',
        status,
        `Configuring the new cluster ${id}`,
        began ? { expectedSeconds: EXPECTED_SECONDS[began](), started: true } : {},
      ),
    }),
  });
  const refused = (what: string, detail: string, error: Error) =>
    new ValidationFailedError(
      `RDS refused to give ${what} the source's configuration (${error.name}: ${error.message}). Requested: ${detail}. ` +
        'Clients still use the source. Check that the new cluster supports these settings, then start a new rotation.',
      { cause: error },
    );

  const cluster = await findCluster(rds, id);
  if (!cluster) {
    throw new PreconditionFailedError(
      `The new DB cluster ${id} no longer exists: someone deleted it while the rotation configured it. Clients still use the source; start a new rotation.`,
    );
  }
  assertOwned(cluster.TagList, `DB cluster named ${id}`, plan);
  assertClusterHealthy(cluster, 'new');
  if (cluster.Status !== 'available') return result(false, cluster.Status ?? 'unknown');

  const members = [];
  for (const source of plan.source.members) {
    const memberId = names.newMemberIdentifiers[source.dbInstanceIdentifier] ?? '';
    const db = await findInstance(rds, memberId);
    if (!db) {
      throw new PreconditionFailedError(
        `The member ${memberId} of the new cluster no longer exists: someone deleted it. Clients still use the source; start a new rotation.`,
      );
    }
    assertOwned(db.TagList, `DB instance named ${memberId}`, plan);
    assertMemberHealthy(db.DBInstanceStatus ?? 'unknown', memberId, 'new');
    if (!isSettled(db)) return result(false, `${memberId}:${db.DBInstanceStatus}`);
    members.push({ source, memberId, db });
  }

  const clusterDiffs = diffFields(plan.source.config, captureClusterConfig(cluster)).filter(
    (d) =>
      !applied.includes(`cluster.${d.field}`) &&
      Object.keys(modifyClusterParameters([d], plan.source.config)).length > 0,
  );
  if (clusterDiffs.length > 0) {
    try {
      await rds.send(
        new ModifyDBClusterCommand({
          ...modifyClusterParameters(clusterDiffs, plan.source.config),
          DBClusterIdentifier: id,
          ApplyImmediately: true,
        }),
      );
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.cluster.invalidState)) return result(false, 'busy');
      if (isAwsError(error, ...REFUSAL_NAMES))
        throw refused(`the new cluster ${id}`, formatDifferences(clusterDiffs), error);
      throw error;
    }
    applied.push(...clusterDiffs.map((d) => `cluster.${d.field}`));
    logger.info('applied the cluster configuration the restore could not take', {
      id,
      fields: clusterDiffs.map((d) => d.field),
    });
    return result(false, 'modifying', 'modify');
  }

  for (const { source, memberId, db } of members) {
    const memberDiffs = diffFields(source.config, captureMemberConfig(db)).filter(
      (d) =>
        !applied.includes(`${memberId}.${d.field}`) &&
        Object.keys(modifyMemberParameters([d], source.config, newKey.keyArn)).length > 0,
    );
    if (memberDiffs.length === 0) continue;
    try {
      await rds.send(
        new ModifyDBInstanceCommand({
          ...modifyMemberParameters(memberDiffs, source.config, newKey.keyArn),
          DBInstanceIdentifier: memberId,
          ApplyImmediately: true,
        }),
      );
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) return result(false, 'busy');
      if (isAwsError(error, ...REFUSAL_NAMES))
        throw refused(`the member ${memberId}`, formatDifferences(memberDiffs), error);
      throw error;
    }
    applied.push(...memberDiffs.map((d) => `${memberId}.${d.field}`));
    logger.info('applied a member configuration the create could not take', {
      memberId,
      fields: memberDiffs.map((d) => d.field),
    });
    return result(false, 'modifying', 'modify');
  }

  const clusterPendingReboot = new Set(
    (cluster.DBClusterMembers ?? [])
      .filter((m) => m.DBClusterParameterGroupStatus === 'pending-reboot')
      .map((m) => m.DBInstanceIdentifier),
  );
  for (const { memberId, db } of members) {
    const pending =
      clusterPendingReboot.has(memberId) ||
      (db.DBParameterGroups ?? []).some((g) => g.ParameterApplyStatus === 'pending-reboot');
    if (!pending || rebootedMembers.includes(memberId)) continue;
    try {
      await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: memberId }));
    } catch (error) {
      if (isAwsError(error, ...RDS_ERRORS.instance.invalidState)) return result(false, 'busy');
      throw error;
    }
    rebootedMembers.push(memberId);
    logger.info('rebooted a member to apply its parameter group', { memberId });
    return result(false, 'rebooting', 'reboot');
  }
  return result(true, 'available');
};
