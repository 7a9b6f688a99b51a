import { makeHandler } from '#runtime/handler.js';
import { restoreInstance } from '#strategies/snapshot/restore-database.js';

export const handler = makeHandler(restoreInstance);
