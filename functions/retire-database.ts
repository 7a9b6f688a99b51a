import { makeHandler } from '#runtime/handler.js';
import { retireDatabase } from '#strategies/snapshot/retire-database.js';

export const handler = makeHandler(retireDatabase);
