import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { deciderFromFlags } from './approval-gate.js';
import { runDemo } from './demo.js';
import { startEmulator, useEndpoint } from './emulator.js';
import { LOCAL_EVIDENCE_BUCKET, saveEvidence } from './evidence-bucket.js';
import { LOCAL_LOCK_TABLE } from './lock-table.js';
import { registerOperatorCommands } from './operator/commands.js';
import { type RunResult, runStateMachine } from './runner.js';
import { seedClusterSample, seedSample } from './seed.js';

const program = new Command()
  .name('rekey')
  .description(
    'Rotate the KMS key behind an Amazon RDS DB instance or Aurora cluster by moving the data to a new key.',
  )
  .showHelpAfterError();

const readInput = (file: string): unknown => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
};

/** The last line of stdout is one JSON object; the exit code is 0 only on SUCCEEDED. */
const finish = (result: RunResult): void => {
  const line =
    result.status === 'SUCCEEDED'
      ? { status: result.status, output: result.output }
      : { status: result.status, error: result.error, cause: result.cause };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.exitCode = result.status === 'SUCCEEDED' ? 0 : 1;
};

program
  .command('run')
  .description(
    'Run a rotation with the real state machine and steps on this machine, against --endpoint (an emulator) or AWS.',
  )
  .requiredOption('-i, --input <file>', 'execution input JSON (see events/break-glass.json)', readInput)
  .option(
    '-e, --endpoint <url>',
    'AWS API endpoint, e.g. http://127.0.0.1:5000 for moto_server; default: AWS',
  )
  .option('-r, --region <region>', 'AWS Region (default: AWS_REGION, else us-east-1)')
  .option(
    '-n, --name <execution-name>',
    'execution name; the rotation id derives from it (default: local-<time>-<random>)',
  )
  .option(
    '-l, --lock-table <name>',
    `rotation lock table: the stack's RotationLockTableName output; with --endpoint, default ${LOCAL_LOCK_TABLE} (created if missing)`,
  )
  .option(
    '-b, --evidence-bucket <name>',
    `evidence bucket: the stack's EvidenceBucketName output; with --endpoint, default ${LOCAL_EVIDENCE_BUCKET} (created if missing)`,
  )
  .option('--approve', 'approve the approval gate (input approval.required) when the run reaches it')
  .option('--reject <reason>', 'reject the approval gate with this reason (the rotation rolls back)')
  .option('--approver <name>', 'who approves or rejects (default: $USER)')
  .option('-v, --verbose', 'print the steps’ JSON logs too')
  .action(
    async (options: {
      approve?: boolean;
      reject?: string;
      approver?: string;
      input: unknown;
      endpoint?: string;
      region?: string;
      name?: string;
      lockTable?: string;
      evidenceBucket?: string;
      verbose?: boolean;
    }) => {
      if (!options.verbose) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
      const region = options.region ?? process.env.AWS_REGION ?? 'us-east-1';
      if (options.endpoint) useEndpoint(options.endpoint, region);
      else process.env.AWS_REGION = region;
      const lockTable = options.lockTable ?? (options.endpoint ? LOCAL_LOCK_TABLE : undefined);
      if (!lockTable) {
        throw new InvalidArgumentError(
          'against AWS, --lock-table is required: the RotationLockTableName output of the deployed stack.',
        );
      }
      const gate = deciderFromFlags(options.input, options);
      if (gate.problem) {
        // Refused before anything runs: nothing in AWS was touched.
        process.stderr.write(`rekey run: ${gate.problem}\n`);
        process.exitCode = 2;
        return;
      }
      const result = await runStateMachine({
        approval: gate.decider,
        input: options.input,
        region,
        executionName: options.name,
        fastWaits: Boolean(options.endpoint),
        lockTable: { name: lockTable, create: Boolean(options.endpoint) },
        ...(options.evidenceBucket || options.endpoint
          ? {
              evidenceBucket: {
                name: options.evidenceBucket ?? LOCAL_EVIDENCE_BUCKET,
                create: Boolean(options.endpoint),
              },
            }
          : {}),
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      if (result.evidence) {
        process.stderr.write(
          `Evidence record: ${await saveEvidence(result.evidence)} (from ${result.evidence.uri})\n`,
        );
      }
      finish(result);
    },
  );

program
  .command('demo')
  .description(
    'Start the embedded emulator, seed a sample database, rotate its key end to end, print a summary.',
  )
  .option('-v, --verbose', 'print the steps’ JSON logs too')
  .action(async (options: { verbose?: boolean }) => {
    if (!options.verbose) process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.exitCode = await runDemo();
  });

program
  .command('seed')
  .description(
    'Create the sample resources events/break-glass.json and events/aurora-cluster.json name, on an emulator.',
  )
  .option('-e, --endpoint <url>', 'emulator endpoint; default: start one and keep it running until Ctrl-C')
  .action(async (options: { endpoint?: string }) => {
    const emulator = options.endpoint ? undefined : await startEmulator();
    const endpoint = options.endpoint ?? (emulator?.endpoint as string);
    useEndpoint(endpoint);
    const sample = await seedSample();
    const cluster = await seedClusterSample({ hostedZoneId: sample.hostedZoneId });
    process.stdout.write(`${JSON.stringify({ endpoint, ...sample, cluster })}\n`);
    if (emulator) {
      process.stderr.write(`Emulator running at ${endpoint}; press Ctrl-C to stop it.\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await emulator.stop();
    }
  });

(await import('./report.js')).registerReportCommand(program);
registerOperatorCommands(program);

await program.parseAsync(process.argv);
