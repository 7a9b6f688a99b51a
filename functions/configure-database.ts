import { makeHandler } from '#runtime/handler.js';
import { configureInstance } from '#strategies/snapshot/configure-database.js';

export const handler = makeHandler(configureInstance);
