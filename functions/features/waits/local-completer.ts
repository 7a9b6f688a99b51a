/**
 * The local runner's stand-in for SendTaskSuccess (cli/runner.ts registers one per run; tokens.ts
 * calls it instead of Step Functions). Kept on globalThis, like features/evidence/local-history.ts,
 * so the runner and a handler module loaded by file URL share it. Imports nothing, so the runner
 * can load it without loading a step's logger before the CLI has set its log level.
 */
/** Completes a local token; false when nothing waits on it (stale). */
export type LocalCompleter = (taskToken: string, output: unknown) => boolean;

const REGISTRY = Symbol.for('rekey.localTaskCompleters');
const completers = (): Set<LocalCompleter> => {
  const holder = globalThis as { [REGISTRY]?: Set<LocalCompleter> };
  holder[REGISTRY] ??= new Set();
  return holder[REGISTRY];
};

/** A local run (and each of a fleet's child runs) registers one; the returned function removes it. */
export const registerLocalCompleter = (completer: LocalCompleter): (() => void) => {
  completers().add(completer);
  return () => {
    completers().delete(completer);
  };
};

export const localCompleters = (): LocalCompleter[] => [...completers()];
