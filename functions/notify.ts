import { notify } from '#features/notifications/notify.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(notify);
