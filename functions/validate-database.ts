import { makeHandler } from '#runtime/handler.js';
import { validateInstance } from '#strategies/snapshot/validate-database.js';

export const handler = makeHandler(validateInstance);
