import { makeHandler } from '#runtime/handler.js';
import { preflight } from '#targets/preflight.js';

export const handler = makeHandler(preflight);
