import type { DBCluster } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { normaliseDns } from '#aws/dns.js';
import { CutoverFailedError, PreconditionFailedError } from '#domain/errors.js';
import type { RenameCutoverPlan } from '#domain/plan.js';
import { type ClusterCutoverResult, FIRST_CUTOVER_POLL } from '#domain/results.js';
import type { ClusterState } from '#domain/state.js';
import { NOT_SUBMITTED, reconcileCname } from '#reconcilers/cname.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { carriesOurTag } from './checks.js';
import { clusterNames, findCluster, isSourceCluster } from './lookups.js';
import { reconcileClusterRename } from './rename.js';

/**
 * Cut over to the validated new cluster. The first call changes nothing: it records
 * `attempted: true` (see CutoverAttempt), so a rollback knows from then on that clients may have
 * moved.
 * - `cname`: the writer record to the new writer endpoint and, when planned, the reader record to
 *   the new reader endpoint, each with the CNAME reconciler; done when both read back right after
 *   INSYNC (`verified`).
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
  const base = {
    type: 'cname',
    attempted: true,
    previousValue: normaliseDns(cname.previousValue),
    newValue,
  } as const;
  if (!previous) {
    return {
      ...base,
      done: false,
      changeId: null,
      changeStatus: NOT_SUBMITTED,
      verified: false,
      reader: null,
      poll: FIRST_CUTOVER_POLL,
    };
  }
  const comment = `Rekey rotation ${plan.rotationId}: point at the new DB cluster ${validation.dbInstanceIdentifier}`;
  const writer = await reconcileCname(
    route53,
    { record: cname, from: cname.previousValue, to: newValue, comment, newWhat: 'cluster' },
    previous,
  );
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
    const progress = await reconcileCname(
      route53,
      {
        record: { ...readerPlan, ttl: cname.ttl },
        from: readerPlan.previousValue,
        to: readerValue,
        comment,
        newWhat: 'cluster',
      },
      previous.reader ?? undefined,
    );
    reader = {
      recordName: readerPlan.recordName,
      ...progress,
      previousValue: normaliseDns(readerPlan.previousValue),
      newValue: readerValue,
    };
  }
  const verified = writer.verified && (reader === null || reader.verified);
  const result: ClusterCutoverResult = { ...base, done: verified, ...writer, verified, reader };
  if (verified) {
    logger.info('cluster cutover verified', { recordName: cname.recordName, newValue, reader });
    return result;
  }
  return {
    ...result,
    poll: nextPoll(
      previous.poll,
      'cutover',
      writer.changeStatus,
      `Switching ${cname.recordName} to ${newValue}`,
    ),
  };
};

/**
 * Rename cutover, two renames in order, each with the rename reconciler: the source moves aside
 * (done by the freeze when writes were frozen), then the new cluster takes the original identifier.
 */
const renameCutover = async (
  state: ClusterState,
  rename: RenameCutoverPlan,
): Promise<ClusterCutoverResult> => {
  const { rds } = getClients();
  const { plan } = state;
  const names = clusterNames(plan);
  const original = plan.source.dbClusterIdentifier;
  const aside = rename.asideIdentifier;
  const previous = state.cutover;
  const renamed = {
    sourceAside: previous?.renamed?.sourceAside ?? state.freeze?.renamedAside === true,
    newToOriginal: previous?.renamed?.newToOriginal ?? false,
  };
  const base = {
    type: 'rename' as const,
    attempted: true,
    changeId: null,
    previousValue: rename.endpointAddress,
  };
  const waiting = (status: string, newValue: string): ClusterCutoverResult => ({
    ...base,
    done: false,
    changeStatus: status,
    newValue,
    verified: false,
    renamed,
    poll: previous
      ? nextPoll(previous.poll, 'cutover', status, `Renaming ${names.newDbClusterIdentifier} to ${original}`)
      : FIRST_CUTOVER_POLL,
  });
  if (!previous) return waiting('cutover started', '');

  const ours = (cluster: DBCluster) => carriesOurTag(cluster, plan);
  const source = (cluster: DBCluster) => isSourceCluster(cluster, plan);
  const atOriginal = await findCluster(rds, original);
  if (atOriginal && !ours(atOriginal) && !source(atOriginal)) {
    throw new CutoverFailedError(
      `The identifier ${original} was taken by another DB cluster during the rotation (not the source, not this rotation's). ` +
        `Rekey did not rename ${names.newDbClusterIdentifier} onto it. Decide where clients should connect; the source is ${aside}.`,
    );
  }
  if (!atOriginal || source(atOriginal)) {
    // 1. The source aside (without a freeze, nothing moved it yet).
    const movedAside = await reconcileClusterRename(rds, {
      from: original,
      to: aside,
      expectedAtTarget: source,
      expectedAtSource: source,
      requested: renamed.sourceAside,
      what: `Moving the source ${original} aside to ${aside}`,
    });
    renamed.sourceAside = movedAside.requested;
    if (!movedAside.done)
      return waiting(movedAside.status === 'renaming' ? 'renaming-source' : movedAside.status, '');
    const fresh = await findCluster(rds, names.newDbClusterIdentifier);
    if (!renamed.newToOriginal && (!fresh || !ours(fresh))) {
      throw new CutoverFailedError(
        `The new cluster ${names.newDbClusterIdentifier} is gone, so it cannot take the identifier ${original}. ` +
          `The source is ${aside}: rename it back to ${original} to restore service.`,
      );
    }
  }
  // 2. The new cluster takes the original identifier (a no-op once it has it).
  const renamedNew = await reconcileClusterRename(rds, {
    from: names.newDbClusterIdentifier,
    to: original,
    expectedAtTarget: ours,
    expectedAtSource: ours,
    requested: renamed.newToOriginal,
    what: `Giving the new cluster ${names.newDbClusterIdentifier} the original identifier ${original}`,
  });
  renamed.newToOriginal = renamedNew.requested;
  if (!renamedNew.done) return waiting(renamedNew.status, '');

  const cluster = await findCluster(rds, original);
  const status = cluster?.Status ?? 'unknown';
  const endpoint = normaliseDns(cluster?.Endpoint ?? '');
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
};
