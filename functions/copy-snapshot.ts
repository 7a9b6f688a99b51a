import { makeHandler } from '#runtime/handler.js';
import { copySnapshot } from '#strategies/snapshot/copy-snapshot.js';

export const handler = makeHandler(copySnapshot);
