import type { HistoryEventEvidence, StepEvidence } from './schema.js';

/** The record's steps, from the execution's history events. Pure. */

const INVOCATION = /^(LambdaFunction|Task)Scheduled$/;
const INVOCATION_SUCCEEDED = /^(LambdaFunction|Task)Succeeded$/;
const INVOCATION_FAILED = /^(LambdaFunction|Task)(Failed|TimedOut|StartFailed|ScheduleFailed|SubmitFailed)$/;

/**
 * One entry per Task state, in the order first entered: from its first entry to its last exit
 * (waits included), the invocations (polls and retries), and the seconds its loop's Wait states
 * slept. A Wait state counts for the Task entered last before it (the loops are Task -> Choice ->
 * Wait -> Task). Events after the last exit of a Task that failed are what its Catch did.
 * An event-driven wait (`Await<Step>`, a waitForTaskToken Task, docs/waits.md) counts like a Wait
 * for <Step>: its time is waited time, and its timeout is the polling fallback, not a failure.
 */
const EVENT_WAIT = /^Await([A-Z]\w*)$/;

export const deriveSteps = (events: HistoryEventEvidence[]): StepEvidence[] => {
  interface Acc {
    step: StepEvidence;
    open: boolean;
    lastInvocation: 'succeeded' | 'failed' | 'none';
  }
  const steps = new Map<string, Acc>();
  let currentTask: string | null = null;
  const waitEntered = new Map<string, number>();
  const time = (event: HistoryEventEvidence) => Date.parse(event.timestamp);

  let eventWait: { name: string; check: string; enteredAt: number } | null = null;
  const endEventWait = (event: HistoryEventEvidence) => {
    const acc = eventWait ? steps.get(eventWait.check) : undefined;
    if (eventWait && acc) acc.step.waitedSeconds += Math.max(0, (time(event) - eventWait.enteredAt) / 1000);
    eventWait = null;
  };

  for (const event of events) {
    const name = event.stateName;
    if (eventWait) {
      const ends =
        event.type.endsWith('StateEntered') || (event.type === 'TaskStateExited' && name === eventWait.name);
      if (!ends) continue;
      endEventWait(event);
      if (event.type === 'TaskStateExited') continue;
    }
    const awaited: string | undefined = name ? EVENT_WAIT.exec(name)?.[1] : undefined;
    if (event.type === 'TaskStateEntered' && name && awaited && steps.has(awaited)) {
      eventWait = { name, check: awaited, enteredAt: time(event) };
      continue;
    }
    if (event.type === 'TaskStateEntered' && name) {
      currentTask = name;
      const acc = steps.get(name);
      if (!acc) {
        steps.set(name, {
          step: {
            name,
            startedAt: event.timestamp,
            finishedAt: null,
            durationMs: null,
            invocations: 0,
            waitedSeconds: 0,
            outcome: 'running',
          },
          open: true,
          lastInvocation: 'none',
        });
      } else {
        acc.open = true;
      }
      continue;
    }
    const acc = currentTask ? steps.get(currentTask) : undefined;
    if (INVOCATION.test(event.type) && acc) {
      acc.step.invocations += 1;
    } else if (INVOCATION_SUCCEEDED.test(event.type) && acc) {
      acc.lastInvocation = 'succeeded';
    } else if (INVOCATION_FAILED.test(event.type) && acc) {
      acc.lastInvocation = 'failed';
      // Until a retry schedules it again or the Catch moves on, the step ended here.
      acc.step.finishedAt = event.timestamp;
      acc.step.outcome = 'failed';
    } else if (event.type === 'TaskStateExited' && name && steps.has(name)) {
      const exited = steps.get(name) as Acc;
      exited.open = false;
      exited.step.finishedAt = event.timestamp;
      exited.step.outcome = exited.lastInvocation === 'failed' ? 'failed' : 'succeeded';
    } else if (event.type === 'WaitStateEntered' && name) {
      waitEntered.set(name, time(event));
    } else if (event.type === 'WaitStateExited' && name && acc) {
      const entered = waitEntered.get(name);
      if (entered !== undefined) acc.step.waitedSeconds += Math.max(0, (time(event) - entered) / 1000);
      waitEntered.delete(name);
    }
  }

  return [...steps.values()].map(({ step, open, lastInvocation }) => {
    const outcome: StepEvidence['outcome'] =
      lastInvocation === 'failed' ? 'failed' : open ? 'running' : step.outcome;
    const finishedAt = outcome === 'running' ? null : step.finishedAt;
    return {
      ...step,
      outcome,
      finishedAt,
      durationMs: finishedAt ? Date.parse(finishedAt) - Date.parse(step.startedAt) : null,
      waitedSeconds: Math.round(step.waitedSeconds * 1000) / 1000,
    };
  });
};
