import type { Route53Client } from '@aws-sdk/client-route-53';
import { newRoute53Client } from '#aws/clients.js';
import { planCname } from '#aws/cname-preflight.js';
import { PreconditionFailedError } from '#domain/errors.js';
import type { RotationInput } from '#domain/input.js';
import type { CallCounts, DiscoveredDatabase } from './discover.js';

type CnameCutover = Extract<RotationInput['cutover'], { type: 'cname' }>;

/** A Route 53 client of the plan's own that counts each call in `calls` as `route53:<Operation>`. */
export const countedRoute53 = (calls: CallCounts): Route53Client => {
  const route53 = newRoute53Client();
  route53.middlewareStack.add(
    (next, context) => async (args) => {
      const name = `route53:${String(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      calls[name] = (calls[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'rekeyFleetPlanRoute53Calls' },
  );
  return route53;
};

/**
 * The CNAME checks of preflight, read-only, for the plan: the record exists, is one simple CNAME
 * and points at the database's endpoint (the writer record at the writer endpoint, an Aurora
 * reader record at the reader endpoint). Each refusal preflight would give is returned as a
 * blocker; any other error (throttling, access denied) fails the plan, as it would fail preflight.
 * Route 53 answers 5 requests a second per account, so the databases are checked one at a time.
 */
export const recordBlockers = async (
  route53: Route53Client,
  db: Pick<DiscoveredDatabase, 'id' | 'instance' | 'cluster'>,
  cutover: CnameCutover,
): Promise<string[]> => {
  const writerEndpoint = db.instance?.Endpoint?.Address ?? db.cluster?.Endpoint;
  if (!writerEndpoint) {
    return [`${db.id} reports no endpoint, so its CNAME cannot be checked: plan again once it is available.`];
  }
  const blockers: string[] = [];
  const check = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      blockers.push(error.message);
    }
  };
  await check(() => planCname(route53, cutover, writerEndpoint));
  if (cutover.readerRecordName) {
    const readerEndpoint = db.cluster?.ReaderEndpoint;
    if (!readerEndpoint) {
      blockers.push(
        `cutover.readerRecordName: ${db.id} reports no reader endpoint, so there is nothing to move the reader record to.`,
      );
    } else {
      const reader = {
        hostedZoneId: cutover.hostedZoneId,
        recordName: cutover.readerRecordName,
        ttl: cutover.ttl,
      };
      await check(() => planCname(route53, reader, readerEndpoint, 'cutover.readerRecordName'));
    }
  }
  return blockers;
};
