import { AsyncLocalStorage } from 'node:async_hooks';
import * as dynamodbModule from '@aws-sdk/client-dynamodb';
import * as kmsModule from '@aws-sdk/client-kms';
import * as rdsModule from '@aws-sdk/client-rds';
import * as route53Module from '@aws-sdk/client-route-53';
import type { ServiceException } from '@smithy/core/client';
import type {
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  InitializeHandlerOutput,
  MetadataBearer,
} from '@smithy/types';
import { type AwsClients, getClients } from '#aws/clients.js';

/**
 * Test-only fault injection for the AWS SDK v3 clients that every step gets from `getClients()`.
 *
 * A rule names a command (`CreateKey`, `TransactWriteItems`, ...) and which of its calls to hit
 * (1-based, counted per rule, so per command name, and per Task state when the rule names one).
 * On that call the middleware either
 * - throws a named AWS error BEFORE the request is sent: the SDK's own exception class when the
 *   client's package exports one under that name (`InsufficientDBInstanceCapacityFault`,
 *   `KMSInvalidStateException`, ...), else the service's `ServiceException` with that `name`;
 *   `$metadata.httpStatusCode` is 400 (429 for `TooManyRequestsException`, 5xx for server faults),
 *   so `isThrottlingError` from @smithy/core/retry recognises `ThrottlingException`; or
 * - "loses the response": lets the call reach the emulator and complete, then throws a network
 *   style `TimeoutError` (`$metadata` without a status), so the caller cannot know it succeeded.
 *   This is what a step sees when its Lambda times out after its AWS call succeeded.
 *
 * Why the `initialize` step: the SDK's own retry middleware lives in `finalizeRequest` (priority
 * high) and retries throttling, 5xx and `TimeoutError` by itself (maxAttempts 5, adaptive). A fault
 * raised inside or below it would be retried by the SDK before the step sees it: a throttle would be
 * swallowed by the second attempt, and a lost response would be re-sent by the SDK (for CreateKey,
 * a second key). In `initialize`, outside the retry loop, a rule hit reaches the step code exactly
 * once, and a lost response is one request that reached the emulator, then one error for the step;
 * what happens next is the step's and the state machine's own retry, which is what we test.
 *
 * `DynamoDBDocumentClient` shares its middleware stack with the `DynamoDBClient` it wraps, so the
 * lock table's commands carry the low-level names (`TransactWriteItems`, `GetItem`, `DeleteItem`).
 */

export type Fault =
  /** Throw this AWS error before the request is sent. */
  | { error: string; status?: number; message?: string }
  /** Let the request reach the service, then throw a TimeoutError instead of its answer. */
  | 'lose-response';

export interface FaultRule {
  /** The command name without `Command`: `CreateKey`, `ModifyDBInstance`, `TransactWriteItems`. */
  command: string;
  /** Only calls made while this Task state runs (the runner's `wrapTask` must use `scopeTasks`). */
  task?: string;
  /** The Nth matching call, 1-based (default 1), or `every` matching call. */
  call?: number | 'every';
  fault: Fault;
  /** Not logged in `fired` (for `EMULATOR_GAPS`). */
  quiet?: boolean;
}

export interface FiredFault {
  command: string;
  task: string | undefined;
  call: number;
  fault: string;
}

export interface CallRecord {
  command: string;
  task: string | undefined;
}

export interface FaultHandle {
  /** Every fault that fired, in order. */
  readonly fired: FiredFault[];
  /** Every command the clients sent while the handle was installed, in order (faulted or not). */
  readonly calls: CallRecord[];
  /** Takes the middleware off every client. Idempotent. */
  remove(): void;
}

const MIDDLEWARE_NAME = 'rekeyFaultInjection';

const taskScope = new AsyncLocalStorage<string>();

type TaskFn = (input: unknown) => Promise<unknown>;

/**
 * A `wrapTask` for the runner that tags every AWS call a Task makes with the Task's state name, so
 * rules can say `task: 'ConfigureInstance'`. `inner` wraps the invocation further (for example to
 * throw a Lambda service error on the first invocation).
 */
export const scopeTasks =
  (inner?: (stateName: string, invoke: TaskFn) => TaskFn) =>
  (stateName: string, invoke: TaskFn): TaskFn => {
    const wrapped = inner ? inner(stateName, invoke) : invoke;
    return (input) => taskScope.run(stateName, () => wrapped(input));
  };

/** A runner `wrapTask` whose `stateName` Task fails its first invocation with a Lambda service error (retried by the ASL). */
export const lambdaServiceErrorOnFirstInvocation = (
  target: string,
  log: string[] = [],
): ((stateName: string, invoke: TaskFn) => TaskFn) => {
  let invocations = 0;
  return (stateName, invoke) =>
    stateName !== target
      ? invoke
      : async (input) => {
          invocations += 1;
          if (invocations === 1) {
            log.push(stateName);
            throw Object.assign(new Error('Lambda is unable to process the request (injected).'), {
              name: 'Lambda.ServiceException',
            });
          }
          return invoke(input);
        };
};

type ServiceModule = Record<string, unknown>;

interface ServiceOf {
  module: ServiceModule;
  base: new (options: {
    name: string;
    $fault: 'client' | 'server';
    $metadata: MetadataBearer['$metadata'];
    message?: string;
  }) => ServiceException;
}

const SERVICES: Record<keyof AwsClients, ServiceOf> = {
  rds: { module: rdsModule, base: rdsModule.RDSServiceException },
  kms: { module: kmsModule, base: kmsModule.KMSServiceException },
  kmsSingleAttempt: { module: kmsModule, base: kmsModule.KMSServiceException },
  route53: { module: route53Module, base: route53Module.Route53ServiceException },
  dynamodb: { module: dynamodbModule, base: dynamodbModule.DynamoDBServiceException },
};

const statusFor = (name: string): number => {
  if (name === 'TooManyRequestsException') return 429;
  if (/^(InternalFailure|InternalServerError|KMSInternalException|InternalError)$/.test(name)) return 500;
  if (/^ServiceUnavailable/.test(name)) return 503;
  return 400;
};

/** The AWS error a service would send: its SDK class when the package has one by that name. */
export const awsError = (
  service: keyof AwsClients,
  name: string,
  options: { status?: number; message?: string } = {},
): ServiceException => {
  const { module, base } = SERVICES[service];
  const status = options.status ?? statusFor(name);
  const message = options.message ?? `${name} (injected by the test)`;
  const $metadata = { httpStatusCode: status, requestId: 'injected-fault', attempts: 1, totalRetryDelay: 0 };
  const candidate = module[name];
  if (typeof candidate === 'function' && candidate.prototype instanceof base) {
    const Exception = candidate as new (options: {
      message: string;
      $metadata: MetadataBearer['$metadata'];
    }) => ServiceException;
    return new Exception({ message, $metadata });
  }
  return new base({ name, $fault: status >= 500 ? 'server' : 'client', $metadata, message });
};

/** What the SDK throws when the connection drops after the request went out: no HTTP status. */
const lostResponse = (command: string): Error =>
  Object.assign(
    new Error(`Connection timed out after the ${command} request was sent (injected by the test)`),
    {
      name: 'TimeoutError',
      $metadata: {},
    },
  );

/** The part of the four clients' (differently typed) middleware stacks used here. */
interface Stack {
  add(middleware: unknown, options: object): void;
  remove(name: string): boolean;
}

let installed: FaultHandle | undefined;

/**
 * Installs `rules` on the clients `getClients()` returns for the current endpoint. One handle at a
 * time: installing a second while one is active fails (a leak from an earlier test would otherwise
 * fault the next one). Remove it in `afterEach` (`removeFaults`).
 */
export const injectFaults = (
  rules: FaultRule[],
  clients: Partial<AwsClients> = getClients(),
): FaultHandle => {
  if (installed) {
    throw new Error('faults from an earlier injectFaults() are still installed: call remove() (afterEach).');
  }
  const counters = rules.map(() => 0);
  const fired: FiredFault[] = [];
  const calls: CallRecord[] = [];

  const middlewareFor =
    (service: keyof AwsClients) =>
    (next: InitializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<object>): Promise<InitializeHandlerOutput<MetadataBearer>> => {
      const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const task = taskScope.getStore();
      calls.push({ command, task });
      let hit: { rule: FaultRule; call: number } | undefined;
      rules.forEach((rule, index) => {
        if (rule.command !== command || (rule.task !== undefined && rule.task !== task)) return;
        counters[index] = (counters[index] ?? 0) + 1;
        const call = counters[index] ?? 0;
        if (!hit && (rule.call === 'every' || (rule.call ?? 1) === call)) hit = { rule, call };
      });
      if (!hit) return next(args);
      const { rule, call } = hit;
      if (rule.fault === 'lose-response') {
        await next(args);
        if (!rule.quiet) fired.push({ command, task, call, fault: 'lost-response' });
        throw lostResponse(command);
      }
      if (!rule.quiet) fired.push({ command, task, call, fault: rule.fault.error });
      throw awsError(service, rule.fault.error, rule.fault);
    };

  const targets = Object.entries(clients).map(
    ([service, client]) => [service as keyof AwsClients, client.middlewareStack as unknown as Stack] as const,
  );
  for (const [service, stack] of targets) {
    stack.add(middlewareFor(service), {
      step: 'initialize',
      priority: 'high',
      name: MIDDLEWARE_NAME,
      tags: ['TEST_FAULT_INJECTION'],
    });
  }
  const handle: FaultHandle = {
    fired,
    calls,
    remove: () => {
      for (const [, stack] of targets) stack.remove(MIDDLEWARE_NAME);
      if (installed === handle) installed = undefined;
    },
  };
  installed = handle;
  return handle;
};

/** Removes the installed faults, if any: use as `afterEach(removeFaults)`. */
export const removeFaults = (): void => {
  installed?.remove();
};

/**
 * moto 5.2.1 does not implement DescribeAccountAttributes (preflight's quota check) and
 * DescribeDBClusterAutomatedBackups (retire-key's old-key guard): it answers HTTP 500, which the
 * SDK retries five times with backoff (about 1 s per rotation) before the step handles the 500.
 * These rules give the step that same final answer at once, so the many runs of a fault matrix
 * stay fast; the steps' handling of the 500 is unchanged.
 */
export const EMULATOR_GAPS: FaultRule[] = [
  {
    command: 'DescribeAccountAttributes',
    call: 'every',
    quiet: true,
    fault: { error: 'InternalFailure', status: 500, message: 'not implemented by the emulator' },
  },
  {
    command: 'DescribeDBClusterAutomatedBackups',
    call: 'every',
    quiet: true,
    fault: { error: 'InternalFailure', status: 500, message: 'not implemented by the emulator' },
  },
];
