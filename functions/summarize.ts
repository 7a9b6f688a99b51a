import { makeHandler } from '#runtime/handler.js';
import { summarize } from '#strategies/summarize.js';

export const handler = makeHandler(summarize);
