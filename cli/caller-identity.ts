import type { LocalRun } from '#features/evidence/context.js';

/**
 * Who runs `rekey run` against AWS, for the evidence record's `startedBy`: the identity of the
 * credentials in use, as STS `GetCallerIdentity` answers (no IAM permission is needed for it; it
 * works for any valid credentials). A lookup that fails is recorded as such, never guessed: the run
 * goes on, and its record says who ran it is unknown and why.
 *
 * The client is `@aws-sdk/client-sts`, loaded when needed: a checkout without the package records
 * "not installed" instead of failing to start.
 */

/** The answer's fields the record keeps. */
export interface CallerIdentity {
  Arn?: string;
  Account?: string;
}

export type CallerIdentityLookup = (region: string) => Promise<CallerIdentity>;

interface StsModule {
  STSClient: new (config: {
    region: string;
  }) => { send(command: unknown): Promise<CallerIdentity>; destroy(): void };
  GetCallerIdentityCommand: new (input: Record<string, never>) => unknown;
}

/** Kept in a variable so the type check does not require the package to be installed. */
const STS_PACKAGE = '@aws-sdk/client-sts';

export const stsCallerIdentity: CallerIdentityLookup = async (region) => {
  const sts = (await import(STS_PACKAGE)) as StsModule;
  const client = new sts.STSClient({ region });
  try {
    return await client.send(new sts.GetCallerIdentityCommand({}));
  } finally {
    client.destroy();
  }
};

export const lookUpCaller = async (
  region: string,
  lookup: CallerIdentityLookup = stsCallerIdentity,
): Promise<NonNullable<LocalRun['caller']>> => {
  try {
    const identity = await lookup(region);
    if (!identity.Arn) return { error: 'GetCallerIdentity answered without an Arn' };
    return { arn: identity.Arn, account: identity.Account ?? null };
  } catch (error) {
    const e = error as { code?: string; name?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message?.includes(STS_PACKAGE)) {
      return { error: `${STS_PACKAGE} is not installed, so the caller identity could not be looked up` };
    }
    return { error: `${e.name ?? 'Error'}: ${e.message ?? String(error)}`.slice(0, 300) };
  }
};
