import { makeHandler } from '#runtime/handler.js';
import { restoreDatabase } from '#strategies/snapshot/restore-database.js';

export const handler = makeHandler(restoreDatabase);
