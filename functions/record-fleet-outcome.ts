import { recordFleetOutcome } from '#features/fleet/outcome.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(recordFleetOutcome, { correlationIdPath: 'fleetId' });
