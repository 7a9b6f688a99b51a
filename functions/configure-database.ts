import { makeHandler } from '#runtime/handler.js';
import { configureDatabase } from '#strategies/snapshot/configure-database.js';

export const handler = makeHandler(configureDatabase);
