import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { DB_IDENTIFIER_MAX, DB_IDENTIFIER_PATTERN } from './naming.js';

/**
 * The execution input: what a schedule, the console or `rekey run` passes to the state machine.
 * Strict: an unknown field is refused, so a typo ("oldInstnace") never silently falls back to a
 * default. Every refusal names the field, what is expected and what was given.
 */

const dbIdentifier = z
  .string({
    error: 'must be a string: the identifier of the DB instance whose key to rotate, e.g. "orders-db"',
  })
  .max(DB_IDENTIFIER_MAX, `must be at most ${DB_IDENTIFIER_MAX} characters`)
  .regex(
    DB_IDENTIFIER_PATTERN,
    'must be an RDS DB instance identifier: letters, digits and single hyphens, starting with a letter',
  );

const cnameCutover = z.strictObject({
  type: z.literal('cname'),
  hostedZoneId: z
    .string()
    .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone id such as Z0123456789ABC')
    .transform((id) => id.replace(/^\/hostedzone\//, ''))
    .optional(),
  recordName: z
    .string({
      error: 'is required with type "cname": the DNS name clients use, e.g. orders.db.example.internal',
    })
    .min(1)
    .max(255, 'must be at most 255 characters')
    .regex(/^[a-zA-Z0-9_*.-]+$/, 'must be a DNS name such as orders.db.example.internal')
    .transform((name) => name.toLowerCase().replace(/\.$/, '')),
  ttl: z
    .number({ error: 'must be a whole number of seconds, e.g. 60' })
    .int('must be a whole number of seconds')
    .min(0, 'must be 0 or more seconds')
    .max(172800, 'must be at most 172800 seconds (2 days)')
    .default(60),
});

const noCutover = z.strictObject({ type: z.literal('none') });

const RotationInputObject = z.strictObject(
  {
    dbInstanceIdentifier: dbIdentifier.optional(),
    dbClusterIdentifier: z
      .string({ error: 'must be a string (and this version rotates DB instances only)' })
      .optional(),
    cutover: z.discriminatedUnion('type', [cnameCutover, noCutover], {
      error: (issue) =>
        issue.code === 'invalid_union' && issue.input && typeof issue.input === 'object'
          ? 'must be "cname" or "none"'
          : issue.input === undefined
            ? 'is required: {"type":"cname", "recordName", "hostedZoneId"?} or {"type":"none"}'
            : 'must be an object: {"type":"cname", "recordName", "hostedZoneId"?} or {"type":"none"}',
    }),
    writeFreeze: z.enum(['stop', 'none'], { error: 'must be "stop" or "none"' }).default('stop'),
    oldInstance: z.enum(['delete', 'retain'], { error: 'must be "delete" or "retain"' }).default('delete'),
    oldKey: z
      .enum(['schedule-deletion', 'retain'], { error: 'must be "schedule-deletion" or "retain"' })
      .default('schedule-deletion'),
    oldKeyPendingWindowDays: z
      .number({ error: 'must be a whole number of days from 7 to 30' })
      .int('must be a whole number of days from 7 to 30')
      .min(7, 'must be 7 to 30 days (the KMS waiting period)')
      .max(30, 'must be 7 to 30 days (the KMS waiting period)')
      .default(30),
    reason: z
      .string({ error: 'is required: say why this rotation runs (it is kept as evidence)' })
      .trim()
      .min(1, 'must not be empty: say why this rotation runs')
      .max(1024, 'must be at most 1024 characters'),
    requestedBy: z
      .string({ error: 'must be a string: who asked for this rotation, e.g. "oncall-dba"' })
      .trim()
      .min(1, 'must not be empty: say who asked for this rotation, or leave the field out')
      .max(256, 'must be at most 256 characters')
      .optional(),
    keepArtifactsOnFailure: z.boolean({ error: 'must be true or false' }).default(false),
    idempotencyKey: z
      .string()
      .min(1)
      .max(128, 'must be at most 128 characters')
      .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces, e.g. a scheduled time')
      .optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

/**
 * Exactly one target. This version rotates DB instances; an Aurora cluster is refused by name.
 * It runs even when other fields are wrong (`when`), so every problem is reported at once.
 */
export const RotationInputSchema = RotationInputObject.superRefine(
  (value, ctx) => {
    const cluster = typeof value.dbClusterIdentifier === 'string' ? value.dbClusterIdentifier : undefined;
    if (value.dbInstanceIdentifier && cluster) {
      ctx.addIssue({
        code: 'custom',
        path: ['dbClusterIdentifier'],
        message: 'give either dbInstanceIdentifier or dbClusterIdentifier, not both',
      });
    } else if (cluster) {
      ctx.addIssue({
        code: 'custom',
        path: ['dbClusterIdentifier'],
        message:
          'Aurora clusters are not supported by this version of Rekey, which rotates DB instances: give dbInstanceIdentifier',
      });
    } else if (!value.dbInstanceIdentifier && value.dbClusterIdentifier === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['dbInstanceIdentifier'],
        message: 'is required: the identifier of the DB instance whose key to rotate, e.g. "orders-db"',
      });
    }
  },
  {
    when: (payload) =>
      typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
  },
);

export type RotationInput = Omit<
  z.output<typeof RotationInputSchema>,
  'dbInstanceIdentifier' | 'dbClusterIdentifier'
> & {
  dbInstanceIdentifier: string;
};

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
  if (result.success) {
    // The refinement guarantees an instance identifier and no cluster identifier.
    const { dbClusterIdentifier: _cluster, ...input } = result.data;
    return input as RotationInput;
  }
  const problems = formatInputIssues(result.error, raw);
  throw new InvalidInputError(
    `The rotation input is invalid. Fix it and start again: ${problems.join('; ')}.`,
  );
};
