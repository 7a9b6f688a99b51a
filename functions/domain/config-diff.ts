/**
 * Configuration parity: which fields of two captured configurations differ, and how a person
 * reads that. Shared by DB instances and Aurora clusters and their members.
 */
export interface Difference<F extends string = string> {
  field: F;
  expected: unknown;
  actual: unknown;
}

/** A stable text form: object keys sorted at every level, so tag order never makes a difference. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );

/** Every field of `expected` where `actual` differs. */
export const diffFields = <C extends object>(
  expected: C,
  actual: C,
): Difference<Extract<keyof C, string>>[] =>
  (Object.keys(expected) as Extract<keyof C, string>[])
    .filter((field) => canonical(expected[field]) !== canonical(actual[field]))
    .map((field) => ({ field, expected: expected[field], actual: actual[field] }));

/** A diff as a person reads it: one line per field. */
export const formatDifferences = (differences: Difference[], prefix = ''): string =>
  differences
    .map(
      (d) => `${prefix}${d.field}: expected ${JSON.stringify(d.expected)}, found ${JSON.stringify(d.actual)}`,
    )
    .join('; ');
