import { makeHandler } from '#runtime/handler.js';
import { retireBlue } from '#strategies/blue-green/retire-blue.js';

export const handler = makeHandler(retireBlue);
