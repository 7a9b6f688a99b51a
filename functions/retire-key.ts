import { retireKey } from '#features/keys/retire-key.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(retireKey);
