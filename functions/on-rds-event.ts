import { onRdsEvent } from '#features/waits/on-event.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(onRdsEvent, { correlationIdPath: 'detail.SourceIdentifier' });
