import { startFleetDatabase } from '#features/fleet/start-step.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(startFleetDatabase, { correlationIdPath: 'fleetId' });
