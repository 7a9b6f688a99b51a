import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { InstanceState } from '#domain/state.js';
import type { CreateKeyInput } from '#features/keys/create-key.js';
import type { CheckStartInput } from '#features/lock/check-start.js';
import type { PreflightInput } from '#targets/ops.js';

const eventsDir = fileURLToPath(new URL('../../events/', import.meta.url));

/** A fresh copy of `events/steps/<name>.json`: the execution state a step receives (also used by `sam local invoke`). */
export const stepEvent = (name: string): InstanceState =>
  JSON.parse(readFileSync(`${eventsDir}steps/${name}.json`, 'utf8')) as InstanceState;

/** A fresh copy of `events/steps/create-key.json`: the state and `$$.State.RetryCount`, as the state machine passes them. */
export const createKeyEvent = (): CreateKeyInput & { state: InstanceState } =>
  JSON.parse(readFileSync(`${eventsDir}steps/create-key.json`, 'utf8')) as CreateKeyInput & {
    state: InstanceState;
  };

/** A fresh copy of `events/steps/preflight.json`: what the state machine passes to Preflight. */
export const preflightEvent = (): PreflightInput =>
  JSON.parse(readFileSync(`${eventsDir}steps/preflight.json`, 'utf8')) as PreflightInput;

/** A fresh copy of `events/steps/check-start.json`: what the state machine passes to CheckStart. */
export const checkStartEvent = (): CheckStartInput =>
  JSON.parse(readFileSync(`${eventsDir}steps/check-start.json`, 'utf8')) as CheckStartInput;

/** A fresh copy of an execution input in `events/`. */
export const executionInput = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`${eventsDir}${name}.json`, 'utf8')) as Record<string, unknown>;
