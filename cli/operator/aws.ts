import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { OperatorError } from '../errors.js';

/**
 * Where the operator commands find the deployed stack: its outputs, or explicit overrides. The
 * endpoint is `--endpoint` or `AWS_ENDPOINT_URL` (an emulator); the Region is resolved once per
 * command by cli/connection.ts (the SDK's chain, never a silent default against AWS).
 */

export const DEFAULT_STACK = 'rekey';

export interface ConnectionOptions {
  region?: string;
  endpoint?: string;
  profile?: string;
}

export interface OperatorClients {
  sfn: SFNClient;
  cloudformation: CloudFormationClient;
  s3: S3Client;
}

export const resolveEndpoint = (options: ConnectionOptions): string | undefined =>
  options.endpoint ?? (process.env.AWS_ENDPOINT_URL || undefined);

export const createClients = (options: ConnectionOptions): OperatorClients => {
  const endpoint = resolveEndpoint(options);
  const config = {
    region: options.region,
    endpoint,
    retryMode: 'adaptive',
    maxAttempts: 5,
    ...(options.profile && !endpoint ? { profile: options.profile } : {}),
  } as const;
  return {
    sfn: new SFNClient(config),
    cloudformation: new CloudFormationClient(config),
    // Emulators serve buckets by path, not by virtual host.
    s3: new S3Client({ ...config, forcePathStyle: Boolean(endpoint) }),
  };
};

/** The Region an ARN names (`arn:aws:states:<region>:...`), if it is an ARN. */
export const regionOfArn = (arn: string): string | undefined => {
  const parts = arn.split(':');
  return parts[0] === 'arn' && parts[3] ? parts[3] : undefined;
};

export const consoleUrl = (executionArn: string, fallbackRegion: string): string => {
  const region = regionOfArn(executionArn) ?? fallbackRegion;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
};

export type StackOutputName = 'StateMachineArn' | 'EvidenceBucketName' | 'RotationLockTableName';

const OVERRIDE_FLAG: Record<StackOutputName, string> = {
  StateMachineArn: '--state-machine-arn <arn>',
  EvidenceBucketName: '--bucket <name>',
  RotationLockTableName: '--lock-table <name>',
};

/** Reads one output of the stack, with an error that says how to get past it. */
export const stackOutput = async (
  cloudformation: CloudFormationClient,
  stack: string,
  region: string,
  output: StackOutputName,
): Promise<string> => {
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    const answer = await cloudformation.send(new DescribeStacksCommand({ StackName: stack }));
    outputs = answer.Stacks?.[0]?.Outputs ?? [];
    if (!answer.Stacks?.[0]) throw new Error('no stack in the answer');
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (/does not exist|no stack in the answer/i.test(message)) {
      throw new OperatorError(
        `Stack "${stack}" was not found in ${region}. Deploy it (sam deploy), or name it with --stack <name> ` +
          `and the Region with --region, or pass ${OVERRIDE_FLAG[output]}.`,
      );
    }
    throw new OperatorError(
      `Could not read stack "${stack}" in ${region}: ${message}. Check your credentials and Region, or pass ${OVERRIDE_FLAG[output]}.`,
    );
  }
  const value = outputs.find((entry) => entry.OutputKey === output)?.OutputValue;
  if (!value) {
    throw new OperatorError(
      `Stack "${stack}" has no output ${output}` +
        (output === 'EvidenceBucketName'
          ? ' (it predates the evidence bucket: update it with sam deploy)'
          : '') +
        `. Pass ${OVERRIDE_FLAG[output]} instead.`,
    );
  }
  return value;
};

/** `arn:aws:states:r:a:stateMachine:sm` + name -> `arn:aws:states:r:a:execution:sm:name`. */
/** The default execution name: `<what>-<yyyymmdd-hhmm>` in UTC (`orders-db-20270309-0600`, `fleet-20270309-0600`). */
export const defaultStartName = (what: string, now: Date): string => {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13).replace('T', '-');
  return `${what}-${stamp}`;
};

export const executionArnFor = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

export const isExecutionArn = (value: string): boolean =>
  /^arn:[^:]+:states:[^:]*:[^:]*:execution:/.test(value);

/** The state machine of an execution: `arn:aws:states:r:a:execution:sm:name` -> `arn:aws:states:r:a:stateMachine:sm`. */
export const stateMachineOfExecution = (executionArn: string): string =>
  executionArn.replace(':execution:', ':stateMachine:').split(':').slice(0, 7).join(':');

/**
 * template.yaml names the fleet state machine `${AWS::StackName}-rotate-fleet` (and the rotation's
 * `-rotate-instance`), so an execution ARN says by itself whether it is a fleet's, whatever the
 * stack is called and however old the execution is (test/unit/cli/operator/fleet-arn.test.ts).
 */
export const FLEET_STATE_MACHINE_SUFFIX = '-rotate-fleet';
export const ROTATION_STATE_MACHINE_SUFFIX = '-rotate-instance';

export const isFleetExecutionArn = (executionArn: string): boolean =>
  isExecutionArn(executionArn) && stateMachineOfExecution(executionArn).endsWith(FLEET_STATE_MACHINE_SUFFIX);

/**
 * StartExecution under `name`, or an OperatorError saying the name is taken and how to follow
 * that execution (`watch` is the status command for an execution ARN).
 */
export const startNamedExecution = async (
  sfn: SFNClient,
  start: { stateMachineArn: string; name: string; input: unknown },
  watch: (executionArn: string) => string,
  now: () => Date,
): Promise<{ executionArn: string; startDate: Date }> => {
  const { stateMachineArn, name } = start;
  try {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(start.input) }),
    );
    return {
      executionArn: started.executionArn ?? executionArnFor(stateMachineArn, name),
      startDate: started.startDate ?? now(),
    };
  } catch (error) {
    if ((error as { name?: string }).name === 'ExecutionAlreadyExists') {
      throw new OperatorError(
        `An execution named "${name}" already exists on ${stateMachineArn}. Choose another with --name, or follow it: ${watch(executionArnFor(stateMachineArn, name))}`,
      );
    }
    throw error;
  }
};
