import { makeHandler } from '#runtime/handler.js';
import { rollback } from '#strategies/rollback.js';

export const handler = makeHandler(rollback);
