import { makeHandler } from '#runtime/handler.js';
import { rollback } from '#strategies/snapshot/rollback.js';

export const handler = makeHandler(rollback);
