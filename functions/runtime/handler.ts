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

/**
 * Wraps a step function as a Lambda handler: logger context (correlation id = rotation id),
 * transient-error classification, then the step. The step itself stays a plain exported
 * function so tests call it directly.
 */
export const makeHandler = <TInput, TOutput>(
  step: (input: TInput) => Promise<TOutput>,
  { correlationIdPath = 'plan.rotationId' }: { correlationIdPath?: string } = {},
) =>
  middy<TInput, TOutput>()
    .use(injectLambdaContext(logger, { correlationIdPath, resetKeys: true }))
    .use(classifyTransientErrors())
    .handler((event) => step(event));
