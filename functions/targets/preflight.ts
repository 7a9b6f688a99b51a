import { InvalidInputError, PreconditionFailedError } from '#domain/errors.js';
import { parseRotationInput, type RotationTarget, rotationTarget } from '#domain/input.js';
import type { RotationPlan } from '#domain/plan.js';
import type { DescribedOf, PreflightInput, TargetKind } from './ops.js';
import { PREFLIGHT, preflightOf } from './registry.js';

/**
 * The Preflight step, for every kind of database: everything Rekey checks before it changes
 * anything. It asks RDS what the identifier names, decides the kind from that answer (not from
 * which input field was used), then runs that kind's checks and plan. Read-only: a refusal leaves
 * AWS exactly as it was.
 */
export const preflight = async (event: PreflightInput): Promise<RotationPlan> => {
  const request = parseRotationInput(event.input);
  if (typeof event.executionId !== 'string' || event.executionId.length === 0) {
    throw new InvalidInputError('executionId is missing: Preflight must be called by the state machine.');
  }
  const target = rotationTarget(request);
  const { kind, described } = await identify(target);
  return preflightOf(kind).plan({ request, target, event, described });
};

const KINDS = Object.keys(PREFLIGHT) as TargetKind[];

/**
 * The kind RDS reports for the identifier. The field's own kind is asked first; the others only
 * when it has nothing of that name, to tell a caller who used the wrong field what to write.
 */
const identify = async (
  target: RotationTarget,
): Promise<{ kind: TargetKind; described: DescribedOf<TargetKind> }> => {
  const asked = preflightOf(target.kind);
  const id = target.identifier;
  const described = await asked.describe(id);
  if (described) {
    const owner = asked.partOf(described);
    if (owner) {
      throw new PreconditionFailedError(
        `${asked.field}: ${id} ${owner.why} Nothing was changed; give "${preflightOf(owner.kind).field}": ` +
          `"${owner.identifier}" instead of "${asked.field}".`,
      );
    }
    return { kind: target.kind, described };
  }
  for (const kind of KINDS.filter((k) => k !== target.kind)) {
    const other = preflightOf(kind);
    if (await other.describe(id)) {
      throw new PreconditionFailedError(
        `${asked.field}: "${id}" is ${other.what}, not ${asked.what}. Nothing was changed; give ` +
          `"${other.field}": "${id}" instead of "${asked.field}".`,
      );
    }
  }
  throw new PreconditionFailedError(asked.notFound(id));
};
