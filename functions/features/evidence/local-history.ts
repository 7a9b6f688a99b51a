import type { HistoryEventEvidence } from './schema.js';

/**
 * The local runner (cli/runner.ts, aws-local-stepfunctions) has no GetExecutionHistory: it
 * registers the events it observes here, by execution ARN, and RecordEvidence reads them instead.
 * Kept on globalThis so the runner and a handler module loaded by file URL share one registry.
 * Never set in Lambda: there RecordEvidence reads the real history.
 */
type Provider = () => Promise<HistoryEventEvidence[]>;

const REGISTRY = Symbol.for('rekey.localExecutionHistory');
const registry = (): Map<string, Provider> => {
  const holder = globalThis as { [REGISTRY]?: Map<string, Provider> };
  holder[REGISTRY] ??= new Map();
  return holder[REGISTRY];
};

export const registerLocalHistory = (executionArn: string, provider: Provider): (() => void) => {
  registry().set(executionArn, provider);
  return () => {
    registry().delete(executionArn);
  };
};

export const localHistoryFor = (executionArn: string): Provider | undefined => registry().get(executionArn);
