import { releaseLock } from '#features/lock/release-lock.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(releaseLock);
