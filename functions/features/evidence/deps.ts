import { type EvidenceClients, getEvidenceClients } from '#aws/evidence-clients.js';

/** What the evidence collector depends on (clients, clock, sleep and its budgets), replaceable in tests. */

export interface RecordEvidenceDeps {
  clients: () => EvidenceClients;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  /** Wall-clock budget for all CloudTrail lookups (the Lambda has 300 s; S3 and KMS need a few). */
  cloudTrailBudgetMs: number;
  /** Pages of 50 events per resource name (LookupEvents' maximum page size). */
  maxPagesPerResource: number;
  /** Attempts of one LookupEvents call that is throttled (exponential backoff from 1 s, full jitter). */
  maxThrottledAttempts: number;
}

export const defaultDeps: RecordEvidenceDeps = {
  clients: getEvidenceClients,
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  cloudTrailBudgetMs: 180_000,
  maxPagesPerResource: 10,
  maxThrottledAttempts: 6,
};

/** An AWS error in one line for the record: name, HTTP status and message. */
export const describeError = (error: unknown): string => {
  const e = error as Error & { $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}`.slice(0, 500);
};
