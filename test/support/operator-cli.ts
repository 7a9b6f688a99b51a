import { readFileSync } from 'node:fs';
import type { DescribeExecutionCommandOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { createClients } from '../../cli/operator/aws.js';
import { buildOperatorProgram, type OperatorDeps } from '../../cli/operator/commands.js';

const fixturesDir = new URL('../fixtures/history/', import.meta.url);

export interface HistoryFixture {
  execution: DescribeExecutionCommandOutput;
  events: HistoryEvent[];
}

/** `test/fixtures/history/<name>.json`: a DescribeExecution answer and its history, dates as the SDK gives them. */
export const historyFixture = (name: string): HistoryFixture => {
  const raw = JSON.parse(readFileSync(new URL(`${name}.json`, fixturesDir), 'utf8')) as {
    execution: Record<string, unknown>;
    events: (Record<string, unknown> & { timestamp: string })[];
  };
  const execution = { ...raw.execution } as Record<string, unknown>;
  for (const field of ['startDate', 'stopDate']) {
    if (typeof execution[field] === 'string') execution[field] = new Date(execution[field] as string);
  }
  return {
    execution: execution as unknown as DescribeExecutionCommandOutput,
    events: raw.events.map((event) => ({ ...event, timestamp: new Date(event.timestamp) }) as HistoryEvent),
  };
};

class ExitSignal extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export interface CliResult {
  stdout: string;
  stderr: string;
  code: number;
  sleeps: number[];
}

/** Runs `rekey <argv>` in-process through commander, with the SDK clients aws-sdk-client-mock replaces. */
export const runCli = async (argv: string[], overrides: Partial<OperatorDeps> = {}): Promise<CliResult> => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const sleeps: number[] = [];
  let code = 0;
  const deps: OperatorDeps = {
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    isTTY: false,
    clients: createClients,
    now: () => new Date('2026-11-22T09:31:00.000Z'),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    setExitCode: (value) => {
      code = value;
    },
    exit: (value) => {
      throw new ExitSignal(value);
    },
    user: () => 'alice',
    hasApprovalGate: false,
    ...overrides,
  };
  try {
    await buildOperatorProgram(deps).parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof ExitSignal)) throw error;
    code = error.code;
  }
  return { stdout: stdout.join(''), stderr: stderr.join(''), code, sleeps };
};
