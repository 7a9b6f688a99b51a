import { makeHandler } from '#runtime/handler.js';
import { preflight } from '#targets/instance/preflight.js';

export const handler = makeHandler(preflight);
