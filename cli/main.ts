import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { resolveConnection } from './connection.js';
import { runDemo, runFleetDemo } from './demo.js';
import { startEmulator, useEndpoint } from './emulator.js';
import { debugDetail, EXIT, exitCodeOf, explain } from './errors.js';
import { LOCAL_EVIDENCE_BUCKET } from './evidence-bucket.js';
import { registerFleetCommands } from './fleet-commands.js';
import { LOCAL_LOCK_TABLE } from './lock-table.js';
import { registerOperatorCommands } from './operator/commands.js';
import { registerReportCommand } from './report.js';
import { type RunFlags, runRotation } from './run-command.js';
import { seedClusterSample, seedFleetSample, seedSample } from './seed.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command()
  .name('rekey')
  .description(
    'Rotate the KMS key behind an Amazon RDS DB instance or Aurora cluster by moving the data to a new key.',
  )
  .version(version, '-V, --version', 'print the version of Rekey')
  .showHelpAfterError()
  // Usage errors exit with 2 in every command (commander's own default is 1).
  .exitOverride((error) => {
    process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  });

/**
 * The commands that are not operator commands (run, demo, seed) fail the same way the operator
 * commands do: one line on stderr, the exit code of cli/errors.ts, no stack trace.
 */
const guarded =
  <A extends unknown[]>(name: string, body: (...args: A) => Promise<number>) =>
  async (...args: A): Promise<void> => {
    const verbose = Boolean((args.at(-1) as Command | undefined)?.opts?.().verbose);
    try {
      process.exitCode = await body(...args);
    } catch (raw) {
      const error = explain(raw, { endpoint: process.env.AWS_ENDPOINT_URL });
      process.stderr.write(`rekey ${name}: ${error.message}\n${debugDetail(raw, verbose)}`);
      process.exitCode = exitCodeOf(error);
    }
  };

const quiet = (verbose?: boolean) => {
  if (!verbose) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
};

program
  .command('run')
  .description(
    'Run a rotation with the real state machine and steps on this machine, against --endpoint (an emulator) or AWS.',
  )
  .requiredOption(
    '-i, --input <file>',
    'execution input JSON: a path, file://<path>, or - for standard input (see events/break-glass.json)',
  )
  .option(
    '-e, --endpoint <url>',
    'AWS API endpoint, e.g. http://127.0.0.1:5000 for moto_server; default: AWS',
  )
  .option(
    '-r, --region <region>',
    'AWS Region (default: AWS_REGION, the profile’s region, AWS_DEFAULT_REGION; required against AWS)',
  )
  .option('-p, --profile <name>', 'AWS profile for credentials and Region (default: AWS_PROFILE)')
  .option(
    '-s, --stack <name>',
    'against AWS: the deployed stack whose outputs name the lock table and the evidence bucket (default: rekey)',
  )
  .option(
    '-n, --name <execution-name>',
    'execution name; the rotation id derives from it (default: local-<time>-<random>)',
  )
  .option(
    '-l, --lock-table <name>',
    `rotation lock table (default: the stack's RotationLockTableName; with --endpoint ${LOCAL_LOCK_TABLE}, created if missing)`,
  )
  .option(
    '-b, --bucket <name>',
    `evidence bucket (default: the stack's EvidenceBucketName; with --endpoint ${LOCAL_EVIDENCE_BUCKET}, created if missing)`,
  )
  .option('--approve', 'approve the approval gate (input approval.required) when the run reaches it')
  .option('--reject', 'reject the approval gate (with --reason); the rotation rolls back')
  .option('--reason <text>', 'why the gate is rejected (with --reject; kept as evidence)')
  .option('--by <name>', 'who approves or rejects (default: $USER)')
  .option('-v, --verbose', 'print the steps’ JSON logs, and stack traces of errors')
  .action(async (flags: RunFlags) => {
    quiet(flags.verbose);
    process.exitCode = await runRotation(flags);
  });

program
  .command('demo')
  .description(
    'Start the embedded emulator, seed a sample database, rotate its key end to end, print a summary.',
  )
  .option(
    '--fleet',
    'rotate the sample fleet instead (events/fleet.json) and write the fleet report to rekey-output/',
  )
  .option('-v, --verbose', 'print the steps’ JSON logs, and stack traces of errors')
  .action(
    guarded('demo', async (options: { fleet?: boolean; verbose?: boolean }) => {
      quiet(options.verbose);
      return options.fleet ? runFleetDemo() : runDemo();
    }),
  );

program
  .command('seed')
  .description(
    'Create (or complete) the sample resources the events/ inputs name, on an emulator. Safe to run again.',
  )
  .option('-e, --endpoint <url>', 'emulator endpoint; default: start one and keep it running until Ctrl-C')
  .option('-v, --verbose', 'print stack traces of errors')
  .action(
    guarded('seed', async (options: { endpoint?: string }) => {
      // Only ever an emulator: the endpoint is checked, and the Region is the emulator's.
      const connection = options.endpoint
        ? await resolveConnection({ endpoint: options.endpoint, region: 'us-east-1' })
        : undefined;
      const emulator = connection ? undefined : await startEmulator();
      const endpoint = connection?.endpoint ?? (emulator?.endpoint as string);
      useEndpoint(endpoint);
      const sample = await seedSample();
      const cluster = await seedClusterSample({ hostedZoneId: sample.hostedZoneId });
      const fleet = await seedFleetSample({ hostedZoneId: sample.hostedZoneId });
      process.stdout.write(`${JSON.stringify({ endpoint, ...sample, cluster, fleet })}\n`);
      if (emulator) {
        process.stderr.write(`Emulator running at ${endpoint}; press Ctrl-C to stop it.\n`);
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await emulator.stop();
      }
      return EXIT.ok;
    }),
  );

registerReportCommand(program);
registerOperatorCommands(program);
registerFleetCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // exitOverride ends the process itself; anything else reaching here is said in one line.
  if (!(error instanceof CommanderError)) {
    process.stderr.write(`rekey: ${explain(error).message}\n${debugDetail(error, false)}`);
    process.exitCode = EXIT.failed;
  }
}
