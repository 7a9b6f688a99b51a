import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { TransientAwsError } from '#domain/errors.js';
import { logger } from './logger.js';

/**
 * Turns an AWS error that is worth retrying (throttling, 5xx, network timeout) into
 * `TransientAwsError`, which the state machine retries with backoff and jitter. Every other
 * error keeps its own `name`, so the ASL can route on it and the execution history shows it.
 */
export const classifyTransientErrors = (): MiddlewareObj => ({
  onError: async (request) => {
    const error = request.error as (Error & { $metadata?: unknown }) | null;
    if (!error || !('$metadata' in error)) return;
    // biome-ignore lint/suspicious/noExplicitAny: the smithy classifiers take the SDK's internal error shape.
    const sdkError = error as any;
    if (isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError)) {
      logger.warn('transient AWS error, the state machine will retry', { error: error.name });
      request.error = new TransientAwsError(`${error.name}: ${error.message}`, { cause: error });
    }
  },
});

/** What a step may know of its invocation: how long it has left before Lambda stops it. */
export interface StepContext {
  remainingMs: () => number;
}

/** Outside Lambda (tests, a direct call) a step has no deadline. */
export const NO_DEADLINE: StepContext = { remainingMs: () => Number.POSITIVE_INFINITY };

/**
 * Wraps a step function as a Lambda handler: logger context (correlation id = rotation id),
 * transient-error classification, then the step, which is given the invocation's remaining time.
 * The step itself stays a plain exported function so tests call it directly.
 */
export const makeHandler = <TInput, TOutput>(
  step: (input: TInput, context: StepContext) => Promise<TOutput>,
  { correlationIdPath = 'plan.rotationId' }: { correlationIdPath?: string } = {},
) =>
  middy<TInput, TOutput>()
    .use(injectLambdaContext(logger, { correlationIdPath, resetKeys: true }))
    .use(classifyTransientErrors())
    .handler((event, context) =>
      step(
        event,
        typeof context?.getRemainingTimeInMillis === 'function'
          ? { remainingMs: () => context.getRemainingTimeInMillis() }
          : NO_DEADLINE,
      ),
    );
