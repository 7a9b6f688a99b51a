import { awaitRdsEvent } from '#features/waits/await-event.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(awaitRdsEvent, { correlationIdPath: 'poll.awaits.sourceIdentifier' });
