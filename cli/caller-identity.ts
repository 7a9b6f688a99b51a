import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { LocalRun } from '#features/evidence/context.js';

/**
 * Who runs `rekey run` against AWS, for the evidence record's `startedBy`: the identity of the
 * credentials in use, as STS `GetCallerIdentity` answers (no IAM permission is needed for it; it
 * works for any valid credentials). A lookup that fails is recorded as such, never guessed: the run
 * goes on, and its record says who ran it is unknown and why.
 */

/** The answer's fields the record keeps. */
export interface CallerIdentity {
  Arn?: string;
  Account?: string;
}

export type CallerIdentityLookup = (region: string) => Promise<CallerIdentity>;

export const stsCallerIdentity: CallerIdentityLookup = async (region) => {
  const client = new STSClient({ region });
  try {
    return await client.send(new GetCallerIdentityCommand({}));
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
    return { error: `${e.name ?? 'Error'}: ${e.message ?? String(error)}`.slice(0, 300) };
  }
};
