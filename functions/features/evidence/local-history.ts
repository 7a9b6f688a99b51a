import type { LocalRun } from './context.js';
import type { HistoryEventEvidence } from './schema.js';

/**
 * The local runner (cli/runner.ts, aws-local-stepfunctions) has no GetExecutionHistory: it
 * registers the events it observes here, by execution ARN, and RecordEvidence reads them instead,
 * with where the run happened (an emulator's endpoint, or AWS and who ran it). Kept on globalThis
 * so the runner and a handler module loaded by file URL share one registry. Never set in Lambda:
 * there RecordEvidence reads the real history, and CloudTrail says who started the execution.
 */
type Provider = () => Promise<HistoryEventEvidence[]>;

interface Registered {
  history: Provider;
  run: LocalRun;
}

const REGISTRY = Symbol.for('rekey.localExecutionHistory');
const registry = (): Map<string, Registered> => {
  const holder = globalThis as { [REGISTRY]?: Map<string, Registered> };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
};

export const registerLocalHistory = (
  executionArn: string,
  provider: Provider,
  run: LocalRun = { endpoint: null, caller: null },
): (() => void) => {
  registry().set(executionArn, { history: provider, run });
  return () => {
    registry().delete(executionArn);
  };
};

export const localHistoryFor = (executionArn: string): Provider | undefined =>
  registry().get(executionArn)?.history;

/** The local run of this execution, or undefined when it ran in Step Functions. */
export const localRunFor = (executionArn: string): LocalRun | undefined => registry().get(executionArn)?.run;
