import { makeHandler } from '#runtime/handler.js';
import { retireInstance } from '#strategies/snapshot/retire-database.js';

export const handler = makeHandler(retireInstance);
