import type { DBInstance } from '@aws-sdk/client-rds';
import { GetChangeCommand, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { normaliseDns, recordsNamed, targetOf, upsertCname } from '#aws/dns.js';
import { carriesRotationId } from '#aws/ownership.js';
import { findInstance } from '#aws/rds.js';
import { CutoverFailedError, isAwsError, PreconditionFailedError } from '#domain/errors.js';
import type { CnameCutoverPlan } from '#domain/plan.js';
import type {
  ClusterCutoverResult,
  CnameCutoverResult,
  CutoverResult,
  RenameCutoverResult,
} from '#domain/results.js';
import type { InstanceState } from '#domain/state.js';
import { reconcileRename } from '#reconcilers/rename.js';
import { logger } from '#runtime/logger.js';
import { nextPoll } from '#runtime/polling.js';
import { cutoverCluster } from '#targets/cluster/cutover.js';
import { byKind } from '#targets/dispatch.js';

/** The `changeStatus` reported while no change has been accepted yet (Route 53 itself says PENDING or INSYNC). */
const NOT_SUBMITTED = 'NOT_SUBMITTED';

interface CurrentRecord {
  /** Where the record points, normalised; `null` when it holds no value. */
  value: string | null;
  record: ResourceRecordSet;
}

/**
 * Reads the CNAME. ListResourceRecordSets returns the records in order *from* the start name, so
 * the first record is the next one in the zone when ours does not exist: match name and type.
 */
const readRecord = async (route53: Route53Client, plan: CnameCutoverPlan): Promise<CurrentRecord> => {
  const { hostedZoneId, recordName } = plan;
  let records: ResourceRecordSet[];
  try {
    records = await recordsNamed(route53, hostedZoneId, recordName);
  } catch (error) {
    if (isAwsError(error, 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Hosted zone ${hostedZoneId} no longer exists, so the CNAME ${recordName} cannot be moved to the new instance. ` +
          'Someone deleted the zone during the rotation. Decide where clients should connect and fix DNS by hand.',
        { cause: error },
      );
    }
    throw error;
  }
  const record = records.find((r) => r.Type === 'CNAME');
  if (!record) {
    throw new CutoverFailedError(
      `The CNAME ${recordName} is no longer in hosted zone ${hostedZoneId}: someone deleted or replaced it during the rotation. ` +
        `Rekey did not recreate it. Recreate it pointing at the source endpoint ${plan.previousValue} ` +
        'and start a new rotation, or decide where clients should connect and create it by hand.',
    );
  }
  if (record.SetIdentifier) {
    throw new CutoverFailedError(
      `The CNAME ${recordName} in hosted zone ${hostedZoneId} now uses a routing policy (set identifier "${record.SetIdentifier}"). ` +
        'Rekey moves only simple CNAME records and did not change it. Move the records to the new endpoint by hand.',
    );
  }
  return { value: targetOf(record), record };
};

const describeTarget = (current: CurrentRecord): string => {
  if (current.value === null) return 'nothing';
  return current.record.AliasTarget ? `${current.value} (an alias)` : current.value;
};

/** The status of a change, or `null` when Route 53 no longer knows the change id. */
const changeStatusOf = async (route53: Route53Client, changeId: string): Promise<string | null> => {
  try {
    const { ChangeInfo } = await route53.send(new GetChangeCommand({ Id: changeId }));
    return ChangeInfo?.Status ?? 'PENDING';
  } catch (error) {
    if (isAwsError(error, 'NoSuchChange')) return null;
    throw error;
  }
};

/** UPSERTs the CNAME to `newValue`; the change id, or `null` when Route 53 asks to try again later. */
const submitChange = async (
  route53: Route53Client,
  plan: CnameCutoverPlan,
  newValue: string,
  comment: string,
): Promise<{ changeId: string; changeStatus: string } | null> => {
  try {
    const ChangeInfo = await upsertCname(route53, {
      hostedZoneId: plan.hostedZoneId,
      recordName: plan.recordName,
      ttl: plan.ttl,
      value: newValue,
      comment,
    });
    if (!ChangeInfo?.Id) {
      throw new CutoverFailedError(
        `Route 53 accepted the change of ${plan.recordName} in hosted zone ${plan.hostedZoneId} but returned no change id to wait on. ` +
          'Check the record in the Route 53 console.',
      );
    }
    return { changeId: ChangeInfo.Id, changeStatus: ChangeInfo.Status ?? 'PENDING' };
  } catch (error) {
    // Another change to this zone is still being applied: not an error, try again at the next poll.
    if (isAwsError(error, 'PriorRequestNotComplete')) return null;
    if (isAwsError(error, 'InvalidChangeBatch', 'InvalidInput', 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Route 53 refused to point ${plan.recordName} (hosted zone ${plan.hostedZoneId}) at ${newValue}: ` +
          `${error.name}: ${error.message}. The record was not changed; fix the cause and point it by hand, or start a new rotation.`,
        { cause: error },
      );
    }
    throw error;
  }
};

/**
 * Cut over: point the CNAME clients use at the validated new instance. "Check, then act":
 * - with no change submitted yet, read the record; it must still point at the source endpoint
 *   (or already at the new one, after a lost response), otherwise someone changed it during the
 *   rotation and it is left alone; then UPSERT it and wait;
 * - with a change id, wait until Route 53 reports it INSYNC, then read the record back: it must
 *   point at the new endpoint (`verified`), which is what allows the old instance to be retired.
 */
const cutoverOfInstance = async (state: InstanceState): Promise<CutoverResult> =>
  state.plan.cutover.type === 'rename' ? renameCutover(state) : cnameCutover(state);

const cnameCutover = async (state: InstanceState): Promise<CnameCutoverResult> => {
  const { plan } = state;
  if (plan.cutover.type !== 'cname') {
    throw new PreconditionFailedError(
      `Cutover runs only for cutover type "cname", but this rotation's cutover is "${plan.cutover.type}". ` +
        'Nothing was changed in Route 53. This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const validation = state.validation;
  if (!validation) {
    throw new PreconditionFailedError(
      `Cutover needs a validated new instance, but state.validation is missing: ${plan.cutover.recordName} was not changed ` +
        'and still points at the source. This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const cname = plan.cutover;
  const { route53 } = getClients();
  const previousValue = normaliseDns(cname.previousValue);
  const newValue = normaliseDns(validation.endpointAddress);
  const previous = state.cutover?.type === 'cname' ? state.cutover : undefined;
  const what = `Switching ${cname.recordName} to ${newValue}`;
  const result = { type: 'cname', previousValue, newValue } as const;

  if (previous?.changeId) {
    const changeId = previous.changeId;
    const status = await changeStatusOf(route53, changeId);
    if (status === 'INSYNC') {
      const current = await readRecord(route53, cname);
      if (current.value !== newValue) {
        throw new CutoverFailedError(
          `Route 53 change ${changeId} is INSYNC, but ${cname.recordName} (hosted zone ${cname.hostedZoneId}) now points at ` +
            `${describeTarget(current)}, not at the new endpoint ${newValue}. Someone changed it after Rekey did; ` +
            'Rekey did not overwrite it. Decide where clients should connect and fix the record by hand.',
        );
      }
      logger.info('cutover verified', { recordName: cname.recordName, newValue, changeId });
      return { ...result, done: true, changeId, changeStatus: status, verified: true };
    }
    if (status !== null) {
      return {
        ...result,
        done: false,
        changeId,
        changeStatus: status,
        verified: false,
        poll: nextPoll(previous.poll, 'cutover', status, what),
      };
    }
    // Route 53 no longer knows the change: check the record again and submit a new one.
    logger.warn('Route 53 no longer knows the change; submitting it again', { changeId });
  }

  const current = await readRecord(route53, cname);
  if (current.value !== previousValue && current.value !== newValue) {
    throw new CutoverFailedError(
      `${cname.recordName} (hosted zone ${cname.hostedZoneId}) points at ${describeTarget(current)}, neither at the source ` +
        `endpoint ${previousValue} (as when the rotation started) nor at the new endpoint ${newValue}. Someone changed it ` +
        'during the rotation; Rekey did not overwrite it. Find out who (CloudTrail: ChangeResourceRecordSets), ' +
        `then point it where clients should connect.`,
    );
  }
  const submitted = await submitChange(
    route53,
    cname,
    newValue,
    `Rekey rotation ${plan.rotationId}: point ${cname.recordName} at the new DB instance ${validation.dbInstanceIdentifier}`,
  );
  if (!submitted) {
    logger.info('Route 53 is still applying an earlier change to the zone; trying again later', {
      hostedZoneId: cname.hostedZoneId,
    });
    return {
      ...result,
      done: false,
      changeId: null,
      changeStatus: NOT_SUBMITTED,
      verified: false,
      poll: nextPoll(previous?.poll, 'cutover', 'PriorRequestNotComplete', what),
    };
  }
  logger.info('cutover submitted', { recordName: cname.recordName, newValue, changeId: submitted.changeId });
  return {
    ...result,
    done: false,
    ...submitted,
    verified: false,
    poll: nextPoll(previous?.poll, 'cutover', submitted.changeStatus, what),
  };
};

/**
 * Rename cutover: the new instance takes the source's identifier, so clients keep their hostname.
 * Two renames, in order, each checked before it is made: the source moves aside (already done
 * before the stop when writes were frozen), then the new instance takes the original identifier.
 * Verified once the new instance answers under the original identifier, `available`, with the
 * original endpoint address. Rollback undoes the renames in reverse order.
 */
const renameCutover = async (state: InstanceState): Promise<RenameCutoverResult> => {
  const { plan } = state;
  const validation = state.validation;
  if (plan.cutover.type !== 'rename' || !validation) {
    throw new PreconditionFailedError(
      'The rename cutover needs a rename plan and a validated new instance. Nothing was renamed. ' +
        'This is a state machine wiring error: report it with the execution ARN.',
    );
  }
  const { rds } = getClients();
  const original = plan.source.dbInstanceIdentifier;
  const aside = plan.cutover.asideIdentifier;
  const endpoint = normaliseDns(plan.cutover.endpointAddress);
  const previous = state.cutover?.type === 'rename' ? state.cutover : undefined;
  const result = {
    type: 'rename',
    oldIdentifier: aside,
    newIdentifier: original,
    previousValue: endpoint,
    newValue: endpoint,
    sourceMoveRequested: previous?.sourceMoveRequested ?? false,
    newRenameRequested: previous?.newRenameRequested ?? false,
  } as const;
  const waiting = (
    phase: RenameCutoverResult['phase'],
    status: string,
    requested: Partial<RenameCutoverResult>,
  ): RenameCutoverResult => ({
    ...result,
    ...requested,
    phase,
    status,
    done: false,
    verified: false,
    poll: nextPoll(
      previous?.poll,
      'cutover',
      status,
      `Renaming ${validation.dbInstanceIdentifier} to ${original}`,
    ),
  });
  const isOurs = (db: DBInstance) => carriesRotationId(db.TagList, plan.rotationId);

  const movedAside = await reconcileRename(rds, {
    from: original,
    to: aside,
    expectedAtTarget: () => true,
    requested: result.sourceMoveRequested,
    what: `Moving the source ${original} aside to ${aside}`,
  });
  if (!movedAside.done) {
    // The original name may already be ours: the new instance got it and the source is settling aside.
    return waiting('moving-source-aside', movedAside.status, { sourceMoveRequested: movedAside.requested });
  }

  const renamed = await reconcileRename(rds, {
    from: validation.dbInstanceIdentifier,
    to: original,
    expectedAtTarget: isOurs,
    requested: result.newRenameRequested,
    what: `Giving the new instance ${validation.dbInstanceIdentifier} the original identifier ${original}`,
  });
  const requested = { sourceMoveRequested: true, newRenameRequested: renamed.requested };
  if (!renamed.done) return waiting('renaming-new-instance', renamed.status, requested);

  const db = await findInstance(rds, original);
  const address = normaliseDns(db?.Endpoint?.Address ?? '');
  if (db?.DBInstanceStatus !== 'available' || address !== endpoint) {
    // RDS publishes the new endpoint within about 10 minutes of a rename.
    return waiting(
      'renaming-new-instance',
      address ? `${db?.DBInstanceStatus} at ${address}` : 'no endpoint yet',
      requested,
    );
  }
  logger.info('rename cutover verified', { dbInstanceIdentifier: original, endpoint, aside });
  return { ...result, ...requested, phase: 'done', status: 'available', done: true, verified: true };
};

export const cutover = byKind<CutoverResult | ClusterCutoverResult>('Cutover', {
  instance: cutoverOfInstance,
  cluster: cutoverCluster,
});
