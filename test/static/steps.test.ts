import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLL_LIMITS } from '#domain/limits.js';
import { STEPS, type StepName } from '#domain/steps.js';
import { functionHandlers, taskHandlers } from '../../cli/template.js';
import { type AslState, allStates, readAsl, root, template } from './helpers.js';

/**
 * The step table (functions/domain/steps.ts) is the one place that says which code runs each
 * Task state. Here it is checked against what really wires them: the ASL's Resource and
 * ResultPath, the template's DefinitionSubstitutions and Handler, the wait loops, and the sample
 * events. A state, function or sample added in one place and not the others fails here.
 */

const definition = readAsl('state-machines/rotate-database.asl.json');
const tasks = allStates(definition).filter(([, state]) => state.Type === 'Task');
const byState = new Map<string, AslState>(tasks);
const substitutions = taskHandlers(template, 'RotateInstanceStateMachine');
const functions = new Map(functionHandlers(template).map((fn) => [fn.logicalId, fn]));
const entries = Object.entries(STEPS) as [StepName, (typeof STEPS)[StepName]][];

/** `${XFunctionArn}`, whether the Task names the function as its Resource or as Parameters.FunctionName. */
const substitutionOf = (task: AslState): string | undefined => {
  const reference = task.Resource?.startsWith('${') ? task.Resource : task.Parameters?.FunctionName;
  return typeof reference === 'string' ? /^\$\{(\w+)\}$/.exec(reference)?.[1] : undefined;
};

/** Tasks that a Wait state leads back to: the Task of a Wait -> Task -> Choice -> Wait loop. */
const loopTasks = new Set(
  Object.values(definition.States)
    .filter((state) => state.Type === 'Wait' && definition.States[state.Next]?.Type === 'Task')
    .map((wait) => wait.Next as string),
);

describe('the step table (functions/domain/steps.ts)', () => {
  it('lists exactly the Task states of the state machine', () => {
    expect(tasks.length).toBeGreaterThan(20);
    expect(Object.keys(STEPS).sort()).toEqual(tasks.map(([name]) => name).sort());
  });

  it.each(entries)('%s runs the function and handler file the table names', (state, step) => {
    // Prepare
    const task = byState.get(state);
    const substitution = task ? substitutionOf(task) : undefined;

    // Assess: ASL -> substitution -> template function -> handler file.
    expect(substitution, `${state}: Resource or FunctionName must be \${${step.templateFunction}Arn}`).toBe(
      `${step.templateFunction}Arn`,
    );
    expect(substitutions[`${step.templateFunction}Arn`]?.logicalId).toBe(step.templateFunction);
    expect(functions.get(step.templateFunction)?.handlerFile).toBe(step.handler);
    expect(existsSync(`${root}${step.handler}`)).toBe(true);
  });

  it.each(entries)('%s writes its result where the table says', (state, step) => {
    const task = byState.get(state);
    expect(task?.ResultPath).toBe(step.resultSlot === null ? null : `$.${step.resultSlot}`);
  });

  it('names a poll cap for every wait loop, and only for those', () => {
    const withCap = entries.filter(([, step]) => step.pollLimit !== null).map(([state]) => state);
    expect([...loopTasks].sort()).toEqual(withCap.sort());
    for (const [state, step] of entries) {
      if (step.pollLimit !== null) expect(POLL_LIMITS, state).toHaveProperty(step.pollLimit);
    }
  });

  it('has a sample event for every handler, and no sample without a handler', () => {
    const samples = readdirSync(`${root}events/steps`)
      .filter((name) => name.endsWith('.json'))
      .map((name) => `events/steps/${name}`);
    // The fleet machine's steps are not rotation states; their samples sit beside the rotation's.
    const fleetSamples = [
      'plan-fleet',
      'request-fleet-approval',
      'start-fleet-database',
      'record-fleet-outcome',
      'finish-fleet',
      // The target of the rule on RDS events, not a state (docs/waits.md).
      'on-rds-event',
    ].map((name) => `events/steps/${name}.json`);
    const named = new Set([...entries.map(([, step]) => step.sampleEvent), ...fleetSamples]);
    expect(samples.sort()).toEqual([...named].sort());
  });

  it('covers every Lambda function of the template that the state machine runs', () => {
    const listed = new Set(entries.map(([, step]) => step.templateFunction));
    const wired = Object.values(substitutions).map((fn) => fn.logicalId);
    expect(wired.filter((id) => !listed.has(id))).toEqual([]);
  });
});
