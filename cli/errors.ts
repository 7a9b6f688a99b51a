/**
 * What every command does with an error: one line on stderr that says what is wrong and what to
 * do, never a stack trace (unless --verbose or REKEY_DEBUG=1), and an exit code a script can rely on:
 *
 *   0  success
 *   1  the rotation (or the operation asked for) failed, or AWS refused it
 *   2  the command could not start: a usage error, an unreadable or invalid input, or an
 *      environment that is not there (an endpoint that does not answer, an unknown Region,
 *      moto_server missing). Nothing in AWS was changed.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A problem with the command line, its files or its environment (exit code 2). Nothing was changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem the operator must fix, found while the command ran (exit code 1), with what to do. */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
}

type Failure = UsageError | OperatorError;

const codeOf = (error: unknown): string | undefined => {
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const cause = (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof cause === 'string' ? cause : undefined;
};

/**
 * The errors users hit, said in their terms. `endpoint` names where the SDK was pointed, for the
 * network errors. Anything not recognised keeps its name and message, still on one line.
 */
export const explain = (error: unknown, context: { endpoint?: string } = {}): Failure => {
  if (error instanceof UsageError || error instanceof OperatorError) return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const message = ((error as Error).message ?? String(error)).split('\n')[0] ?? '';
  const code = codeOf(error);
  const where = context.endpoint ?? 'AWS';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH') {
    return new UsageError(
      `Nothing answers at ${where} (${code}). Start the emulator there (moto_server -H 127.0.0.1 -p PORT), or correct --endpoint.`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UsageError(
      context.endpoint
        ? `The host of ${context.endpoint} cannot be resolved (${code}). Correct --endpoint.`
        : `The AWS API cannot be reached (${code}: its host name does not resolve). Check your network and --region, or pass --endpoint for an emulator.`,
    );
  }
  if (code === 'ERR_INVALID_URL') {
    return new UsageError(`${where} is not a URL. Write it with its scheme, e.g. http://127.0.0.1:5000.`);
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new UsageError(
      `No usable AWS credentials: ${message}. Sign in (e.g. aws sso login), or pass --profile <name>.`,
    );
  }
  if (name === 'ExpiredTokenException' || name === 'ExpiredToken') {
    return new UsageError(`Your AWS session has expired: ${message}. Sign in again (e.g. aws sso login).`);
  }
  if (name === 'ExecutionDoesNotExist') {
    return new OperatorError(
      `${message}. Check the execution name or ARN, --stack and --region. Step Functions keeps closed executions 90 days; older rotations are in "rekey history".`,
    );
  }
  return new OperatorError(`${name}: ${message}`);
};

export const exitCodeOf = (error: Failure): number =>
  error instanceof UsageError ? EXIT.usage : EXIT.failed;

/** The stack trace, for --verbose or REKEY_DEBUG=1 only. */
export const debugDetail = (error: unknown, verbose: boolean): string =>
  verbose || process.env.REKEY_DEBUG === '1' ? `${(error as Error)?.stack ?? String(error)}\n` : '';
