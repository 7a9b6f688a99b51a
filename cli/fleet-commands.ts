import type { Command } from 'commander';
import { InvalidInputError } from '#domain/errors.js';
import { parseRotationInput } from '#domain/input.js';
import { isFleetInput, parseFleetInput } from '#features/fleet/input.js';
import { type InventoryRow, inventory, planFleet, planSingleInput } from '#features/fleet/plan.js';
import type { FleetPlan } from '#features/fleet/types.js';
import { type ConnectionFlags, resolveConnection } from './connection.js';
import { useEndpoint } from './emulator.js';
import { debugDetail, EXIT, exitCodeOf, explain, UsageError } from './errors.js';
import { readJsonInput } from './input-file.js';

/**
 * `rekey inventory` and `rekey plan`: the read-only fleet commands (docs/fleet.md). Both only list
 * and describe; neither changes anything in AWS.
 */

export interface FleetCommandDeps {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now: () => Date;
}

const defaultDeps = (): FleetCommandDeps => ({
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  now: () => new Date(),
});

const connect = async (flags: ConnectionFlags): Promise<void> => {
  const connection = await resolveConnection(flags);
  if (connection.endpoint) useEndpoint(connection.endpoint, connection.region);
  else {
    process.env.AWS_REGION = connection.region;
    if (connection.profile) process.env.AWS_PROFILE = connection.profile;
  }
};

const withConnection = (command: Command): Command =>
  command
    .option(
      '-e, --endpoint <url>',
      'AWS API endpoint, e.g. http://127.0.0.1:5000 for moto_server; default: AWS',
    )
    .option(
      '-r, --region <region>',
      'AWS Region (default: AWS_REGION, the profile’s region, AWS_DEFAULT_REGION)',
    )
    .option('-p, --profile <name>', 'AWS profile for credentials and Region (default: AWS_PROFILE)')
    .option('--json', 'print one JSON line instead of the table')
    .option('-v, --verbose', 'print stack traces of errors');

const guarded =
  <O extends { verbose?: boolean }>(
    name: string,
    deps: FleetCommandDeps,
    body: (options: O) => Promise<number>,
  ) =>
  async (options: O): Promise<void> => {
    if (!options.verbose) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    try {
      process.exitCode = await body(options);
    } catch (raw) {
      const error = explain(raw, { endpoint: process.env.AWS_ENDPOINT_URL });
      deps.stderr(`rekey ${name}: ${error.message}\n${debugDetail(raw, Boolean(options.verbose))}`);
      process.exitCode = exitCodeOf(error);
    }
  };

const nonNegativeInteger = (flag: string) => (value: string) => {
  if (!/^\d+$/.test(value))
    throw new UsageError(`${flag} must be a whole number of days, e.g. 365 (given: "${value}").`);
  return Number(value);
};

/** A fixed-width table: one line per row, columns padded to their widest cell. */
export const table = (header: string[], rows: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
};

export const renderInventory = (rows: InventoryRow[], olderThanDays: number): string =>
  table(
    [
      'IDENTIFIER',
      'KIND',
      'ENGINE',
      'ENCRYPTED',
      'KEY',
      'MANAGER',
      'KEY AGE (DAYS)',
      'LAST ROTATION',
      `DUE (>= ${olderThanDays} d)`,
    ],
    rows.map((r) => [
      r.identifier,
      r.kind,
      r.engine,
      r.encrypted ? 'yes' : 'no',
      r.keyAlias ?? r.keyArn ?? '-',
      r.keyManager ?? '-',
      r.keyAgeDays === null ? '-' : String(r.keyAgeDays),
      r.lastRotation?.startedAt ?? '-',
      r.due ? 'DUE' : r.keyAgeDays === null ? '-' : 'no',
    ]),
  );

export const renderPlan = (plan: FleetPlan): string => {
  const rows = plan.databases.map((d) => [
    d.id,
    d.kind,
    d.eligible ? 'yes' : 'NO',
    d.strategy ?? '-',
    d.cutover ?? '-',
    d.order.of > 0 ? `${d.order.position}/${d.order.of}` : '-',
    d.estimatedWriterDowntimeSeconds === null ? '-' : `${d.estimatedWriterDowntimeSeconds} s`,
    d.oldKeyArn ?? '-',
  ]);
  const details = plan.databases
    .flatMap((d) => [`${d.id}: ${d.strategyReason}`, ...d.blockers.map((b) => `${d.id}: REFUSED: ${b}`)])
    .join('\n');
  const eligible = plan.databases.filter((d) => d.eligible).length;
  return (
    `Plan ${plan.fleetId}: ${plan.databases.length} selected, ${eligible} eligible, ` +
    `${plan.groups.length} key group(s), at most ${plan.maxConcurrency} at once, onIneligible "${plan.onIneligible}". Nothing was changed.\n` +
    table(
      ['DATABASE', 'KIND', 'ELIGIBLE', 'STRATEGY', 'CUTOVER', 'ORDER', 'WRITER DOWNTIME (EST.)', 'OLD KEY'],
      rows,
    ) +
    (details ? `${details}\n` : '') +
    plan.notes.map((n) => `NOTE: ${n}\n`).join('') +
    'Downtime estimates: docs/fleet.md#downtime-estimate.\n'
  );
};

/** A local plan's id: `plan-<yyyymmddThhmmss>` (UTC). */
export const localPlanId = (now: Date): string =>
  `plan-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;

export const registerFleetCommands = (program: Command, deps: FleetCommandDeps = defaultDeps()): Command => {
  const inventoryCommand = withConnection(
    program
      .command('inventory')
      .description(
        'List every DB instance and Aurora cluster in the Region with its key, the key’s age, and whether it is due. Read-only.',
      )
      .option(
        '--older-than-days <n>',
        'a key this many days old or older is due (default: 365)',
        nonNegativeInteger('--older-than-days'),
        365,
      )
      .option('-b, --bucket <name>', 'evidence bucket: show each database’s last Rekey rotation'),
  );
  inventoryCommand.action(
    guarded(
      'inventory',
      deps,
      async (
        options: ConnectionFlags & {
          json?: boolean;
          olderThanDays: number;
          bucket?: string;
          verbose?: boolean;
        },
      ) => {
        await connect(options);
        const { rows } = await inventory({
          olderThanDays: options.olderThanDays,
          ...(options.bucket ? { evidenceBucket: options.bucket } : {}),
          now: deps.now(),
        });
        deps.stdout(
          options.json
            ? `${JSON.stringify({ olderThanDays: options.olderThanDays, databases: rows })}\n`
            : renderInventory(rows, options.olderThanDays),
        );
        return EXIT.ok;
      },
    ),
  );

  const planCommand = withConnection(
    program
      .command('plan')
      .description(
        'Plan a single or a fleet input: what each database would get, and every reason it would be refused. Changes nothing.',
      )
      .requiredOption(
        '-i, --input <file>',
        'single or fleet input JSON: a path, file://<path>, or - for standard input',
      ),
  );
  planCommand.action(
    guarded(
      'plan',
      deps,
      async (options: ConnectionFlags & { input: string; json?: boolean; verbose?: boolean }) => {
        const raw = readJsonInput(options.input);
        const fleetId = localPlanId(deps.now());
        let run: () => Promise<FleetPlan>;
        try {
          if (isFleetInput(raw)) {
            const input = parseFleetInput(raw);
            run = () => planFleet(input, { fleetId, now: deps.now() });
          } else {
            // Refused here, before any AWS call, like a fleet input.
            parseRotationInput(raw);
            const single = raw as Record<string, unknown>;
            run = () => planSingleInput(single, { fleetId, now: deps.now() });
          }
        } catch (error) {
          if (error instanceof InvalidInputError) throw new UsageError(`${options.input}: ${error.message}`);
          throw error;
        }
        await connect(options);
        const plan = await run();
        if (!options.json) deps.stderr(renderPlan(plan));
        deps.stdout(`${JSON.stringify(plan)}\n`);
        return EXIT.ok;
      },
    ),
  );
  return program;
};
