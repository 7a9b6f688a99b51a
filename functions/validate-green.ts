import { makeHandler } from '#runtime/handler.js';
import { validateGreen } from '#strategies/blue-green/validate-green.js';

export const handler = makeHandler(validateGreen);
