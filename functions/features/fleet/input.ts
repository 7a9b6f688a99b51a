import { z } from 'zod';
import { InvalidInputError } from '#domain/errors.js';
import { formatInputIssues, RotationInputSchema } from '#domain/input.js';
import { APPROVAL_MINUTES } from '#domain/limits.js';

/**
 * The fleet input (docs/fleet.md): which databases to select, how to pace them, and the
 * rotation-input defaults every selected database starts from. Strict like the single rotation
 * input (functions/domain/input.ts): an unknown field is refused, every refusal names the field.
 */

/** The most child rotations a fleet runs at once, whatever the input asks (docs/fleet.md#pacing). */
export const FLEET_MAX_CONCURRENCY = 5;
/** The most the input may ask; the plan caps it at FLEET_MAX_CONCURRENCY with a note. */
export const FLEET_INPUT_MAX_CONCURRENCY = 100;
export const FLEET_DEFAULT_CONCURRENCY = 2;

const tagMap = z.record(
  z.string().min(1, 'tag keys must not be empty').max(128, 'tag keys are at most 128 characters'),
  z.string({ error: 'each tag value must be text, e.g. {"rekey:rotate": "annual"}' }).max(256),
  { error: 'must be an object of tag key to value, e.g. {"rekey:rotate": "annual"}' },
);

const SelectSchema = z
  .strictObject(
    {
      tags: tagMap.optional(),
      identifiers: z
        .array(
          z.string({ error: 'each identifier must be text' }).min(1, 'an identifier must not be empty'),
          {
            error:
              'must be a list of DB instance or Aurora cluster identifiers, e.g. ["orders-db", "ledger"]',
          },
        )
        .min(1, 'must list at least one identifier, or leave the field out')
        .optional(),
      oldKeyArn: z
        .string({ error: 'must be text: the ARN of the KMS key the databases are encrypted under' })
        .regex(
          /^arn:[a-z-]+:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
          'must be a KMS key ARN, e.g. arn:aws:kms:eu-west-1:123456789012:key/1234abcd-...',
        )
        .optional(),
      keyOlderThanDays: z
        .number({ error: 'must be a whole number of days, e.g. 365 (0 selects every key)' })
        .int('must be a whole number of days')
        .min(0, 'must be 0 or more days')
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'invalid_type' ? 'must be an object: {"tags": {"rekey:rotate": "annual"}}' : undefined,
    },
  )
  .refine(
    (select) => Object.values(select).some((value) => value !== undefined),
    'must hold at least one condition (tags, identifiers, oldKeyArn or keyOlderThanDays); to select every database, say so with {"keyOlderThanDays": 0}',
  );

/** Every rotation-input field except the target, which each selected database supplies. */
const {
  dbInstanceIdentifier: _instance,
  dbClusterIdentifier: _cluster,
  reason: _reason,
  requestedBy: _requestedBy,
  idempotencyKey,
  approval: _approval,
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: _startedBy,
  cutover,
  ...defaultFields
} = RotationInputSchema.shape;
const DefaultsSchema = z.strictObject(
  { ...defaultFields, cutover: cutover.optional() },
  {
    error: (issue) =>
      issue.code === 'invalid_type'
        ? 'must be an object of rotation-input fields, e.g. {"strategy": "auto"}'
        : undefined,
  },
);

export const FleetInputSchema = z.strictObject(
  {
    fleet: z.strictObject(
      {
        select: SelectSchema,
        maxConcurrency: z
          .number({ error: `must be a whole number from 1 to ${FLEET_INPUT_MAX_CONCURRENCY}` })
          .int(`must be a whole number from 1 to ${FLEET_INPUT_MAX_CONCURRENCY}`)
          .min(1, 'must be at least 1')
          .max(
            FLEET_INPUT_MAX_CONCURRENCY,
            `must be at most ${FLEET_INPUT_MAX_CONCURRENCY} (the plan runs at most ${FLEET_MAX_CONCURRENCY} at once: docs/fleet.md#pacing)`,
          )
          .default(FLEET_DEFAULT_CONCURRENCY),
        maxFailures: z
          .number({ error: 'must be a whole number, 0 or more' })
          .int('must be a whole number')
          .min(0, 'must be 0 or more')
          .default(1),
        onIneligible: z.enum(['fail', 'skip'], { error: 'must be "fail" or "skip"' }).default('fail'),
        approval: z
          .enum(['fleet', 'per-database', 'none'], { error: 'must be "fleet", "per-database" or "none"' })
          .default('none'),
        planOnly: z
          .boolean({ error: 'must be true or false: true plans the fleet and stops there, changing nothing' })
          .default(false),
        approvalTimeoutMinutes: z
          .number({
            error: `must be a whole number of minutes from ${APPROVAL_MINUTES.min} to ${APPROVAL_MINUTES.max}`,
          })
          .int('must be a whole number of minutes')
          .min(APPROVAL_MINUTES.min, `must be at least ${APPROVAL_MINUTES.min} minutes`)
          .max(APPROVAL_MINUTES.max, `must be at most ${APPROVAL_MINUTES.max} minutes`)
          .optional(),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type'
            ? 'must be an object: {"select": {...}, "maxConcurrency": 2}'
            : undefined,
      },
    ),
    defaults: DefaultsSchema.optional().transform((value) => value ?? DefaultsSchema.parse({})),
    reason: z
      .string({
        error: (issue) =>
          issue.input === undefined
            ? 'is required: say why this fleet rotation runs (it is kept as evidence)'
            : 'must be text',
      })
      .trim()
      .min(1, 'must not be empty: say why this fleet rotation runs')
      .max(1024, 'must be at most 1024 characters'),
    requestedBy: z
      .string({ error: 'must be text: who asked for this rotation, e.g. "platform-team"' })
      .trim()
      .min(1, 'must not be empty, or leave the field out')
      .max(256, 'must be at most 256 characters')
      .optional(),
    /**
     * Identifies this start (a schedule sends its scheduled time): the child rotations' keys derive
     * from it instead of the execution name, so a start delivered twice rotates each database once.
     */
    idempotencyKey,
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) },
);

export type FleetInput = z.output<typeof FleetInputSchema>;

/** A fleet input has a top-level "fleet" key; anything else is a single rotation input. */
export const isFleetInput = (raw: unknown): boolean =>
  typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'fleet' in raw;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The schedule's start (template.yaml RotationSchedule) wraps its input as
 * `{"rotation": <ScheduleInput>, "scheduleDefaults": {"approval": {"required": <ScheduleRequiresApproval>}}}`.
 * For a fleet input the default means one approval for the fleet (`fleet.approval: "fleet"`), unless
 * the input chooses its own `fleet.approval`. Anything else is returned as it is.
 */
export const unwrapScheduled = (raw: unknown): unknown => {
  if (!isObject(raw) || !('scheduleDefaults' in raw) || !('rotation' in raw)) return raw;
  const { rotation, scheduleDefaults } = raw;
  if (!isObject(rotation) || !isObject(rotation.fleet)) return rotation;
  const approval = isObject(scheduleDefaults) ? scheduleDefaults.approval : undefined;
  const required = isObject(approval) && approval.required === true;
  if (!required || rotation.fleet.approval !== undefined) return rotation;
  return { ...rotation, fleet: { ...rotation.fleet, approval: 'fleet' } };
};

/**
 * Parses the fleet input (or a schedule's wrapped one, see unwrapScheduled) or throws
 * `InvalidInputError` listing every problem at once.
 */
export const parseFleetInput = (given: unknown): FleetInput => {
  const raw = unwrapScheduled(given);
  const result = FleetInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = formatInputIssues(result.error, raw);
  throw new InvalidInputError(`The fleet input is invalid. Fix it and start again: ${problems.join('; ')}.`);
};
