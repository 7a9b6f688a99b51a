import { acquireLock } from '#features/lock/acquire-lock.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(acquireLock);
