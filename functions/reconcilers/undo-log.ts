import {
  type LeftResource,
  type ObservedKey,
  type RollbackFact,
  renderFact,
  renderLeft,
  withFacts,
} from '#domain/facts.js';
import { nothingChangedCause } from '#domain/failure.js';
import type { Poll } from '#domain/limits.js';
import type { RollbackResult } from '#domain/results.js';
import type { RotationState } from '#domain/state.js';
import { logger } from '#runtime/logger.js';

/**
 * What a rollback has undone so far, as typed facts carried between its polls (`rollback.facts`),
 * and the results it returns: the words (`undone`, `leftBehind`) are always rendered from the
 * facts, never the other way round.
 */
export class UndoLog {
  #facts: RollbackFact[];
  readonly #state: RotationState;
  /** The unaliased-key search's cursor, carried to the next poll (see RollbackResult.keySearch). */
  keySearch: RollbackResult['keySearch'];

  constructor(state: RotationState) {
    this.#state = state;
    this.#facts = [...(state.rollback?.facts ?? [])];
    this.keySearch = state.rollback?.keySearch;
    this.#observed = [...(state.rollback?.observedKeys ?? [])];
  }

  #observed: ObservedKey[];

  /** Keys read off the new resources before they are removed (kept across polls, once each). */
  observe(...keys: ObservedKey[]): void {
    for (const key of keys) {
      if (
        !this.#observed.some(
          (known) => known.identifier === key.identifier && known.resource === key.resource,
        )
      )
        this.#observed.push(key);
    }
  }

  get facts(): readonly RollbackFact[] {
    return this.#facts;
  }

  note(...facts: RollbackFact[]): void {
    this.#facts = withFacts(this.#facts, facts);
  }

  /** Not done yet: the state machine waits `poll.waitSeconds`, then runs the rollback again. */
  waiting(poll: Poll | undefined): RollbackResult {
    return {
      done: false,
      poll,
      ...this.#words([]),
      cause: '',
      ...(this.keySearch && { keySearch: this.keySearch }),
    };
  }

  /**
   * Done: `cause` is built by the caller from `undone` and `leftBehind`, the words of the facts;
   * the failure is logged as `logAs`.
   */
  finish(
    left: LeftResource[],
    cause: (words: { undone: string[]; leftBehind: string[] }) => string,
    logAs: string,
  ): RollbackResult {
    const words = this.#words(left);
    logger.error(logAs, { failure: this.#state.failure, undone: words.undone, leftBehind: words.leftBehind });
    return { done: true, ...words, cause: cause(words) };
  }

  #words(left: LeftResource[]) {
    return {
      undone: this.#facts.map(renderFact),
      leftBehind: left.map(renderLeft),
      facts: this.#facts,
      left,
      ...(this.#observed.length > 0 && { observedKeys: this.#observed }),
    };
  }
}

/** The rollback of a rotation that changed nothing: preflight refused it, or another rotation held the lock. */
export const nothingChanged = (state: RotationState): RollbackResult => ({
  done: true,
  undone: [],
  leftBehind: [],
  facts: [],
  left: [],
  cause: nothingChangedCause(state.failure),
});
