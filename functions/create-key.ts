import { type CreateKeyInput, createKey } from '#features/keys/create-key.js';
import { makeHandler } from '#runtime/handler.js';

// The state machine passes the execution state with `$$.State.RetryCount` (create-key.ts says why).
export const handler = makeHandler(
  ({ state, retryCount }: CreateKeyInput, context) => createKey(state, { retryCount, ...context }),
  { correlationIdPath: 'state.plan.rotationId' },
);
