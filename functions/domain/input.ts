import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import type { TargetKind } from './kinds.js';
import { APPROVAL_MINUTES, KEY_PENDING_WINDOW_DAYS } from './limits.js';
import { DB_IDENTIFIER_MAX, DB_IDENTIFIER_PATTERN } from './naming.js';

const WINDOW = KEY_PENDING_WINDOW_DAYS;
const DAY_MINUTES = 24 * 60;

/**
 * The execution input: what a schedule, the console or `rekey run` passes to the state machine.
 * Strict: an unknown field is refused, so a typo ("oldInstnace") never silently falls back to a
 * default. Every refusal names the field, what is expected and what was given.
 */

const identifier = (what: string, example: string) =>
  z
    .string({
      error: `must be a string: the identifier of the ${what} whose key to rotate, e.g. "${example}"`,
    })
    .max(DB_IDENTIFIER_MAX, `must be at most ${DB_IDENTIFIER_MAX} characters`)
    .regex(
      DB_IDENTIFIER_PATTERN,
      `must be an RDS ${what} identifier: letters, digits and single hyphens, starting with a letter`,
    );

/**
 * A string field. zod reports a missing field and a wrong type with the same issue, so the
 * message tells them apart: "is required" only when the field is absent, "must be text" when it
 * holds a number, a boolean or an object.
 */
const text = (what: string, required = what) =>
  z.string({
    error: (issue) => (issue.input === undefined ? `is required: ${required}` : `must be text: ${what}`),
  });

const dnsName = (what: string, required = what) =>
  text(what, required)
    .min(1)
    .max(255, 'must be at most 255 characters')
    .regex(/^[a-zA-Z0-9_*.-]+$/, 'must be a DNS name such as orders.db.example.internal')
    .transform((name) => name.toLowerCase().replace(/\.$/, ''));

const cnameCutover = z.strictObject({
  type: z.literal('cname'),
  hostedZoneId: text('a Route 53 hosted zone id such as Z0123456789ABC')
    .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABC')
    .transform((id) => id.replace(/^\/hostedzone\//, ''))
    .optional(),
  recordName: dnsName(
    'the DNS name clients use, e.g. orders.db.example.internal',
    'with type "cname": the DNS name clients use, e.g. orders.db.example.internal',
  ),
  /** Aurora only: a CNAME that points at the cluster's reader endpoint, moved to the new reader endpoint. */
  readerRecordName: dnsName(
    'the DNS name of the CNAME that points at the cluster reader endpoint',
  ).optional(),
  ttl: z
    .number({ error: 'must be a whole number of seconds, e.g. 60' })
    .int('must be a whole number of seconds')
    .min(0, 'must be 0 or more seconds')
    .max(172800, 'must be at most 172800 seconds (2 days)')
    .default(60),
});

/**
 * Where the approval gate stands (domain/approval.ts): before the rotation changes anything (no
 * key created, nothing stopped), or just before the cutover or switchover.
 */
export const APPROVAL_POSITIONS = ['before-changes', 'before-cutover'] as const;
export type ApprovalPosition = (typeof APPROVAL_POSITIONS)[number];

const noCutover = z.strictObject({ type: z.literal('none') });
const renameCutover = z.strictObject({ type: z.literal('rename') });

const CUTOVER_SHAPES =
  '{"type":"cname", "recordName", "hostedZoneId"?}, {"type":"rename"} or {"type":"none"}';

const RotationInputObject = z.strictObject(
  {
    dbInstanceIdentifier: identifier('DB instance', 'orders-db').optional(),
    dbClusterIdentifier: identifier('Aurora DB cluster', 'orders-cluster').optional(),
    strategy: z
      .enum(['snapshot', 'blue-green', 'auto'], { error: 'must be "snapshot", "blue-green" or "auto"' })
      .default('snapshot'),
    cutover: z.discriminatedUnion('type', [cnameCutover, renameCutover, noCutover], {
      error: (issue) =>
        issue.code === 'invalid_union' && issue.input && typeof issue.input === 'object'
          ? 'must be "cname", "rename" or "none"'
          : issue.input === undefined
            ? `is required: ${CUTOVER_SHAPES}`
            : `must be an object: ${CUTOVER_SHAPES}`,
    }),
    writeFreeze: z.enum(['stop', 'none'], { error: 'must be "stop" or "none"' }).default('stop'),
    oldInstance: z.enum(['delete', 'retain'], { error: 'must be "delete" or "retain"' }).default('delete'),
    oldKey: z
      .enum(['schedule-deletion', 'retain'], { error: 'must be "schedule-deletion" or "retain"' })
      .default('schedule-deletion'),
    oldKeyPendingWindowDays: z
      .number({ error: `must be a whole number of days from ${WINDOW.min} to ${WINDOW.max}` })
      .int(`must be a whole number of days from ${WINDOW.min} to ${WINDOW.max}`)
      .min(WINDOW.min, `must be ${WINDOW.min} to ${WINDOW.max} days (the KMS waiting period)`)
      .max(WINDOW.max, `must be ${WINDOW.min} to ${WINDOW.max} days (the KMS waiting period)`)
      .default(WINDOW.default),
    reason: text('say why this rotation runs (it is kept as evidence)')
      .trim()
      .min(1, 'must not be empty: say why this rotation runs')
      .max(1024, 'must be at most 1024 characters'),
    requestedBy: text('who asked for this rotation, e.g. "oncall-dba"')
      .trim()
      .min(1, 'must not be empty: say who asked for this rotation, or leave the field out')
      .max(256, 'must be at most 256 characters')
      .optional(),
    keepArtifactsOnFailure: z.boolean({ error: 'must be true or false' }).default(false),
    approval: z
      .strictObject(
        {
          required: z.boolean({
            error: (issue) =>
              issue.input === undefined
                ? 'is required: true pauses the rotation until a person approves, false does not'
                : 'must be true or false: true pauses the rotation until a person approves',
          }),
          at: z
            .enum(APPROVAL_POSITIONS, {
              error:
                'must be "before-changes" (ask before the rotation changes anything: no key created, the database not stopped) ' +
                'or "before-cutover" (ask after the validation, just before the cutover or switchover); ' +
                'leave it out for "before-changes" when writes are frozen and "before-cutover" otherwise',
            })
            .optional(),
          timeoutMinutes: z
            .number({
              error: `must be a whole number of minutes from ${APPROVAL_MINUTES.min} to ${APPROVAL_MINUTES.max}`,
            })
            .int(`must be a whole number of minutes from ${APPROVAL_MINUTES.min} to ${APPROVAL_MINUTES.max}`)
            .min(APPROVAL_MINUTES.min, `must be at least ${APPROVAL_MINUTES.min} minutes`)
            .max(
              APPROVAL_MINUTES.max,
              `must be at most ${APPROVAL_MINUTES.max} minutes (${APPROVAL_MINUTES.max / DAY_MINUTES} days)`,
            )
            .default(APPROVAL_MINUTES.default),
        },
        {
          error: (issue) =>
            issue.code === 'invalid_type'
              ? `must be an object: {"required": true, "at": "before-changes", "timeoutMinutes": ${APPROVAL_MINUTES.default}}`
              : undefined,
        },
      )
      .optional(),
    idempotencyKey: text('a key that identifies this start, e.g. the scheduled time "2026-03-10T06:00:00Z"')
      .min(1)
      .max(128, 'must be at most 128 characters')
      .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces, e.g. a scheduled time')
      .optional(),
    /**
     * Set by the fleet machine: the execution that started this one (Step Functions reads this
     * name to link a nested execution to its parent in the console). Nothing else uses it.
     */
    AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z
      .string({ error: 'must be the ARN of the execution that started this one (the fleet sets it)' })
      .regex(/^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:execution:\S+$/, 'must be a Step Functions execution ARN')
      .optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

/**
 * Exactly one target, and the combinations that cannot work. It runs even when other fields are
 * wrong (`when`), so every problem is reported at once.
 */
export const RotationInputSchema = RotationInputObject.superRefine(
  (value, ctx) => {
    const raw = value as Record<string, unknown>;
    const instance = raw.dbInstanceIdentifier;
    const cluster = raw.dbClusterIdentifier;
    if (typeof instance === 'string' && typeof cluster === 'string') {
      ctx.addIssue({
        code: 'custom',
        path: ['dbClusterIdentifier'],
        message: 'give either dbInstanceIdentifier or dbClusterIdentifier, not both',
      });
    } else if (instance === undefined && cluster === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dbInstanceIdentifier'],
        message:
          'is required: the DB instance whose key to rotate, e.g. "orders-db" (or dbClusterIdentifier for an Aurora cluster)',
      });
    }
    const cutover = raw.cutover as { type?: unknown; readerRecordName?: unknown } | undefined;
    if (cutover?.type === 'cname' && cutover.readerRecordName !== undefined && cluster === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'readerRecordName'],
        message:
          'applies only to an Aurora cluster (dbClusterIdentifier): a DB instance has no reader endpoint',
      });
    }
    if (raw.strategy === 'blue-green' && cutover?.type === 'rename') {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'type'],
        message:
          'cannot be "rename" with strategy "blue-green": a Blue/Green switchover keeps the endpoints by itself. Use "none" (or "cname" to have the record checked)',
      });
    }
  },
  {
    when: (payload) =>
      typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
  },
);

export type RotationInput = z.output<typeof RotationInputSchema>;

/** What a rotation targets: one DB instance, or one Aurora cluster with its member instances. */
export interface RotationTarget {
  kind: TargetKind;
  identifier: string;
}

/** The target of a parsed input (the schema guarantees exactly one identifier). */
export const rotationTarget = (request: RotationInput): RotationTarget =>
  request.dbClusterIdentifier !== undefined
    ? { kind: 'cluster', identifier: request.dbClusterIdentifier }
    : { kind: 'instance', identifier: request.dbInstanceIdentifier ?? '' };

const describeGiven = (value: unknown): string => {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (node, key) =>
      node && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    root,
  );

/** One line per problem: `field: what is wrong (given: value)`. */
export const formatInputIssues = (error: z.ZodError, raw: unknown): string[] =>
  error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(input)';
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length > 0 ? ` in ${field}` : '';
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${where}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or fix the spelling`;
    }
    const given = valueAt(raw, issue.path);
    return given === undefined
      ? `${field}: ${issue.message}`
      : `${field}: ${issue.message} (given: ${describeGiven(given)})`;
  });

/** Parses the execution input or throws `InvalidInputError` listing every problem at once. */
export const parseRotationInput = (raw: unknown): RotationInput => {
  const result = RotationInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = formatInputIssues(result.error, raw);
  throw new InvalidInputError(
    `The rotation input is invalid. Fix it and start again: ${problems.join('; ')}.`,
  );
};
