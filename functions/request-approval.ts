import { requestApproval } from '#features/approval/request-approval.js';
import { makeHandler } from '#runtime/handler.js';

export const handler = makeHandler(requestApproval);
