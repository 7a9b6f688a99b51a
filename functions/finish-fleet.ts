import { finishFleet } from '#features/fleet/finish.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(finishFleet, { correlationIdPath: 'fleetId' });
