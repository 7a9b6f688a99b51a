import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { Command, InvalidArgumentError } from 'commander';
import { InvalidInputError } from '#domain/errors.js';
import { parseRotationInput, rotationTarget } from '#domain/input.js';
import { isFleetInput } from '#features/fleet/input.js';
import { checkRegion, parseEndpoint, probeEndpoint, resolveConnection } from '../connection.js';
import { explain, OperatorError, UsageError } from '../errors.js';
import { readJsonInput } from '../input-file.js';
import { CLI } from '../invocation.js';
import {
  type ConnectionOptions,
  consoleUrl,
  createClients,
  DEFAULT_STACK,
  defaultStartName,
  executionArnFor,
  isExecutionArn,
  isFleetExecutionArn,
  type OperatorClients,
  regionOfArn,
  stackOutput,
  startNamedExecution,
  stateMachineOfExecution,
} from './aws.js';
import { readHistory } from './evidence.js';
import { showFleet } from './fleet-command.js';
import { fleetMachineOfRotation } from './fleet-load.js';
import { startFleet } from './fleet-start.js';
import {
  APPROVAL_STATE,
  type ExecutionView,
  FLEET_APPROVAL_STATE,
  findApprovalRequest,
  summarizeExecution,
} from './progress.js';
import {
  formatDuration,
  type NextCommands,
  progressBar,
  renderHistory,
  renderStatus,
  statusHeadline,
} from './render.js';

/**
 * The operator commands against the deployed stack: start, status, history, approve, reject.
 * Every command prints human text, or with `--json` exactly one JSON document on stdout. Errors
 * go to stderr with exit code 1; usage errors (bad flags, an invalid input file) exit with 2.
 */

export interface OperatorDeps {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Redraw the screen while watching (a terminal), or append a line per change (a log). */
  isTTY: boolean;
  clients(options: ConnectionOptions): OperatorClients;
  now(): Date;
  sleep(ms: number): Promise<void>;
  setExitCode(code: number): void;
  /** Ends the process after a usage error or --help (commander's exit). */
  exit(code: number): void;
  /** Who approves or rejects when --by is not given. */
  user(): string;
  /** The state machine has the approval gate, so the progress counts it before it is reached. */
  hasApprovalGate: boolean;
}

const definitionHasApprovalGate = (): boolean => {
  try {
    const definition = JSON.parse(
      readFileSync(new URL('../../state-machines/rotate-database.asl.json', import.meta.url), 'utf8'),
    ) as { States?: Record<string, unknown> };
    return Boolean(definition.States?.[APPROVAL_STATE]);
  } catch {
    return false;
  }
};

export const defaultDeps = (): OperatorDeps => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTTY: Boolean(process.stdout.isTTY),
  clients: createClients,
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  setExitCode: (code) => {
    process.exitCode = code;
  },
  exit: (code) => process.exit(code),
  user: () => {
    try {
      return userInfo().username;
    } catch {
      return process.env.USER ?? 'unknown';
    }
  },
  hasApprovalGate: definitionHasApprovalGate(),
});

interface CommonOptions extends ConnectionOptions {
  /** The Region from the environment (SDK chain), resolved before the command runs. */
  resolvedRegion?: string;
  stack: string;
  stateMachineArn?: string;
  json?: boolean;
}

const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

const positiveInteger =
  (what: string) =>
  (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1)
      throw new InvalidArgumentError(`${what} must be a whole number of 1 or more.`);
    return parsed;
  };

const withConnection = (command: Command, stateMachine: boolean): Command => {
  command
    .option('-s, --stack <name>', 'the deployed Rekey stack, read for its outputs', DEFAULT_STACK)
    .option(
      '-r, --region <region>',
      'AWS Region (default: the ARN’s Region, else AWS_REGION, the profile’s region, AWS_DEFAULT_REGION)',
    )
    .option(
      '-e, --endpoint <url>',
      'AWS API endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL, else AWS)',
    )
    .option('-p, --profile <name>', 'AWS profile for credentials and Region (default: AWS_PROFILE)');
  if (stateMachine) {
    command.option(
      '--state-machine-arn <arn>',
      'the state machine; default: the stack’s StateMachineArn output',
    );
  }
  return command.option('--json', 'print exactly one JSON document on stdout, for scripts');
};

export class OperatorContext {
  readonly clients: OperatorClients;
  readonly region: string;
  constructor(
    readonly deps: OperatorDeps,
    readonly options: CommonOptions,
    arnHint?: string,
  ) {
    // The execution ARN's Region wins over the environment's; --region over both.
    const region = options.region ?? (arnHint ? regionOfArn(arnHint) : undefined) ?? options.resolvedRegion;
    if (!region) {
      throw new UsageError(
        'No AWS Region is set. Pass --region (e.g. --region eu-west-1), set AWS_REGION, or give your profile a region.',
      );
    }
    checkRegion(region, options.region ? '--region' : 'the execution ARN or the environment');
    this.region = region;
    this.clients = deps.clients({ region, endpoint: options.endpoint, profile: options.profile });
  }

  async stateMachineArn(): Promise<string> {
    return (
      this.options.stateMachineArn ??
      stackOutput(this.clients.cloudformation, this.options.stack, this.region, 'StateMachineArn')
    );
  }

  /** The CLI (cli/invocation.ts) plus the flags another command needs to reach the same endpoint. */
  get prefix(): string {
    return `${CLI}${this.options.endpoint ? ` --endpoint ${this.options.endpoint}` : ''}`;
  }

  next(executionArn: string): NextCommands {
    const flags = this.options.endpoint ? ` --endpoint ${this.options.endpoint}` : '';
    return {
      approve: `${CLI} approve ${executionArn}${flags}`,
      reject: `${CLI} reject ${executionArn} --reason "<why>"${flags}`,
      watch: `${CLI} status ${executionArn} --watch${flags}`,
    };
  }
}

const contextFor = (deps: OperatorDeps, options: CommonOptions, execution?: string): OperatorContext =>
  new OperatorContext(deps, options, execution && isExecutionArn(execution) ? execution : undefined);

const resolveExecution = async (context: OperatorContext, execution: string): Promise<string> => {
  if (isExecutionArn(execution)) return execution;
  if (!EXECUTION_NAME.test(execution)) {
    throw new UsageError(
      `"${execution}" is neither an execution ARN nor an execution name (1-80 letters, digits, - or _).`,
    );
  }
  return executionArnFor(await context.stateMachineArn(), execution);
};

const readAllHistory = async (sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> => {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: false, maxResults: 1000, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
};

const parseJson = (text: string | undefined): unknown => {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

interface Loaded {
  view: ExecutionView;
  events: HistoryEvent[];
}

const loadExecution = async (context: OperatorContext, executionArn: string): Promise<Loaded> => {
  const { sfn } = context.clients;
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const events = await readAllHistory(sfn, executionArn);
  const view = summarizeExecution(
    {
      executionArn,
      name: described.name ?? executionArn.split(':').at(-1) ?? executionArn,
      stateMachineArn: described.stateMachineArn ?? null,
      status: described.status ?? 'UNKNOWN',
      startDate: described.startDate ?? context.deps.now(),
      stopDate: described.stopDate ?? null,
      input: parseJson(described.input),
      error: described.error ?? null,
      cause: described.cause ?? null,
    },
    events,
    context.deps.now(),
    { hasApprovalGate: context.deps.hasApprovalGate },
  );
  return { view, events };
};

const statusDocument = (context: OperatorContext, view: ExecutionView) => ({
  ...view,
  consoleUrl: consoleUrl(view.executionArn, context.region),
  next: view.waitingForApproval
    ? { approve: context.next(view.executionArn).approve, reject: context.next(view.executionArn).reject }
    : view.closed
      ? {}
      : { watch: context.next(view.executionArn).watch },
});

const exitCodeOf = (view: ExecutionView): number => (view.closed && view.status !== 'SUCCEEDED' ? 1 : 0);

const progressLine = (view: ExecutionView, at: Date): string =>
  `${at.toISOString().slice(11, 19)}  ${statusHeadline(view)}  ${progressBar(view.progress.completed, view.progress.expected, 20)}  ${formatDuration(view.elapsedMs)}\n`;

/** Follows the execution until it closes; returns its last view. Survives a few failed polls. */
const watchExecution = async (
  context: OperatorContext,
  executionArn: string,
  intervalSeconds: number,
  json: boolean,
): Promise<ExecutionView> => {
  const { deps } = context;
  let lastChange = '';
  let failures = 0;
  for (;;) {
    let view: ExecutionView | undefined;
    try {
      view = (await loadExecution(context, executionArn)).view;
      failures = 0;
    } catch (error) {
      failures += 1;
      if (failures >= 3 || (error as { name?: string }).name === 'ExecutionDoesNotExist') throw error;
      deps.stderr(
        `Could not read the execution (${(error as Error).message}); trying again in ${intervalSeconds}s.\n`,
      );
    }
    if (view) {
      const line = progressLine(view, deps.now());
      // A line per change (step, status, progress), not per poll: a 12-hour run stays readable in a log.
      const change = `${statusHeadline(view)}|${view.progress.completed}/${view.progress.expected}`;
      const changed = change !== lastChange;
      if (json) {
        if (changed) deps.stderr(line);
      } else if (deps.isTTY) {
        deps.stdout(
          `\x1b[2J\x1b[H${renderStatus(view, consoleUrl(executionArn, context.region), context.next(executionArn))}` +
            (view.closed
              ? ''
              : `\nWatching: refreshed ${deps.now().toISOString()}, every ${intervalSeconds}s. Ctrl-C stops watching, not the rotation.\n`),
        );
      } else if (!view.closed && changed) {
        deps.stdout(line);
      } else if (view.closed) {
        deps.stdout(
          `\n${renderStatus(view, consoleUrl(executionArn, context.region), context.next(executionArn))}`,
        );
      }
      lastChange = change;
      if (view.closed) return view;
    }
    await deps.sleep(intervalSeconds * 1000);
  }
};

/** A child rotation's state for `rekey status` of its fleet, or null when it does not exist (yet). */
const childState =
  (context: OperatorContext) =>
  async (childArn: string): Promise<string | null> => {
    try {
      return statusHeadline((await loadExecution(context, childArn)).view);
    } catch (error) {
      if ((error as { name?: string }).name === 'ExecutionDoesNotExist') return null;
      throw error;
    }
  };

const action =
  <A extends unknown[]>(deps: OperatorDeps, body: (...args: A) => Promise<number>) =>
  async (...args: A): Promise<void> => {
    const command = args.at(-1) as Command;
    const options = command.opts() as CommonOptions & { json?: boolean };
    const json = Boolean(options.json);
    try {
      await resolveEnvironment(options);
      deps.setExitCode(await body(...args));
    } catch (raw) {
      const error = explain(raw, { endpoint: options.endpoint });
      const code = error instanceof UsageError ? 2 : 1;
      if (json) deps.stdout(`${JSON.stringify({ error: { name: error.name, message: error.message } })}\n`);
      deps.stderr(`rekey ${command.name()}: ${error.message}\n`);
      deps.setExitCode(code);
    }
  };

const usageExits = (command: Command, deps: OperatorDeps): Command =>
  command.exitOverride((error) => {
    deps.exit(error.exitCode === 0 ? 0 : 2);
    throw error;
  });

/**
 * Before a command runs: an explicit --endpoint must be a URL something answers at, and the
 * Region the environment gives (when --region is not set) is resolved through the SDK's chain.
 * Nothing is required here: a command whose execution ARN names the Region needs none.
 */
const resolveEnvironment = async (options: CommonOptions): Promise<void> => {
  if (options.endpoint) await probeEndpoint(parseEndpoint(options.endpoint));
  if (options.region) return;
  try {
    options.resolvedRegion = (
      await resolveConnection({ ...options, endpoint: undefined }, { probe: false })
    ).region;
  } catch (error) {
    // No Region in the environment: OperatorContext says so, unless an ARN names one.
    if (!(error instanceof UsageError) || !/No AWS Region/.test(error.message)) throw error;
  }
};

export const registerOperatorCommands = (program: Command, deps: OperatorDeps = defaultDeps()): Command => {
  const start = program
    .command('start')
    .description(
      'Start a rotation, or with a fleet input a fleet, on the deployed stack (StartExecution). The input is checked here first.',
    )
    .requiredOption(
      '-i, --input <file>',
      'execution input JSON: a path, file://<path>, or - for standard input (see events/break-glass.json)',
    )
    .option(
      '-n, --name <execution-name>',
      'execution name, e.g. after the incident (default: <db>-<yyyymmdd-hhmm>, UTC)',
    )
    .option('-w, --watch', 'follow the execution until it ends (exit code 0 only on success)')
    .option('--interval <seconds>', 'seconds between polls with --watch', positiveInteger('--interval'), 15)
    .option(
      '--plan-only',
      'a fleet input: plan it on AWS (the fleet machine writes the plan and stops; nothing is changed); with --watch, print the plan',
    )
    .option(
      '-b, --bucket <name>',
      'a fleet’s evidence bucket; default: the stack’s EvidenceBucketName output',
    );
  withConnection(start, true);
  usageExits(start, deps).action(
    action(
      deps,
      async (
        options: CommonOptions & {
          input: string;
          name?: string;
          watch?: boolean;
          interval: number;
          planOnly?: boolean;
          bucket?: string;
        },
      ) => {
        const raw = readJsonInput(options.input);
        if (isFleetInput(raw)) {
          const context = contextFor(deps, options);
          return startFleet(context, raw as Record<string, unknown>, options, childState(context));
        }
        if (options.planOnly) {
          throw new UsageError(
            `--plan-only plans a fleet input ({"fleet": {...}}); for one database run ${CLI} plan --input ${options.input}, which plans it read-only from here.`,
          );
        }
        let target: string;
        try {
          target = rotationTarget(parseRotationInput(raw)).identifier;
        } catch (error) {
          if (error instanceof InvalidInputError) throw new UsageError(`${options.input}: ${error.message}`);
          throw error;
        }
        const name = options.name ?? defaultStartName(target, deps.now());
        if (!EXECUTION_NAME.test(name)) {
          throw new UsageError(
            `--name "${name}" must be 1-80 letters, digits, - or _ (a Step Functions execution name).`,
          );
        }
        const context = contextFor(deps, options);
        const stateMachineArn = await context.stateMachineArn();
        const { executionArn, startDate } = await startNamedExecution(
          context.clients.sfn,
          { stateMachineArn, name, input: raw },
          (arn) => context.next(arn).watch,
          deps.now,
        );
        const link = consoleUrl(executionArn, context.region);
        const started = {
          executionArn,
          name,
          target,
          stateMachineArn,
          startDate: startDate.toISOString(),
          consoleUrl: link,
        };
        if (!options.json) {
          deps.stdout(
            `Started rotation ${name} of ${target}.\n  Execution: ${executionArn}\n  Console:   ${link}\n` +
              (options.watch ? '' : `Follow it:   ${context.next(executionArn).watch}\n`),
          );
        }
        if (!options.watch) {
          if (options.json) deps.stdout(`${JSON.stringify(started)}\n`);
          return 0;
        }
        const view = await watchExecution(context, executionArn, options.interval, Boolean(options.json));
        if (options.json)
          deps.stdout(`${JSON.stringify({ ...started, status: statusDocument(context, view) })}\n`);
        return exitCodeOf(view);
      },
    ),
  );

  const status = program
    .command('status')
    .description(
      'Show an execution: the current step, time per step, progress, and the cause when it failed. Exit code 1 when it failed, timed out or was stopped.',
    )
    .argument(
      '<execution>',
      'execution ARN (a rotation’s, or a fleet’s: each database’s progress), or execution name (a rotation’s on the stack, else its fleet’s)',
    )
    .option('-w, --watch', 'follow the execution until it ends (exit code 0 only on success)')
    .option('--interval <seconds>', 'seconds between polls with --watch', positiveInteger('--interval'), 15)
    .option(
      '-b, --bucket <name>',
      'a fleet’s evidence bucket (its plan and outcomes); default: the stack’s EvidenceBucketName output',
    );
  withConnection(status, true);
  usageExits(status, deps).action(
    action(
      deps,
      async (
        execution: string,
        options: CommonOptions & { watch?: boolean; interval: number; bucket?: string },
      ) => {
        const context = contextFor(deps, options, execution);
        const executionArn = await resolveExecution(context, execution);
        if (isFleetExecutionArn(executionArn))
          return showFleet(context, executionArn, options, childState(context));
        let view: ExecutionView;
        try {
          view = options.watch
            ? await watchExecution(context, executionArn, options.interval, Boolean(options.json))
            : (await loadExecution(context, executionArn)).view;
        } catch (error) {
          // A name that is no rotation's may be a fleet's: the stack's fleet machine is the rotation machine's sibling.
          const fleetMachine = isExecutionArn(execution)
            ? undefined
            : fleetMachineOfRotation(stateMachineOfExecution(executionArn));
          if ((error as { name?: string }).name !== 'ExecutionDoesNotExist' || !fleetMachine) throw error;
          try {
            return await showFleet(
              context,
              executionArnFor(fleetMachine, execution),
              options,
              childState(context),
            );
          } catch (fleetError) {
            throw (fleetError as { name?: string }).name === 'ExecutionDoesNotExist' ? error : fleetError;
          }
        }
        if (options.json) deps.stdout(`${JSON.stringify(statusDocument(context, view))}\n`);
        else if (!options.watch) {
          deps.stdout(
            renderStatus(view, consoleUrl(executionArn, context.region), context.next(executionArn)),
          );
        }
        return exitCodeOf(view);
      },
    ),
  );

  const history = program
    .command('history')
    .description('List past rotations from the evidence bucket, newest first.')
    .option('-d, --db <identifier>', 'only this DB instance or Aurora cluster')
    .option('-l, --limit <n>', 'at most this many rotations', positiveInteger('--limit'), 20)
    .option('-b, --bucket <name>', 'the evidence bucket; default: the stack’s EvidenceBucketName output');
  withConnection(history, false);
  usageExits(history, deps).action(
    action(deps, async (options: CommonOptions & { db?: string; limit: number; bucket?: string }) => {
      const context = contextFor(deps, options);
      const bucket =
        options.bucket ??
        (await stackOutput(
          context.clients.cloudformation,
          options.stack,
          context.region,
          'EvidenceBucketName',
        ));
      const rows = await readHistory(context.clients.s3, bucket, { db: options.db, limit: options.limit });
      if (options.json)
        deps.stdout(`${JSON.stringify({ bucket, db: options.db ?? null, rotations: rows })}\n`);
      else deps.stdout(renderHistory(rows, bucket, options.db));
      return 0;
    }),
  );

  const answer = async (
    decision: 'approve' | 'reject',
    execution: string,
    options: CommonOptions & { by?: string; reason?: string },
  ): Promise<number> => {
    const reason = options.reason?.trim();
    if (decision === 'reject' && !reason)
      throw new UsageError('--reason must say why the rotation is rejected.');
    const context = contextFor(deps, options, execution);
    let executionArn = await resolveExecution(context, execution);
    let loaded: Awaited<ReturnType<typeof loadExecution>>;
    try {
      loaded = await loadExecution(context, executionArn);
    } catch (error) {
      // A name that is no rotation's may be a fleet's (its gate is WaitForFleetApproval), as in status.
      const fleetMachine = isExecutionArn(execution)
        ? undefined
        : fleetMachineOfRotation(stateMachineOfExecution(executionArn));
      if ((error as { name?: string }).name !== 'ExecutionDoesNotExist' || !fleetMachine) throw error;
      executionArn = executionArnFor(fleetMachine, execution);
      loaded = await loadExecution(context, executionArn);
    }
    const { view, events } = loaded;
    const verb = decision === 'approve' ? 'approve' : 'reject';
    if (view.closed) {
      throw new OperatorError(
        `Execution ${view.name} is ${view.status}: there is nothing to ${verb}. See ${context.prefix} status ${executionArn}`,
      );
    }
    const request = findApprovalRequest(events);
    if (!view.waitingForApproval || !request) {
      throw new OperatorError(
        `Execution ${view.name} is not waiting for approval: it is at ${view.currentStep ?? 'its start'} (${view.status}). ` +
          `Nothing was sent. Follow it: ${context.next(executionArn).watch}`,
      );
    }
    const fleet = request.state === FLEET_APPROVAL_STATE;
    const by = options.by?.trim() || deps.user();
    const at = deps.now().toISOString();
    try {
      if (decision === 'approve') {
        await context.clients.sfn.send(
          new SendTaskSuccessCommand({
            taskToken: request.taskToken,
            output: JSON.stringify({ approvedBy: by, approvedAt: at }),
          }),
        );
      } else {
        await context.clients.sfn.send(
          new SendTaskFailureCommand({
            taskToken: request.taskToken,
            error: 'ApprovalRejected',
            // The JSON the rollback reads, so the failure cause names who rejected and why.
            cause: JSON.stringify({ reason: (reason ?? '').slice(0, 30000), rejectedBy: by, rejectedAt: at }),
          }),
        );
      }
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'TaskTimedOut' || name === 'InvalidToken' || name === 'TaskDoesNotExist') {
        throw new OperatorError(
          `The approval request of ${view.name} is no longer open (answered by someone else, or timed out): nothing was changed by this command. See ${context.next(executionArn).watch}`,
        );
      }
      throw error;
    }
    const watch = context.next(executionArn).watch;
    if (options.json) {
      deps.stdout(
        `${JSON.stringify({ executionArn, name: view.name, decision: decision === 'approve' ? 'approved' : 'rejected', by, at, reason: reason ?? null, next: { watch } })}\n`,
      );
    } else if (decision === 'approve') {
      const next = fleet ? "The fleet's rotations start (they do not ask again)." : 'The rotation continues.';
      deps.stdout(`Approved ${view.name} as ${by} at ${at}. ${next}\nFollow it: ${watch}\n`);
    } else {
      const next = fleet
        ? 'No rotation starts: the fleet records every database NOT_STARTED and fails with FleetApprovalNotGiven.'
        : 'The approval step fails with ApprovalRejected and the rotation rolls back.';
      deps.stdout(`Rejected ${view.name} as ${by} at ${at}: ${reason}\n${next}\nFollow it: ${watch}\n`);
    }
    return 0;
  };

  const approve = program
    .command('approve')
    .description('Approve a rotation that waits at its approval step (SendTaskSuccess).')
    .argument('<execution>', 'execution ARN, or execution name on the stack’s state machine')
    .option('--by <name>', 'who approves, as recorded in the execution (default: your OS user name)');
  withConnection(approve, true);
  usageExits(approve, deps).action(
    action(deps, (execution: string, options: CommonOptions & { by?: string }) =>
      answer('approve', execution, options),
    ),
  );

  const reject = program
    .command('reject')
    .description(
      'Reject a rotation that waits at its approval step (SendTaskFailure ApprovalRejected): it rolls back.',
    )
    .argument('<execution>', 'execution ARN, or execution name on the stack’s state machine')
    .requiredOption('--reason <text>', 'why: kept in the execution and its evidence')
    .option('--by <name>', 'who rejects, as recorded in the execution (default: your OS user name)');
  withConnection(reject, true);
  usageExits(reject, deps).action(
    action(deps, (execution: string, options: CommonOptions & { by?: string; reason: string }) =>
      answer('reject', execution, options),
    ),
  );

  return program;
};

/** A program with only the operator commands, for tests and embedding; output goes to `deps`. */
export const buildOperatorProgram = (deps: OperatorDeps = defaultDeps()): Command => {
  const program = new Command()
    .name('rekey')
    .configureOutput({ writeOut: (text) => deps.stdout(text), writeErr: (text) => deps.stderr(text) })
    .exitOverride((error) => {
      deps.exit(error.exitCode === 0 ? 0 : 2);
      throw error;
    });
  return registerOperatorCommands(program, deps);
};
