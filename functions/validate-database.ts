import { makeHandler } from '#runtime/handler.js';
import { validateDatabase } from '#strategies/snapshot/validate-database.js';

export const handler = makeHandler(validateDatabase);
