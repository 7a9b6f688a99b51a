import { makeHandler } from '#runtime/handler.js';
import { stopSource } from '#strategies/snapshot/stop-source.js';

export const handler = makeHandler(stopSource);
