import { makeHandler } from '#runtime/handler.js';
import { createGreen } from '#strategies/blue-green/create-green.js';

export const handler = makeHandler(createGreen);
