import { readFileSync } from 'node:fs';

/**
 * docs/operator-policy.json, the IAM policy README's "Operator permissions" documents, checked
 * against the calls a command made (through aws-sdk-client-mock): the action and the resource.
 */
interface Statement {
  Effect: string;
  Action: string[];
  Resource: string | string[];
}

const policy = JSON.parse(
  readFileSync(new URL('../../docs/operator-policy.json', import.meta.url), 'utf8'),
) as { Statement: Statement[] };

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** The IAM action and resource of one SDK call; the stack is `rekey` and the bucket the test's. */
const requestOf = (service: string, command: string, input: Record<string, string>, region: string) => {
  const action = `${service}:${command === 'ListObjectsV2' ? 'ListBucket' : command}`;
  if (service === 'states') return { action, resource: input.executionArn ?? input.stateMachineArn ?? '*' };
  if (service === 's3') {
    return {
      action,
      resource:
        command === 'GetObject'
          ? `arn:aws:s3:::${input.Bucket}/${input.Key}`
          : `arn:aws:s3:::${input.Bucket}`,
    };
  }
  return { action, resource: `arn:aws:cloudformation:${region}:111122223333:stack/${input.StackName}/id` };
};

/** Every call of the mocks that the documented policy, with `bucket` for EVIDENCE_BUCKET_NAME, does not allow. */
export const callsNotAllowed = (
  mocks: Record<'states' | 's3' | 'cloudformation', { calls(): { args: unknown[] }[] }>,
  bucket: string,
  region = 'eu-west-1',
): string[] => {
  const statements = policy.Statement.map((s) => ({
    actions: s.Action,
    resources: (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) =>
      glob(r.replace('EVIDENCE_BUCKET_NAME', bucket)),
    ),
  }));
  return Object.entries(mocks).flatMap(([service, mock]) =>
    mock.calls().flatMap((call) => {
      const command = call.args[0] as { constructor: { name: string }; input: Record<string, string> };
      const { action, resource } = requestOf(
        service,
        command.constructor.name.replace(/Command$/, ''),
        command.input,
        region,
      );
      const allowed = statements.some(
        (s) => s.actions.includes(action) && s.resources.some((r) => r.test(resource)),
      );
      return allowed ? [] : [`${action} on ${resource}`];
    }),
  );
};
