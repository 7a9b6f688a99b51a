import { makeHandler } from '#runtime/handler.js';
import { switchover } from '#strategies/blue-green/switchover.js';

export const handler = makeHandler(switchover);
