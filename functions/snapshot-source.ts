import { makeHandler } from '#runtime/handler.js';
import { snapshotSource } from '#strategies/snapshot/snapshot-source.js';

export const handler = makeHandler(snapshotSource);
