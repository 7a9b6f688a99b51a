import { checkStart } from '#features/lock/check-start.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(checkStart);
