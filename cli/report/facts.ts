import type { EvidenceRecord, KeyEvidence, ResourceEvidence } from '#features/evidence/schema.js';

/**
 * What both renderers say, derived once from the evidence record: formatted times and durations,
 * the one-sentence answer a reviewer looks for first, the before/after rows and the key events.
 * Everything here returns plain text; each renderer escapes it for its own format.
 */

/** The section ids (HTML) and headings (both formats). Stable: tests and links rely on them. */
export const SECTIONS = {
  summary: 'Summary',
  timeline: 'Timeline',
  'before-after': 'Before and after',
  'key-lifecycle': 'Key lifecycle',
  resources: 'Resources',
  events: 'Events',
  rollback: 'Rollback',
  notes: 'Notes',
  input: 'Execution input',
} as const;
export type SectionId = keyof typeof SECTIONS;

export const sectionIds = (record: EvidenceRecord): SectionId[] =>
  (Object.keys(SECTIONS) as SectionId[]).filter((id) => {
    if (id === 'rollback') return hasRollback(record);
    if (id === 'notes') return record.notes.length > 0;
    return true;
  });

/** Stopped by a person (ABORTED) or by the execution timeout (TIMED_OUT): no rollback ran. */
export const wasStopped = (record: EvidenceRecord): boolean =>
  record.execution.status === 'ABORTED' || record.execution.status === 'TIMED_OUT';

export const hasRollback = (record: EvidenceRecord): boolean =>
  record.rollback !== null || record.execution.status === 'FAILED' || wasStopped(record);

/** What the rollback section says when the record has no rollback details. */
export const noRollbackText = (record: EvidenceRecord): string =>
  wasStopped(record)
    ? `No rollback ran: the execution ${record.execution.status === 'ABORTED' ? 'was stopped (ABORTED)' : 'timed out'} and ran no further state. The resources above were created and not cleaned up, and the source database may still be stopped: see the notes and the README (Limits; Rolling back by hand).`
    : 'The record has no rollback details: check the execution history and the resources for anything left behind.';

const parseTime = (value: string | null | undefined): number | null => {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
};

export { parseTime };

/** `2025-03-11 06:00:02 UTC`; anything unparseable is shown as given. */
export const formatTime = (value: string | null | undefined): string => {
  if (!value) return '—';
  const ms = parseTime(value);
  if (ms === null) return value;
  return `${new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '')} UTC`;
};

export const formatDate = (value: string | null | undefined): string => {
  if (!value) return '—';
  const ms = parseTime(value);
  return ms === null ? value : new Date(ms).toISOString().slice(0, 10);
};

/** `1h 02m 03s`, `12m 04s`, `7s`, `0.4s`. */
export const formatDuration = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return ms <= 0 ? '0s' : `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
};

export const executionDurationMs = (record: EvidenceRecord): number | null => {
  const start = parseTime(record.execution.startedAt);
  const end = parseTime(record.execution.finishedAt);
  return start === null || end === null ? null : end - start;
};

export const resultLabel = (record: EvidenceRecord): string => {
  switch (record.execution.status) {
    case 'SUCCEEDED':
      return 'Succeeded';
    case 'FAILED':
      return record.rollback ? 'Failed, rolled back' : 'Failed';
    case 'SKIPPED':
      return 'Skipped (nothing was changed)';
    case 'ABORTED':
      return 'Aborted (stopped by hand, no rollback ran)';
    case 'TIMED_OUT':
      return 'Timed out (no rollback ran)';
    default:
      return String(record.execution.status);
  }
};

export const keyLabel = (key: KeyEvidence | null): string =>
  key ? (key.alias ? `${key.arn} (${key.alias})` : key.arn) : 'unknown';

export const targetLabel = (record: EvidenceRecord): string =>
  record.target
    ? `${record.target.kind === 'cluster' ? 'Aurora DB cluster' : 'DB instance'} ${record.target.identifier}`
    : 'unknown database';

/** Who started it, as far as the record can tell; the stated requester is never taken as proof. */
export const whoLabel = (record: EvidenceRecord): string => {
  const { principal, source, requestedBy } = record.startedBy;
  const who =
    principal && (source === 'cloudtrail' || source === 'sts:GetCallerIdentity')
      ? principal
      : source === 'emulator'
        ? 'a local run on an emulator (no AWS identity)'
        : `an unknown principal (${environmentOf(record).runner === 'local' ? 'the local run did not record who ran it' : 'CloudTrail did not say'})`;
  return requestedBy ? `${who}, requested by "${requestedBy}" (as stated in the input)` : who;
};

/** The summary's "Started by" value: the identity and where it comes from. */
export const startedByText = (record: EvidenceRecord): string => {
  const { principal, source, sourceIpAddress, userAgent } = record.startedBy;
  if (principal && source === 'cloudtrail') {
    return `${principal} (from CloudTrail StartExecution${sourceIpAddress ? `, source ${sourceIpAddress}` : ''}${userAgent ? `, agent ${userAgent}` : ''})`;
  }
  if (principal && source === 'sts:GetCallerIdentity') {
    return `${principal} (the credentials of a local run, from sts:GetCallerIdentity; not a StartExecution call)`;
  }
  if (source === 'emulator') return 'no AWS identity: a local run on an emulator';
  return environmentOf(record).runner === 'local'
    ? 'unknown: the local run did not record who ran it'
    : 'unknown: CloudTrail did not record who called StartExecution';
};

/**
 * Where the execution ran. Records written before `environment` existed: a local-runner history
 * means a local run, against AWS or an emulator (the record cannot tell).
 */
export const environmentOf = (
  record: EvidenceRecord,
): {
  runner: 'step-functions' | 'local';
  services: 'aws' | 'emulator' | 'unknown';
  endpoint: string | null;
} =>
  record.environment ??
  (record.history.source === 'local-runner'
    ? { runner: 'local', services: 'unknown', endpoint: null }
    : { runner: 'step-functions', services: 'aws', endpoint: null });

/** The warning at the top of a report whose record was not made by the deployed state machine on AWS. */
export const environmentBanner = (record: EvidenceRecord): string | null => {
  const env = environmentOf(record);
  if (env.runner === 'step-functions') return null;
  if (env.services === 'emulator') {
    return (
      `EMULATOR RUN: this record was made by a local run against an emulator${env.endpoint ? ` (${env.endpoint})` : ''}, not in AWS. ` +
      'Nothing in it happened in an AWS account: it is not evidence of a rotation.'
    );
  }
  if (env.services === 'aws') {
    return (
      'LOCAL RUN: this record was made by the local runner (rekey run) against AWS, not by the deployed state machine: ' +
      'its history is the local runner’s, and who ran it comes from the credentials it used (sts:GetCallerIdentity), not from CloudTrail.'
    );
  }
  return (
    'LOCAL RUN: this record was made by the local runner, not by the deployed state machine, against AWS or an emulator ' +
    '(records of this age do not say which): check the account and the CloudTrail events before relying on it.'
  );
};

/** The approval gate in one sentence, for the summary. */
export const approvalText = (record: EvidenceRecord): string => {
  const approval = record.approval;
  if (approval === undefined) return 'not in the record (written before approvals were recorded)';
  if (approval === null) return 'not required';
  const by = approval.by ? ` by ${approval.by}` : ' by an unnamed operator';
  const at = approval.at ? ` at ${formatTime(approval.at)}` : '';
  const stated = approval.by
    ? ' (the name the approver’s command sent; the IAM caller is in CloudTrail)'
    : '';
  switch (approval.decision) {
    case 'approved':
      return `approved${by}${at}${stated}`;
    case 'rejected':
      return `REJECTED${by}${at}: ${approval.reason ?? 'no reason given'}${stated}`;
    case 'timed-out':
      return `TIMED OUT${at}: ${approval.reason ?? 'no decision in time'}`;
    case 'undecided':
      return `no decision: ${approval.reason ?? 'the execution stopped while it waited'}`;
    default:
      return 'required, not reached: the rotation ended before the approval step';
  }
};

/** True when some key of the record was scheduled for deletion: the old one, or an unused new one. */
export const anyKeyScheduledForDeletion = (record: EvidenceRecord): boolean =>
  record.oldKeyOutcome.state === 'PendingDeletion' ||
  record.resources.some((r) => r.kind === 'kms-key' && r.action === 'scheduled-for-deletion');

/** Why a reviewer should not be alarmed by Security Hub's KMS.3 finding (docs/evidence-schema.md). */
export const KMS3_TEXT =
  'Security Hub control KMS.3 ("AWS KMS keys should not be deleted unintentionally") reports a FAILED finding for a ' +
  'customer managed key that is pending deletion. Here that is by design: the deletion was scheduled on purpose, once ' +
  'nothing in RDS was encrypted under the key any more, and this record is the evidence that it was intended. The finding ' +
  'clears when KMS deletes the key at the end of the waiting period; suppress it for this key with this report as the reason, ' +
  'or cancel the deletion (aws kms cancel-key-deletion) if the key is still needed.';

export const oldKeyOutcomeLabel = (record: EvidenceRecord): string => {
  const { state, deletionDate, reason } = record.oldKeyOutcome;
  if (state === 'PendingDeletion') {
    return `pending deletion; KMS deletes it on ${formatTime(deletionDate)}`;
  }
  if (state === 'Retained') return `retained${reason ? `: ${reason}` : ''}`;
  return `untouched${reason ? `: ${reason}` : ''}`;
};

/** The sentence a reviewer needs first: who rotated what from which key to which, when, and how it ended. */
export const headline = (record: EvidenceRecord): string => {
  const when = formatTime(record.execution.startedAt);
  const from = keyLabel(record.keys.old);
  const to = keyLabel(record.keys.new);
  const status = resultLabel(record).toLowerCase();
  const verb = record.execution.status === 'SUCCEEDED' ? 'rotated' : 'tried to rotate';
  const who = whoLabel(record);
  return (
    `${who.replace(/^an unknown/, 'An unknown')} ${verb} the key of ${targetLabel(record)} from ${from} to ${to} on ${when}: ` +
    `${status}. Old key: ${oldKeyOutcomeLabel(record)}.`
  );
};

export interface SummaryRow {
  label: string;
  value: string;
  /** Shown in a monospace font (ARNs, identifiers). */
  code?: boolean;
  href?: string;
}

export const summaryRows = (record: EvidenceRecord): SummaryRow[] => {
  const { execution, startedBy, target, strategy } = record;
  const rows: SummaryRow[] = [
    { label: 'Result', value: resultLabel(record) },
    { label: 'Started by', value: startedByText(record) },
    {
      label: 'Requested by',
      value: startedBy.requestedBy
        ? `${startedBy.requestedBy} (as stated in the input, not authenticated)`
        : 'not stated',
    },
    {
      label: 'Target',
      value: target
        ? `${targetLabel(record)} in ${target.region}, account ${target.accountId}`
        : 'unknown (the execution ended before the target was resolved)',
    },
    {
      label: 'When',
      value: `${formatTime(execution.startedAt)} to ${formatTime(execution.finishedAt)} (${formatDuration(executionDurationMs(record))})`,
    },
    { label: 'Reason', value: record.reason ?? 'not stated' },
    { label: 'Approval', value: approvalText(record) },
    {
      label: 'Strategy',
      value: strategy
        ? `${strategy.used} (requested: ${strategy.requested}; ${strategy.reason})`
        : 'not chosen (the execution ended first)',
    },
    ...reencryptionRows(record),
    { label: 'Old key', value: `${keyLabel(record.keys.old)}: ${oldKeyOutcomeLabel(record)}`, code: false },
    { label: 'New key', value: keyLabel(record.keys.new) },
  ];
  const error = errorText(record);
  if (error) rows.push({ label: 'Error', value: error });
  rows.push(
    { label: 'Execution', value: execution.arn, code: true },
    {
      label: 'Console',
      value: execution.consoleUrl
        ? 'Step Functions console (the execution is kept 90 days after it ends)'
        : 'no console link in the record',
      ...(execution.consoleUrl && isHttpsUrl(execution.consoleUrl) ? { href: execution.consoleUrl } : {}),
    },
    { label: 'Rotation id', value: record.rotationId, code: true },
    { label: 'Record written', value: formatTime(record.generatedAt) },
  );
  return rows;
};

/**
 * How the data reached the new key (snapshot path only): a copy under the new key, or, for an
 * Aurora cluster, the restore itself with no copy. Records written before `reencryption` existed
 * get no row: their resources list the snapshots.
 */
const reencryptionRows = (record: EvidenceRecord): SummaryRow[] => {
  const r = record.reencryption;
  if (!r) return [];
  const value =
    r.method === 'restore'
      ? `restored directly from the source snapshot ${r.restoredFrom} under the new key; no re-encrypting copy`
      : `copied ${r.copySnapshotIdentifier ? `to ${r.copySnapshotIdentifier} ` : ''}under the new key, then restored from the copy`;
  return [{ label: 'Re-encryption', value }];
};

/** `Error: cause`, without repeating the error name when the cause already starts with it. */
export const errorText = (record: EvidenceRecord): string => {
  const { error, cause } = record.execution;
  if (error && cause?.startsWith(error)) return cause;
  return [error, cause].filter(Boolean).join(': ');
};

/** Only an https URL to the AWS console becomes a link; anything else is shown as text. */
export const isHttpsUrl = (value: string): boolean => {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && /(^|\.)console\.aws\.amazon\.com$/.test(url.hostname);
  } catch {
    return false;
  }
};

export interface BeforeAfterRow {
  label: string;
  before: string;
  after: string;
  note: string;
}

const databaseKinds = (record: EvidenceRecord): ResourceEvidence['kind'][] =>
  record.target?.kind === 'cluster' ? ['db-cluster'] : ['db-instance'];

export const beforeAfterRows = (record: EvidenceRecord): BeforeAfterRow[] => {
  const rows: BeforeAfterRow[] = [];
  const v = record.validation;
  const served = clientsOnNewKey(record);
  rows.push({
    label: 'KMS key',
    before: keyLabel(record.keys.old),
    after: served ? keyLabel(record.keys.new) : keyLabel(record.keys.old),
    note: [
      v
        ? v.passed && v.actualKeyArn === v.expectedKeyArn
          ? `the new database reported ${v.actualKeyArn ?? 'no key'} at ${formatTime(v.checkedAt)}`
          : `validation FAILED: expected ${v.expectedKeyArn ?? '—'}, found ${(v.foundKeyArns?.length ? v.foundKeyArns.join(', ') : v.actualKeyArn) ?? 'no key named in the failure'}`
        : 'not validated',
      served ? null : `clients still use the database under the old key (${notServedWhy(record)})`,
    ]
      .filter(Boolean)
      .join('; '),
  });
  const kinds = databaseKinds(record);
  const created = record.resources.find((r) => kinds.includes(r.kind) && r.action === 'created');
  rows.push({
    label: 'Database',
    before: record.target?.identifier ?? '—',
    after: created?.identifier ?? '—',
    note: created?.detail ?? (created ? '' : 'no new database was created'),
  });
  if (record.cutover) {
    const c = record.cutover;
    rows.push({
      label: `Client endpoint (${c.type})`,
      before: c.before ?? '—',
      after: c.after ?? '—',
      note: `${c.verified ? 'verified' : 'not verified'}${c.detail ? `: ${c.detail}` : ''}`,
    });
  }
  if (record.validation) {
    if (record.validation.differences.length === 0) {
      rows.push({
        label: 'Configuration',
        before: 'source',
        after: 'same',
        note: record.validation.passed ? 'no differences found' : 'validation did not pass',
      });
    }
    for (const d of record.validation.differences) {
      rows.push({
        label: `Configuration: ${d.field}`,
        before: showValue(d.source),
        after: showValue(d.target),
        note: 'differs',
      });
    }
  }
  return rows;
};

/**
 * True only when the record shows clients on a database validated under the new key: a passed
 * validation with the new key, then a cutover (or switchover) that was verified and not undone.
 */
export const clientsOnNewKey = (record: EvidenceRecord): boolean => {
  const v = record.validation;
  const c = record.cutover;
  if (!v?.passed || !v.actualKeyArn || v.actualKeyArn !== v.expectedKeyArn) return false;
  if (!c || c.type === 'none' || !c.verified) return false;
  const undone = (record.rollback?.facts ?? []).some(
    (f) => f.kind === 'record-pointed-back' || (f.kind === 'renamed-back' && f.which === 'new'),
  );
  return !undone;
};

const notServedWhy = (record: EvidenceRecord): string => {
  const v = record.validation;
  if (v && !v.passed) return 'the new database failed validation';
  if (record.cutover?.type === 'none') return 'cutover "none": the new database stands beside the source';
  if (record.execution.status !== 'SUCCEEDED')
    return 'the rotation ended before clients were moved, or the rollback moved them back';
  return 'the record shows no verified cutover';
};

export const showValue = (value: unknown): string => {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
};

export interface KeyEvent {
  at: string | null;
  text: string;
}

/** The key's life in order: created, aliased, used, scheduled for deletion, deleted by KMS. */
export const keyEvents = (record: EvidenceRecord): KeyEvent[] => {
  const events: KeyEvent[] = [];
  const { old: oldKey, new: newKey } = record.keys;
  if (oldKey?.creationDate) events.push({ at: oldKey.creationDate, text: `old key ${oldKey.arn} created` });
  if (newKey?.creationDate) events.push({ at: newKey.creationDate, text: `new key ${newKey.arn} created` });
  for (const r of record.resources) {
    if (r.kind !== 'kms-key' && r.kind !== 'kms-alias') continue;
    if (r.kind === 'kms-key' && r.action === 'created' && newKey && r.arn === newKey.arn) continue;
    const what = r.kind === 'kms-alias' ? `alias ${r.identifier}` : `key ${r.arn ?? r.identifier}`;
    events.push({
      at: r.at,
      text: `${what} ${r.action.replaceAll('-', ' ')}${r.detail ? ` (${r.detail})` : ''}`,
    });
  }
  if (record.validation?.checkedAt && record.validation.actualKeyArn) {
    events.push({
      at: record.validation.checkedAt,
      text: `new database checked: encrypted under ${record.validation.actualKeyArn}${record.validation.passed ? '' : ' (validation failed)'}`,
    });
  }
  if (record.oldKeyOutcome.state === 'PendingDeletion' && record.oldKeyOutcome.deletionDate) {
    events.push({
      at: record.oldKeyOutcome.deletionDate,
      text: `KMS deletes the old key ${oldKey?.arn ?? ''} (end of the pending window)`.replace('  ', ' '),
    });
  }
  return events
    .map((e, index) => ({ e, index, t: parseTime(e.at) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.t - b.t || a.index - b.index)
    .map(({ e }) => e);
};

/** The command a reviewer runs to see for themselves that the old key is gone (or going). */
export const verifyKeyCommand = (record: EvidenceRecord): string | null => {
  const arn = record.keys.old?.arn;
  if (!arn) return null;
  const region = record.target?.region ?? arn.split(':')[3];
  return `aws kms describe-key --key-id ${arn}${region ? ` --region ${region}` : ''}`;
};

export const verifyKeyExplanation = (record: EvidenceRecord): string => {
  const { state, deletionDate } = record.oldKeyOutcome;
  if (state === 'PendingDeletion') {
    return (
      `Before ${formatTime(deletionDate)} it answers KeyState "PendingDeletion" and the DeletionDate above ` +
      '(the deletion can still be cancelled with aws kms cancel-key-deletion). After that date it answers ' +
      'NotFoundException: the key material is gone and nothing encrypted under it can be decrypted.'
    );
  }
  if (state === 'Retained') {
    return 'The old key was kept on purpose (see the reason above): it answers KeyState "Enabled" until someone schedules its deletion.';
  }
  return 'The old key was not touched by this rotation: it still answers KeyState "Enabled".';
};

export const sortedResources = (record: EvidenceRecord): ResourceEvidence[] =>
  record.resources
    .map((r, index) => ({ r, index, t: parseTime(r.at) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.t - b.t || a.index - b.index)
    .map(({ r }) => r);

export const cloudTrailStatement = (record: EvidenceRecord): string => {
  const ct = record.cloudTrail;
  if (!ct.available) {
    return (
      `CloudTrail was unavailable when this record was written${ct.reason ? ` (${ct.reason})` : ''}: ` +
      'the API calls below are not listed, and who started the execution could not be confirmed. ' +
      `CloudTrail keeps management events 90 days; look them up for: ${ct.lookedUp.join(', ') || 'the resources above'}.`
    );
  }
  if (ct.events.length === 0) return `CloudTrail answered, with no events for: ${ct.lookedUp.join(', ')}.`;
  return `${ct.events.length} CloudTrail events for: ${ct.lookedUp.join(', ')}.`;
};

export const historyStatement = (record: EvidenceRecord): string => {
  const h = record.history;
  const source =
    h.source === 'states:GetExecutionHistory'
      ? 'Step Functions GetExecutionHistory'
      : h.source === 'local-runner'
        ? 'the local runner (not AWS Step Functions)'
        : 'unavailable';
  if (h.source === 'unavailable')
    return 'The execution history was unavailable when this record was written.';
  return `${h.events.length} events from ${source}${h.truncated ? '; TRUNCATED: the full history was longer' : ''}.`;
};
