import { requestFleetApproval } from '#features/fleet/request-approval.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(requestFleetApproval, { correlationIdPath: 'state.fleetId' });
