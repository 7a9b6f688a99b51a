import { makeHandler } from '#runtime/handler.js';
import { cutover } from '#strategies/snapshot/cutover.js';

export const handler = makeHandler(cutover);
