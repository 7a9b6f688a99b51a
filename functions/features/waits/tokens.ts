import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { clientTarget } from '#aws/clients.js';
import { logger } from '#runtime/logger.js';
import { localCompleters } from './local-completer.js';

/**
 * Completing a wait's task token: the one place that calls SendTaskSuccess. A token that is no
 * longer waited on (the Task timed out into its check, the execution ended, or another delivery
 * completed it first) is "stale": Step Functions answers TaskTimedOut, InvalidToken or
 * TaskDoesNotExist, which is logged and ignored, never an error (events are best effort).
 *
 * The local runner (cli/runner.ts) has no Step Functions: it registers a local completer
 * (local-completer.ts), which then gets every token instead.
 */
export type Completion = 'completed' | 'stale';

const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const clients = new Map<string, SFNClient>();
const sfn = (): SFNClient => {
  const { cacheKey, config } = clientTarget();
  let client = clients.get(cacheKey);
  if (!client) {
    client = new SFNClient(config());
    clients.set(cacheKey, client);
  }
  return client;
};

export const completeTask = async (taskToken: string, output: unknown): Promise<Completion> => {
  const local = localCompleters();
  if (local.length > 0) return local.some((complete) => complete(taskToken, output)) ? 'completed' : 'stale';
  try {
    await sfn().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    return 'completed';
  } catch (error) {
    if (error instanceof Error && STALE_TOKEN_ERRORS.has(error.name)) {
      logger.info('the wait this token belonged to is over (stale token), ignored', { error: error.name });
      return 'stale';
    }
    throw error;
  }
};
