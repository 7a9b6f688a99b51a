import { GetChangeCommand, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import { normaliseDns, recordsNamed, targetOf, upsertCname } from '#aws/dns.js';
import { CutoverFailedError, isAwsError } from '#domain/errors.js';
import type { RecordProgress } from '#domain/results.js';
import { logger } from '#runtime/logger.js';

/**
 * The one CNAME reconciler: move a simple CNAME from the value it had when the rotation started to
 * a new one, wait until Route 53 reports the change INSYNC, read the record back; and point it
 * back for a rollback. Used by the instance and cluster cutovers and by both rollbacks.
 *
 * Safety rules: a record that points at anything but the expected old value or the new one was
 * changed by someone else and is never overwritten; a record with a routing policy (set
 * identifier) is never touched; `PriorRequestNotComplete` (another change to the zone is still
 * being applied) means "try again at the next poll"; a change id Route 53 no longer knows means
 * "check the record again and submit anew".
 */

/** The `changeStatus` while no change has been accepted yet (Route 53 itself says PENDING or INSYNC). */
export const NOT_SUBMITTED = 'NOT_SUBMITTED';

export interface CnameRecord {
  hostedZoneId: string;
  recordName: string;
  ttl: number;
}

export interface CnameMove {
  record: CnameRecord;
  /** The value the record had when the rotation started (any spelling; compared normalised). */
  from: string;
  /** The new database's endpoint (any spelling). */
  to: string;
  /** The Route 53 change comment. */
  comment: string;
  /** What the new endpoint belongs to, for messages: "instance" or "cluster". */
  newWhat: 'instance' | 'cluster';
}

interface CurrentRecord {
  /** Where the record points, normalised; `null` when it holds no value. */
  value: string | null;
  record: ResourceRecordSet;
}

/** Reads the CNAME, refusing a zone or record that is gone and a record with a routing policy. */
const readRecord = async (route53: Route53Client, move: CnameMove): Promise<CurrentRecord> => {
  const { hostedZoneId, recordName } = move.record;
  let records: ResourceRecordSet[];
  try {
    records = await recordsNamed(route53, hostedZoneId, recordName);
  } catch (error) {
    if (isAwsError(error, 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Hosted zone ${hostedZoneId} no longer exists, so the CNAME ${recordName} cannot be moved to the new ${move.newWhat}. ` +
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
        `Rekey did not recreate it. Recreate it pointing at the source endpoint ${move.from} ` +
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

/** UPSERTs the record to `to`; NOT_SUBMITTED when Route 53 asks to try again later. */
const submit = async (route53: Route53Client, move: CnameMove, to: string): Promise<RecordProgress> => {
  const { hostedZoneId, recordName } = move.record;
  try {
    const info = await upsertCname(route53, { ...move.record, value: to, comment: move.comment });
    if (!info?.Id) {
      throw new CutoverFailedError(
        `Route 53 accepted the change of ${recordName} in hosted zone ${hostedZoneId} but returned no change id to wait on. ` +
          'Check the record in the Route 53 console.',
      );
    }
    logger.info('CNAME change submitted', { recordName, value: to, changeId: info.Id });
    return { changeId: info.Id, changeStatus: info.Status ?? 'PENDING', verified: false };
  } catch (error) {
    // Another change to this zone is still being applied: not an error, try again at the next poll.
    if (isAwsError(error, 'PriorRequestNotComplete')) {
      logger.info('Route 53 is still applying an earlier change to the zone; trying again later', {
        hostedZoneId,
      });
      return { changeId: null, changeStatus: NOT_SUBMITTED, verified: false };
    }
    if (isAwsError(error, 'InvalidChangeBatch', 'InvalidInput', 'NoSuchHostedZone')) {
      throw new CutoverFailedError(
        `Route 53 refused to point ${recordName} (hosted zone ${hostedZoneId}) at ${to}: ` +
          `${error.name}: ${error.message}. The record was not changed; fix the cause and point it by hand, or start a new rotation.`,
        { cause: error },
      );
    }
    throw error;
  }
};

/**
 * One check of a CNAME move, acting only when needed:
 * - once verified, nothing more is checked;
 * - with a change id, wait until Route 53 reports it INSYNC, then read the record back: it must
 *   point at the new value (`verified`), or someone changed it after Rekey did;
 * - with no change yet (or one Route 53 forgot), read the record: it must still point at the old
 *   value, or already at the new one after a lost answer; then UPSERT it.
 */
export const reconcileCname = async (
  route53: Route53Client,
  move: CnameMove,
  previous: RecordProgress | undefined,
): Promise<RecordProgress> => {
  if (previous?.verified) return previous;
  const { hostedZoneId, recordName } = move.record;
  const from = normaliseDns(move.from);
  const to = normaliseDns(move.to);
  if (previous?.changeId) {
    const { changeId } = previous;
    const status = await changeStatusOf(route53, changeId);
    if (status === 'INSYNC') {
      const current = await readRecord(route53, move);
      if (current.value !== to) {
        throw new CutoverFailedError(
          `Route 53 change ${changeId} is INSYNC, but ${recordName} (hosted zone ${hostedZoneId}) now points at ` +
            `${describeTarget(current)}, not at the new endpoint ${to}. Someone changed it after Rekey did; ` +
            'Rekey did not overwrite it. Decide where clients should connect and fix the record by hand.',
        );
      }
      logger.info('CNAME change verified', { recordName, value: to, changeId });
      return { changeId, changeStatus: status, verified: true };
    }
    if (status !== null) return { changeId, changeStatus: status, verified: false };
    logger.warn('Route 53 no longer knows the change; submitting it again', { changeId });
  }
  const current = await readRecord(route53, move);
  if (current.value !== from && current.value !== to) {
    throw new CutoverFailedError(
      `${recordName} (hosted zone ${hostedZoneId}) points at ${describeTarget(current)}, neither at the source ` +
        `endpoint ${from} (as when the rotation started) nor at the new endpoint ${to}. Someone changed it ` +
        'during the rotation; Rekey did not overwrite it. Find out who (CloudTrail: ChangeResourceRecordSets), ' +
        'then point it where clients should connect.',
    );
  }
  return submit(route53, move, to);
};

/**
 * Rollback: UPSERT the record back to the old value, but only while it points at the new one (a
 * record someone else changed is left alone, as is one with a routing policy). True if it
 * changed the record.
 */
export const pointCnameBack = async (
  route53: Route53Client,
  back: { record: CnameRecord; from: string; to: string; comment: string },
): Promise<boolean> => {
  const { hostedZoneId, recordName, ttl } = back.record;
  const record = (await recordsNamed(route53, hostedZoneId, recordName)).find((r) => r.Type === 'CNAME');
  if (!record || record.SetIdentifier || targetOf(record) !== normaliseDns(back.from)) return false;
  await upsertCname(route53, { hostedZoneId, recordName, ttl, value: back.to, comment: back.comment });
  logger.info('CNAME pointed back', { recordName, value: back.to });
  return true;
};
