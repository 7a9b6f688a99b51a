import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { consoleUrl, type OperatorClients, stackOutput } from './aws.js';
import type { OutcomeCache } from './fleet-load.js';
import { type FleetView, type FleetViewInputs, loadFleetView } from './fleet-view.js';
import { formatDuration } from './render.js';

/** What of commands.ts's OperatorContext the fleet status uses (it is passed in, not imported: no cycle). */
export interface FleetCommandContext {
  readonly clients: OperatorClients;
  readonly region: string;
  readonly deps: {
    stdout(text: string): void;
    stderr(text: string): void;
    isTTY: boolean;
    now(): Date;
    sleep(ms: number): Promise<void>;
  };
  readonly options: { stack: string; stateMachineArn?: string };
  readonly prefix: string;
  next(executionArn: string): { watch: string; approve: string; reject: string };
}

export interface FleetStatusFlags {
  stack: string;
  json?: boolean;
  watch?: boolean;
  interval: number;
  bucket?: string;
}

/**
 * `rekey status` of a fleet execution (docs/fleet.md#following-a-fleet), once or with --watch:
 * the text, the --json document and the exit code (1 once it ended other than SUCCEEDED).
 */

/** Reads a fleet execution (DescribeExecution), its plan and outcomes, and its children in flight. */
const loadFleet = async (
  context: FleetCommandContext,
  executionArn: string,
  bucket: string,
  outcomeCache: OutcomeCache,
  childState: FleetViewInputs['childState'],
): Promise<FleetView> => {
  const described = await context.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
  return loadFleetView({
    clients: context.clients,
    executionArn,
    described,
    bucket,
    ...(context.options.stateMachineArn ? { rotationMachineArn: context.options.stateMachineArn } : {}),
    now: context.deps.now(),
    outcomeCache,
    childState,
  });
};

const fleetText = (context: FleetCommandContext, view: FleetView): string =>
  `${view.text}\nConsole    ${consoleUrl(view.executionArn, context.region)}\n` +
  (view.closed
    ? `Report:    ${context.prefix} report ${view.executionArn}\n`
    : `${view.waitingForApproval ? `Approve:   ${context.next(view.executionArn).approve}\nReject:    ${context.next(view.executionArn).reject}\n` : ''}Follow it: ${context.next(view.executionArn).watch}\n`);

const fleetDocument = (context: FleetCommandContext, view: FleetView) => {
  const { text: _text, ...rest } = view;
  return {
    ...rest,
    consoleUrl: consoleUrl(view.executionArn, context.region),
    next: view.closed
      ? { report: `${context.prefix} report ${view.executionArn}` }
      : view.waitingForApproval
        ? (({ watch, approve, reject }) => ({ watch, approve, reject }))(context.next(view.executionArn))
        : { watch: context.next(view.executionArn).watch },
  };
};

/** `rekey status <fleet execution>`, once or (--watch) until it ends: a line, or a redraw, per change. */
export const showFleet = async (
  context: FleetCommandContext,
  executionArn: string,
  options: FleetStatusFlags,
  childState: FleetViewInputs['childState'],
): Promise<number> => {
  const { deps } = context;
  const bucket =
    options.bucket ??
    (await stackOutput(context.clients.cloudformation, options.stack, context.region, 'EvidenceBucketName'));
  const cache: OutcomeCache = new Map();
  let last = '';
  let failures = 0;
  for (;;) {
    let view: FleetView;
    try {
      view = await loadFleet(context, executionArn, bucket, cache, childState);
      failures = 0;
    } catch (error) {
      // A watch survives a few failed polls, as a rotation's does; a single status does not retry.
      failures += 1;
      if (!options.watch || failures >= 3 || (error as { name?: string }).name === 'ExecutionDoesNotExist')
        throw error;
      deps.stderr(
        `Could not read the fleet (${(error as Error).message}); trying again in ${options.interval}s.\n`,
      );
      await deps.sleep(options.interval * 1000);
      continue;
    }
    if (!options.watch || view.closed) {
      // After watching: a terminal's screen is redrawn a last time; a log gets the final view below its lines.
      const before = !options.watch ? '' : deps.isTTY ? '\x1b[2J\x1b[H' : '\n';
      if (options.json) deps.stdout(`${JSON.stringify(fleetDocument(context, view))}\n`);
      else deps.stdout(`${before}${fleetText(context, view)}`);
      return view.closed && view.status !== 'SUCCEEDED' ? 1 : 0;
    }
    const change = JSON.stringify([view.status, view.databases]);
    if (change !== last) {
      const counts = Object.entries(view.counts)
        .map(([status, n]) => `${n} ${status}`)
        .join(', ');
      const line = `${deps.now().toISOString().slice(11, 19)}  ${view.status}  ${counts || 'planning'}  ${formatDuration(view.elapsedMs)}\n`;
      if (options.json) deps.stderr(line);
      else if (deps.isTTY)
        deps.stdout(
          `\x1b[2J\x1b[H${fleetText(context, view)}\nWatching: refreshed ${deps.now().toISOString()}, every ${options.interval}s. Ctrl-C stops watching, not the fleet.\n`,
        );
      else deps.stdout(line);
    }
    last = change;
    await deps.sleep(options.interval * 1000);
  }
};
