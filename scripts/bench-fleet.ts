/**
 * `npm run bench:fleet`: the fleet's scale figures (docs/fleet.md#scale).
 *
 * 1. Planning, measured: seeds DATABASES encrypted DB instances (two per customer-managed key,
 *    tagged for rotation) on the embedded moto_server, runs the real planner once, and prints how
 *    long it took and how many AWS calls it made, in all and per database, by operation.
 * 2. The fleet machine at DESIGN_DATABASES, computed: the size of every payload that crosses a
 *    state (the planning step's result, one Map item, the Map's result, the fleet output) from
 *    the same code the steps use, with identifiers and ARNs at their longest; and the history
 *    events of one Distributed Map child, from the ASL, for the largest shared-key group.
 *
 * Moto answers in milliseconds, so the planning time says little about AWS; the call counts are
 * what carries over (RDS and KMS answer the same pages). The last stdout line is one JSON object.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand } from '@aws-sdk/client-rds';
import { getClients } from '#aws/clients.js';
import { parseFleetInput } from '#features/fleet/input.js';
import { fleetPayloads, MAX_PAYLOAD_BYTES } from '#features/fleet/payloads.js';
import { planFleet } from '#features/fleet/plan.js';
import { startEmulator, useEndpoint } from '../cli/emulator.js';

const DATABASES = Number(process.env.BENCH_FLEET_DATABASES ?? 200);
const DESIGN_DATABASES = 1_000;
const HISTORY_EVENT_LIMIT = 25_000;

const say = (line = '') => process.stdout.write(`${line}\n`);
const root = fileURLToPath(new URL('../', import.meta.url));

process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const seed = async (count: number) => {
  const { kms, rds } = getClients();
  for (let i = 0; i < count; i += 2) {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: `bench key ${i / 2}` }));
    for (const j of [i, i + 1].filter((n) => n < count)) {
      await rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: `bench-db-${String(j).padStart(4, '0')}`,
          DBInstanceClass: 'db.t3.micro',
          Engine: 'postgres',
          AllocatedStorage: 20 + (j % 50) * 10,
          MasterUsername: 'bench',
          MasterUserPassword: 'bench-password-1',
          StorageEncrypted: true,
          KmsKeyId: KeyMetadata?.Arn,
          Tags: [
            { Key: 'rekey:rotate', Value: 'annual' },
            { Key: 'rekey:cutover', Value: 'none' },
          ],
        }),
      );
    }
  }
};

/** Events of one pass through `states` from StartAt on the success path (a Map counts its items). */
interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string }[];
  ItemProcessor?: { StartAt: string; States: Record<string, AslState> };
}

/**
 * Step Functions' history events per state type on success: a Task is Entered, Scheduled,
 * Started, Succeeded, Exited (a .sync task adds Submitted); a Pass or Choice is Entered and Exited;
 * an inline Map adds MapStateStarted/Succeeded and per iteration Started/Succeeded.
 */
const eventsOfPath = (
  graph: { StartAt: string; States: Record<string, AslState> },
  itemsPerInlineMap: number,
): number => {
  let events = 0;
  let name: string | undefined = graph.StartAt;
  const seen = new Set<string>();
  while (name && !seen.has(name)) {
    seen.add(name);
    const state: AslState | undefined = graph.States[name];
    if (!state) break;
    if (state.Type === 'Task') events += 6;
    else if (state.Type === 'Map' && state.ItemProcessor) {
      events += 4 + itemsPerInlineMap * (2 + eventsOfPath(state.ItemProcessor, 1));
    } else events += 2;
    name = state.End ? undefined : (state.Next ?? state.Default ?? state.Choices?.[0]?.Next);
  }
  return events;
};

const distributedChild = () => {
  const asl = JSON.parse(readFileSync(`${root}state-machines/rotate-fleet.asl.json`, 'utf8')) as {
    States: Record<string, AslState & { ItemProcessor?: { ProcessorConfig?: { Mode?: string } } }>;
  };
  const map = Object.values(asl.States).find(
    (state) => state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED',
  );
  if (!map?.ItemProcessor) throw new Error('rotate-fleet.asl.json has no Distributed Map');
  return map.ItemProcessor;
};

const main = async () => {
  process.stderr.write(`Starting moto_server and seeding ${DATABASES} encrypted DB instances...\n`);
  const emulator = await startEmulator();
  try {
    useEndpoint(emulator.endpoint);
    const seeded = Date.now();
    await seed(DATABASES);
    const seedSeconds = (Date.now() - seeded) / 1000;
    const input = parseFleetInput({
      fleet: { select: { tags: { 'rekey:rotate': 'annual' } }, maxConcurrency: 5 },
      defaults: { strategy: 'snapshot' },
      reason: 'bench',
    });
    const began = Date.now();
    const plan = await planFleet(input, { fleetId: 'bench-fleet' });
    const planSeconds = (Date.now() - began) / 1000;
    const totalCalls = Object.values(plan.calls).reduce((sum, n) => sum + n, 0);
    const eligible = plan.databases.filter((db) => db.eligible).length;

    const payloads = fleetPayloads(DESIGN_DATABASES);
    const child = distributedChild();
    const largestGroup = Math.max(...plan.groups.map((group) => group.ids.length));
    const perDatabaseEvents = eventsOfPath(child, 1);
    const childEvents = eventsOfPath(child, largestGroup);
    const groupCapacity = Math.floor(HISTORY_EVENT_LIMIT / perDatabaseEvents);

    say(`Planning ${DATABASES} databases on moto_server (seeded in ${seedSeconds.toFixed(1)} s)`);
    say(`  selected ${plan.databases.length}, eligible ${eligible}, groups ${plan.groups.length}`);
    say(`  time              ${planSeconds.toFixed(2)} s`);
    say(`  AWS calls         ${totalCalls} (${(totalCalls / DATABASES).toFixed(2)} per database)`);
    for (const [operation, count] of Object.entries(plan.calls).sort(([a], [b]) => a.localeCompare(b))) {
      say(`    ${operation.padEnd(40)} ${String(count).padStart(5)}`);
    }
    say();
    say(`The fleet machine at ${DESIGN_DATABASES} databases (payload limit ${MAX_PAYLOAD_BYTES} bytes)`);
    for (const [name, bytes] of Object.entries(payloads.bytes)) {
      say(
        `  ${name.padEnd(28)} ${String(bytes).padStart(8)} bytes${bytes > MAX_PAYLOAD_BYTES ? '  OVER' : ''}`,
      );
    }
    say(
      `  fleet output lists every database in full: ${payloads.outputComplete ? 'yes' : 'no, see the record'}`,
    );
    say(
      `  child history: ${perDatabaseEvents} events per database, ${childEvents} for the largest group (${largestGroup}); ` +
        `a group of up to ${groupCapacity} databases fits the ${HISTORY_EVENT_LIMIT}-event limit`,
    );
    const figures = {
      planning: {
        databases: DATABASES,
        selected: plan.databases.length,
        eligible,
        seconds: planSeconds,
        awsCalls: totalCalls,
        awsCallsPerDatabase: totalCalls / DATABASES,
        calls: plan.calls,
      },
      design: {
        databases: DESIGN_DATABASES,
        payloadLimitBytes: MAX_PAYLOAD_BYTES,
        payloadBytes: payloads.bytes,
        outputComplete: payloads.outputComplete,
        childHistoryEventsPerDatabase: perDatabaseEvents,
        largestGroupSeeded: largestGroup,
        maxDatabasesPerSharedKeyGroup: groupCapacity,
      },
    };
    say(JSON.stringify(figures));
    const over = Object.values(payloads.bytes).some((bytes) => bytes > MAX_PAYLOAD_BYTES);
    return over ? 1 : 0;
  } finally {
    await emulator.stop();
  }
};

process.exitCode = await main();
