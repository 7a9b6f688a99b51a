import { ModifyDBClusterCommand } from '@aws-sdk/client-rds';
import { GetChangeCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { normaliseDns, recordsNamed, targetOf, upsertCname } from '#aws/dns.js';
import { CutoverFailedError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { RenameCutoverPlan } from '#domain/plan.js';
import type { ClusterCutoverResult } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { CLUSTER_NOT_NOW, carriesOurTag, clusterNames, findCluster, isSourceCluster } from './common.js';

interface RecordPlan {
  hostedZoneId: string;
  recordName: string;
  ttl: number;
  previousValue: string;
}

interface RecordProgress {
  changeId: string | null;
  changeStatus: string;
  verified: boolean;
}

/** Where the record points now (normalised), refusing a record that is gone or uses a routing policy. */
const currentValue = async (route53: Route53Client, record: RecordPlan): Promise<string | null> => {
  let found: Awaited<ReturnType<typeof recordsNamed>>;
  try {
    found = await recordsNamed(route53, record.hostedZoneId, record.recordName);
  } catch (error) {
    if (isAwsError(error, 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Hosted zone ${record.hostedZoneId} no longer exists, so ${record.recordName} cannot be moved to the new cluster. ` +
          'Decide where clients should connect and fix DNS by hand.',
        { cause: error },
      );
    }
    throw error;
  }
  const cname = found.find((r) => r.Type === 'CNAME');
  if (!cname || cname.SetIdentifier) {
    throw new CutoverFailedError(
      `The CNAME ${record.recordName} in hosted zone ${record.hostedZoneId} was deleted or given a routing policy during the rotation. ` +
        `Rekey did not change it. Point it at the new cluster by hand, or recreate it pointing at ${record.previousValue} and start a new rotation.`,
    );
  }
  return targetOf(cname);
};

/**
 * Check, then act, for one record (as the instance cutover does): with a change id, wait for
 * INSYNC and read the record back; without one, the record must still point at the source endpoint
 * (or already at the new one, after a lost answer), then UPSERT it.
 */
const reconcileRecord = async (
  route53: Route53Client,
  record: RecordPlan,
  newValue: string,
  previous: RecordProgress | undefined,
  comment: string,
): Promise<RecordProgress> => {
  if (previous?.verified) return previous;
  if (previous?.changeId) {
    let status: string | null;
    try {
      const { ChangeInfo } = await route53.send(new GetChangeCommand({ Id: previous.changeId }));
      status = ChangeInfo?.Status ?? 'PENDING';
    } catch (error) {
      if (!isAwsError(error, 'NoSuchChange')) throw error;
      status = null;
    }
    if (status === 'INSYNC') {
      const value = await currentValue(route53, record);
      if (value !== newValue) {
        throw new CutoverFailedError(
          `Route 53 change ${previous.changeId} is INSYNC, but ${record.recordName} now points at ${value ?? 'nothing'}, ` +
            `not at the new endpoint ${newValue}. Someone changed it after Rekey did; Rekey did not overwrite it. ` +
            'Decide where clients should connect and fix the record by hand.',
        );
      }
      return { changeId: previous.changeId, changeStatus: status, verified: true };
    }
    if (status !== null) return { changeId: previous.changeId, changeStatus: status, verified: false };
  }
  const value = await currentValue(route53, record);
  const previousValue = normaliseDns(record.previousValue);
  if (value !== previousValue && value !== newValue) {
    throw new CutoverFailedError(
      `${record.recordName} (hosted zone ${record.hostedZoneId}) points at ${value ?? 'nothing'}, neither at the source endpoint ` +
        `${previousValue} nor at the new endpoint ${newValue}. Someone changed it during the rotation; Rekey did not overwrite it. ` +
        'Find out who (CloudTrail: ChangeResourceRecordSets), then point it where clients should connect.',
    );
  }
  try {
    const info = await upsertCname(route53, { ...record, value: newValue, comment });
    return { changeId: info?.Id ?? null, changeStatus: info?.Status ?? 'PENDING', verified: false };
  } catch (error) {
    if (isAwsError(error, 'PriorRequestNotComplete'))
      return { changeId: null, changeStatus: 'NOT_SUBMITTED', verified: false };
    if (isAwsError(error, 'InvalidChangeBatch', 'InvalidInput', 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Route 53 refused to point ${record.recordName} at ${newValue}: ${error.name}: ${error.message}. ` +
          'The record was not changed; fix the cause and point it by hand, or start a new rotation.',
        { cause: error },
      );
    }
    throw error;
  }
};

/**
 * Cut over to the validated new cluster.
 * - `cname`: the writer record to the new writer endpoint and, when planned, the reader record to
 *   the new reader endpoint; done when both read back right after INSYNC (`verified`).
 * - `rename`: the new cluster takes the original identifier (and so, on AWS, the original
 *   endpoint). The source was renamed aside by the freeze (or here, without a freeze); the original
 *   name must be free, or the rename is refused before it is tried (RDS refuses, the emulator would
 *   overwrite). Verified when the new cluster answers under the original identifier.
 */
export const cutoverCluster = async (state: ClusterState): Promise<ClusterCutoverResult> => {
  const { plan } = state;
  const validation = state.validation;
  if (!validation) {
    throw new PreconditionFailedError(
      'Cutover needs a validated new cluster, but state.validation is missing: nothing was changed. ' +
        'This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  if (plan.cutover.type === 'rename') return renameCutover(state, plan.cutover);
  if (plan.cutover.type !== 'cname') {
    throw new PreconditionFailedError(
      `Cutover runs only for cutover "cname" or "rename", but this rotation's cutover is "${plan.cutover.type}". ` +
        'Nothing was changed. This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const cname = plan.cutover;
  const { route53 } = getClients();
  const previous = state.cutover;
  const newValue = normaliseDns(validation.endpointAddress);
  const comment = `Rekey rotation ${plan.rotationId}: point at the new DB cluster ${validation.dbInstanceIdentifier}`;
  const writer = await reconcileRecord(route53, cname, newValue, previous, comment);
  const readerPlan = 'reader' in cname ? cname.reader : null;
  let reader: ClusterCutoverResult['reader'] = null;
  if (readerPlan) {
    const readerValue = normaliseDns(validation.readerEndpointAddress ?? '');
    if (!readerValue) {
      throw new CutoverFailedError(
        `The new cluster ${validation.dbInstanceIdentifier} has no reader endpoint, so ${readerPlan.recordName} was not moved. ` +
          `The writer record ${cname.recordName} points at the new cluster; point the reader record by hand.`,
      );
    }
    const before = previous?.reader;
    const progress = await reconcileRecord(
      route53,
      { ...readerPlan, ttl: cname.ttl },
      readerValue,
      before
        ? {
            changeId: before.changeId,
            changeStatus: before.changeStatus,
            verified: before.changeStatus === 'VERIFIED',
          }
        : undefined,
      comment,
    );
    reader = {
      recordName: readerPlan.recordName,
      changeId: progress.changeId,
      changeStatus: progress.verified ? 'VERIFIED' : progress.changeStatus,
      previousValue: normaliseDns(readerPlan.previousValue),
      newValue: readerValue,
    };
  }
  const verified = writer.verified && (reader === null || reader.changeStatus === 'VERIFIED');
  const result: ClusterCutoverResult = {
    type: 'cname',
    done: verified,
    changeId: writer.changeId,
    changeStatus: writer.changeStatus,
    previousValue: normaliseDns(cname.previousValue),
    newValue,
    verified,
    reader,
  };
  if (verified) {
    logger.info('cluster cutover verified', { recordName: cname.recordName, newValue, reader });
    return result;
  }
  return {
    ...result,
    poll: nextPoll(
      previous?.poll,
      'cutover',
      writer.changeStatus,
      `Switching ${cname.recordName} to ${newValue}`,
    ),
  };
};

const renameCutover = async (
  state: ClusterState,
  rename: RenameCutoverPlan,
): Promise<ClusterCutoverResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const names = clusterNames(plan);
  const original = plan.source.dbClusterIdentifier;
  const previous = state.cutover;
  const renamed = {
    sourceAside: previous?.renamed?.sourceAside ?? state.freeze?.renamedAside === true,
    newToOriginal: previous?.renamed?.newToOriginal ?? false,
  };
  const base = { type: 'rename' as const, changeId: null, previousValue: rename.endpointAddress };
  const waiting = (status: string, newValue: string): ClusterCutoverResult => ({
    ...base,
    done: false,
    changeStatus: status,
    newValue,
    verified: false,
    renamed,
    poll: nextPoll(
      previous?.poll,
      'cutover',
      status,
      `Renaming ${names.newDbClusterIdentifier} to ${original}`,
    ),
  });

  const atOriginal = await findCluster(rds, original);
  if (atOriginal && carriesOurTag(atOriginal, plan)) {
    renamed.newToOriginal = true;
    const status = atOriginal.Status ?? 'unknown';
    const endpoint = normaliseDns(atOriginal.Endpoint ?? '');
    if (status !== 'available') return waiting(status, endpoint);
    if (!endpoint.startsWith(`${original}.`)) {
      throw new CutoverFailedError(
        `The new cluster now has the identifier ${original}, but its endpoint is ${endpoint}, not a ${original}.* name. ` +
          'Clients using the original endpoint may not reach it; check the cluster in the RDS console.',
      );
    }
    // On AWS the endpoint's middle part is the same for every cluster of an account in a Region, so
    // the endpoint equals the original; the emulator gives every cluster its own.
    const note =
      endpoint === rename.endpointAddress
        ? undefined
        : `The new cluster's endpoint ${endpoint} is not the original ${rename.endpointAddress}, though it carries the original identifier.`;
    logger.info('rename cutover verified', { dbClusterIdentifier: original, endpoint });
    return {
      ...base,
      done: true,
      changeStatus: status,
      newValue: endpoint,
      verified: true,
      renamed,
      ...(note && { note }),
    };
  }
  if (atOriginal && isSourceCluster(atOriginal, plan)) {
    // No freeze ran (writeFreeze "none"): move the source aside now.
    if (atOriginal.Status !== 'available') return waiting(atOriginal.Status ?? 'unknown', '');
    if (await findCluster(rds, rename.asideIdentifier)) {
      throw new CutoverFailedError(
        `Cannot move the source ${original} aside: a DB cluster named ${rename.asideIdentifier} already exists. Nothing was renamed; clients still use ${original}.`,
      );
    }
    await modifyIdentifier(original, rename.asideIdentifier);
    renamed.sourceAside = true;
    return waiting('renaming-source', '');
  }
  if (atOriginal) {
    throw new CutoverFailedError(
      `The identifier ${original} was taken by another DB cluster during the rotation (not the source, not this rotation's). ` +
        `Rekey did not rename ${names.newDbClusterIdentifier} onto it. Decide where clients should connect; the source is ${rename.asideIdentifier}.`,
    );
  }
  const fresh = await findCluster(rds, names.newDbClusterIdentifier);
  if (!fresh || !carriesOurTag(fresh, plan)) {
    throw new CutoverFailedError(
      `The new cluster ${names.newDbClusterIdentifier} is gone, so it cannot take the identifier ${original}. ` +
        `The source is ${rename.asideIdentifier}: rename it back to ${original} to restore service.`,
    );
  }
  if (fresh.Status !== 'available') return waiting(fresh.Status ?? 'unknown', '');
  await modifyIdentifier(names.newDbClusterIdentifier, original);
  renamed.newToOriginal = true;
  logger.info('renaming the new cluster to the original identifier', {
    from: names.newDbClusterIdentifier,
    to: original,
  });
  return waiting('renaming', '');
};

const modifyIdentifier = async (from: string, to: string): Promise<void> => {
  try {
    await getClients().rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: from,
        NewDBClusterIdentifier: to,
        ApplyImmediately: true,
      }),
    );
  } catch (error) {
    if (!isAwsError(error, ...CLUSTER_NOT_NOW)) throw error;
  }
};
