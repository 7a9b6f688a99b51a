import { getJson, readPlan } from './documents-read.js';
import { putJson } from './documents-write.js';
import { fitOutput } from './payloads.js';
import type { FleetPlanSummary } from './plan-step.js';
import { outcomeKey, recordKey } from './store.js';
import type { DatabaseOutcome, DatabaseStatus, FleetOutput } from './types.js';

const skipped = (
  id: string,
  kind: DatabaseOutcome['kind'],
  oldKeyArn: string | null,
  blockers: string[],
) => ({
  id,
  kind,
  status: 'SKIPPED' as const,
  rotationId: null,
  executionArn: null,
  startedAt: null,
  finishedAt: null,
  oldKeyArn,
  newKeyArn: null,
  evidenceUri: null,
  error: 'Ineligible',
  cause: blockers.join(' '),
});

/**
 * FinishFleet: the fleet output from the plan and the outcomes, written as the fleet evidence record
 * `fleets/<fleetId>/record.json`. When the output would pass the execution output limit, it keeps
 * the counts and every database that did not succeed, and points to the record for the rest.
 */
export const finishFleet = async (summary: FleetPlanSummary): Promise<FleetOutput> => {
  const plan = await readPlan(summary.fleetId);
  const databases: DatabaseOutcome[] = [];
  for (const planned of plan.databases) {
    if (!planned.eligible) {
      databases.push(skipped(planned.id, planned.kind, planned.oldKeyArn, planned.blockers));
      continue;
    }
    const outcome = await getJson<DatabaseOutcome>(outcomeKey(summary.fleetId, planned.id));
    databases.push(
      outcome ?? {
        ...skipped(planned.id, planned.kind, planned.oldKeyArn, []),
        status: 'NOT_STARTED',
        error: 'NotStarted',
        cause: 'the fleet ended before this database was started.',
      },
    );
  }
  const counts: Record<DatabaseStatus, number> = { SUCCEEDED: 0, FAILED: 0, SKIPPED: 0, NOT_STARTED: 0 };
  for (const database of databases) counts[database.status] += 1;
  const refused = plan.onIneligible === 'fail' ? databases.filter((d) => d.status === 'SKIPPED') : [];
  const left = databases.filter((d) => d.status === 'FAILED' || d.status === 'NOT_STARTED');
  const succeeded = left.length === 0 && refused.length === 0;
  const describe = (list: DatabaseOutcome[]) => list.map((d) => `${d.id} (${d.status})`).join(', ');
  const reason = succeeded
    ? `${counts.SUCCEEDED} database(s) rotated, ${counts.SKIPPED} skipped.`
    : [
        left.length ? `${left.length} database(s) not rotated: ${describe(left)}.` : '',
        refused.length
          ? `onIneligible is "fail" and ${refused.length} database(s) were refused: ${describe(refused)}.`
          : '',
      ]
        .filter(Boolean)
        .join(' ');
  const output: FleetOutput = {
    fleetId: summary.fleetId,
    status: succeeded ? 'SUCCEEDED' : 'FAILED',
    reason,
    requestedBy: summary.requestedBy ?? null,
    startedAt: summary.startedAt,
    finishedAt: new Date().toISOString(),
    maxConcurrency: plan.maxConcurrency,
    maxFailures: plan.maxFailures,
    onIneligible: plan.onIneligible,
    counts,
    databases,
    warnings: [
      ...plan.notes,
      ...databases
        .filter((d) => d.status === 'SKIPPED')
        .map((d) => `${d.id} was skipped, not rotated: ${d.cause ?? 'it cannot be rotated'}`),
    ],
    evidenceUri: null,
  };
  const evidenceUri = await putJson(recordKey(summary.fleetId), { ...output, planUri: summary.planUri });
  const { complete: _complete, ...fitted } = fitOutput({ ...output, evidenceUri });
  return fitted;
};
