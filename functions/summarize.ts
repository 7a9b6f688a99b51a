import { makeHandler } from '#runtime/handler.js';
import { summarize } from '#strategies/snapshot/summarize.js';

export const handler = makeHandler(summarize);
