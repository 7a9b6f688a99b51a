import { createHash } from 'node:crypto';

/**
 * Names a fleet derives from its id and the database: the child execution's name and the
 * rotation's idempotency key. Deterministic, so a repeated fleet start finds the same children
 * (docs/fleet.md#names); unique, because a name that must be cut keeps a hash of the whole.
 */

/** Step Functions execution names: 1-80 of [A-Za-z0-9-_]. */
export const EXECUTION_NAME_MAX = 80;
/** The rotation input's idempotencyKey: 1-128 printable characters without spaces. */
export const IDEMPOTENCY_KEY_MAX = 128;

const shortHash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

const fitName = (whole: string, max: number, seed: string): string =>
  whole.length <= max ? whole : `${whole.slice(0, max - 9)}-${shortHash(seed)}`;

/** The child execution name for `db` in fleet `fleetId`: `<fleetId>-<db>`, cut with a hash past 80 characters. */
export const executionNameFor = (fleetId: string, db: string): string => {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '-');
  return fitName(`${clean(fleetId)}-${clean(db)}`, EXECUTION_NAME_MAX, `${fleetId}\n${db}`);
};

/** The child rotation's idempotencyKey: `<fleetId>/<db>`, cut with a hash past 128 characters. */
export const idempotencyKeyFor = (fleetId: string, db: string): string => {
  const clean = (text: string) => text.replace(/[^\x21-\x7e]/g, '-');
  return fitName(`${clean(fleetId)}/${clean(db)}`, IDEMPOTENCY_KEY_MAX, `${fleetId}\n${db}`);
};
