import { createKey } from '#features/keys/create-key.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(createKey);
