import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { clientTarget } from '#aws/clients.js';
import { logger } from '#runtime/logger.js';

/**
 * Completing a wait's task token: the one place that calls SendTaskSuccess. A token that is no
 * longer waited on (the Task timed out into its check, the execution ended, or another delivery
 * completed it first) is "stale": Step Functions answers TaskTimedOut, InvalidToken or
 * TaskDoesNotExist, which is logged and ignored, never an error (events are best effort).
 *
 * The local runner (cli/runner.ts) has no Step Functions: it registers a local completer here
 * (kept on globalThis, like features/evidence/local-history.ts), which gets every token instead.
 */
export type Completion = 'completed' | 'stale';

/** Completes a local token; false when nothing waits on it (stale). */
export type LocalCompleter = (taskToken: string, output: unknown) => boolean;

const REGISTRY = Symbol.for('rekey.localTaskCompleters');
const completers = (): Set<LocalCompleter> => {
  const holder = globalThis as { [REGISTRY]?: Set<LocalCompleter> };
  holder[REGISTRY] ??= new Set();
  return holder[REGISTRY];
};

/** A local run (and each of a fleet's child runs) registers one; the returned function removes it. */
export const registerLocalCompleter = (completer: LocalCompleter): (() => void) => {
  completers().add(completer);
  return () => {
    completers().delete(completer);
  };
};

const STALE_TOKEN_ERRORS = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const clients = new Map<string, SFNClient>();
const sfn = (): SFNClient => {
  const { cacheKey, config } = clientTarget();
  let client = clients.get(cacheKey);
  if (!client) {
    client = new SFNClient(config);
    clients.set(cacheKey, client);
  }
  return client;
};

export const completeTask = async (taskToken: string, output: unknown): Promise<Completion> => {
  const local = [...completers()];
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
