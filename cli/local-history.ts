import type { HistoryEventEvidence } from '#features/evidence/schema.js';

/**
 * aws-local-stepfunctions reports state events (StateEntered, StateExited, StateFailed, ...), not
 * Step Functions history events. This gives them Step Functions' names, so the evidence record of
 * a local run has the same shape as a deployed one: a Task's entry is TaskStateEntered followed by
 * LambdaFunctionScheduled, a retry is another LambdaFunctionScheduled, a failure
 * LambdaFunctionFailed, a Wait's entry WaitStateEntered, and so on.
 */
export interface LocalEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string };
  Error?: string;
  Cause?: unknown;
}

export const historyFromLocalEvents = (events: readonly LocalEvent[]): HistoryEventEvidence[] => {
  const history: HistoryEventEvidence[] = [];
  const push = (event: LocalEvent, type: string, detail: string | null = null) =>
    history.push({
      id: history.length + 1,
      timestamp: new Date(event.timestamp).toISOString(),
      type,
      stateName: event.state?.name ?? null,
      detail,
    });
  const failure = (event: LocalEvent) =>
    [event.Error, typeof event.Cause === 'string' ? event.Cause : JSON.stringify(event.Cause ?? '')]
      .filter(Boolean)
      .join(': ');
  // A caught failure is followed by StateExited: the invocation failed all the same.
  const caught = new Set<string>();
  for (const event of events) {
    const stateType = event.state?.type;
    switch (event.type) {
      case 'ExecutionStarted':
      case 'ExecutionSucceeded':
        push(event, event.type);
        break;
      case 'ExecutionFailed':
        push(event, 'ExecutionFailed', failure(event));
        break;
      case 'ExecutionTerminated':
        push(event, 'ExecutionAborted');
        break;
      case 'StateEntered':
        push(event, `${stateType}StateEntered`);
        if (stateType === 'Task') push(event, 'LambdaFunctionScheduled');
        break;
      case 'StateCaught':
        if (event.state) caught.add(event.state.name);
        break;
      case 'StateExited':
        if (stateType === 'Task' && !caught.delete(event.state?.name ?? ''))
          push(event, 'LambdaFunctionSucceeded');
        push(event, `${stateType}StateExited`);
        break;
      case 'StateFailed':
        if (stateType === 'Task') push(event, 'LambdaFunctionFailed', failure(event));
        break;
      case 'StateRetried':
        push(event, 'LambdaFunctionScheduled');
        break;
      default:
        break;
    }
  }
  return history;
};
