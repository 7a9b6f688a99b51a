import type { ValidationResult } from '#domain/results.js';
import { stepFor } from '#targets/ops.js';
import { VALIDATE_DATABASE } from '#targets/registry.js';

/** The gate before clients are switched: the new database is available, under the new key, configured like the source (targets/<kind>/validate.ts). */
// 'ValidateInstance': the state name in the ASL, which the CLI and the evidence read.
export const validateDatabase = stepFor<ValidationResult>('ValidateInstance', VALIDATE_DATABASE);
