import { makeHandler } from '#runtime/handler.js';
import { startSource } from '#strategies/snapshot/start-source.js';

export const handler = makeHandler(startSource);
