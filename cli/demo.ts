import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import type { RotationOutput } from '#domain/output.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import type { FleetOutput } from '#features/fleet/types.js';
import { startEmulator, useEndpoint } from './emulator.js';
import { EVIDENCE_OUTPUT_DIR, LOCAL_EVIDENCE_BUCKET, saveEvidence } from './evidence-bucket.js';
import { fleetOutputFromRecord, readFleetRecord } from './fleet-record.js';
import { LOCAL_LOCK_TABLE } from './lock-table.js';
import { writeFleetReport, writeReport } from './report.js';
import { FLEET_ASL, runStateMachine } from './runner.js';
import { seedFleetSample, seedSample } from './seed.js';

const INPUT = fileURLToPath(new URL('../events/break-glass.json', import.meta.url));
const FLEET_INPUT = fileURLToPath(new URL('../events/fleet.json', import.meta.url));
/** The fleet demo's execution name: its children are `demo-fleet-<database>`, its record fleets/demo-fleet/. */
export const FLEET_DEMO_NAME = 'demo-fleet';
const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Runs `body` against a fresh embedded emulator (the SDK clients pointed at it) and stops the
 * emulator afterwards, also on Ctrl-C.
 */
const withEmulator = async (say: (text: string) => void, body: () => Promise<number>): Promise<number> => {
  say('Starting the embedded AWS emulator (moto_server)...\n');
  const emulator = await startEmulator();
  const stop = () => void emulator.stop();
  process.once('SIGINT', stop);
  try {
    useEndpoint(emulator.endpoint);
    return await body();
  } finally {
    process.off('SIGINT', stop);
    await emulator.stop();
  }
};

/**
 * `npm start`: the whole product on one machine. Starts moto_server, seeds a sample encrypted
 * PostgreSQL instance behind a CNAME, runs events/break-glass.json through the real state
 * machine and steps, then reads the end state back from the emulator and prints it.
 */
export const runDemo = (): Promise<number> =>
  withEmulator(
    (text) => process.stderr.write(text),
    async () => {
      const sample = await seedSample();
      process.stderr.write(
        `Seeded ${sample.dbInstanceIdentifier} (key ${sample.oldKeyArn}) behind ${sample.recordName}\n\n`,
      );
      const input = JSON.parse(readFileSync(INPUT, 'utf8')) as unknown;
      const result = await runStateMachine({
        input,
        executionName: 'demo-break-glass',
        fastWaits: true,
        lockTable: { name: LOCAL_LOCK_TABLE, create: true },
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
      say();
      const evidencePath = result.evidence ? await saveEvidence(result.evidence) : null;
      const report = evidencePath
        ? await writeReport(JSON.parse(readFileSync(evidencePath, 'utf8')) as EvidenceRecord)
        : null;
      const evidenceLine = evidencePath
        ? [
            `Evidence record: ${evidencePath} (from ${result.evidence?.uri})`,
            `Report:          ${report?.html}`,
            `                 ${report?.markdown}`,
          ].join('\n')
        : 'Evidence record: not written (see the output: evidenceError)';
      if (result.status !== 'SUCCEEDED') {
        say(evidenceLine);
        say(`Rotation FAILED: ${result.error}`);
        say(result.cause);
        return 1;
      }
      const output = result.output as RotationOutput;
      const { kms, route53 } = getClients();
      const newDb = await findInstance(getClients().rds, output.newDbInstanceIdentifier);
      const oldDb = await findInstance(getClients().rds, output.sourceDbInstanceIdentifier);
      const { KeyMetadata: oldKey } = await kms.send(new DescribeKeyCommand({ KeyId: output.oldKeyArn }));
      const { ResourceRecordSets } = await route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: sample.hostedZoneId,
          StartRecordName: sample.recordName,
          StartRecordType: 'CNAME',
          MaxItems: 1,
        }),
      );
      const cname = ResourceRecordSets?.[0]?.ResourceRecords?.[0]?.Value;

      say(`Rotation ${output.rotationId} SUCCEEDED`);
      say(`  database      ${output.sourceDbInstanceIdentifier} -> ${output.newDbInstanceIdentifier}`);
      say(`  key           ${output.oldKeyArn}`);
      say(`             -> ${output.newKeyArn}`);
      say(
        `  snapshots     ${output.snapshotIdentifiers.source} -> ${output.snapshotIdentifiers.reencrypted}`,
      );
      say(`  endpoint      ${output.newEndpoint.address}:${output.newEndpoint.port}`);
      say(`  old instance  ${output.oldInstance}`);
      say(
        `  old key       ${output.oldKey.state === 'PendingDeletion' ? `PendingDeletion, deleted on ${output.oldKey.deletionDate}` : `Retained: ${output.oldKey.reason}`}`,
      );
      say(`  reason        ${output.reason} (requested by ${output.requestedBy ?? 'unknown'})`);
      say();
      say('Read back from the emulator:');
      say(`  ${output.newDbInstanceIdentifier}: ${newDb?.DBInstanceStatus}, KmsKeyId ${newDb?.KmsKeyId}`);
      say(`  ${sample.recordName} CNAME -> ${cname}`);
      say(`  ${output.sourceDbInstanceIdentifier}: ${oldDb ? oldDb.DBInstanceStatus : 'deleted'}`);
      say(
        `  old key: ${oldKey?.KeyState}${oldKey?.DeletionDate ? ` until ${oldKey.DeletionDate.toISOString()}` : ''}`,
      );
      say();
      say(evidenceLine);
      say();
      say(JSON.stringify({ status: result.status, output }));
      return 0;
    },
  );

export interface DemoIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: DemoIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * `rekey demo --fleet`: the fleet on one machine. Starts moto_server, seeds the fleet sample
 * (docs/fleet.md: databases tagged `rekey:rotate=annual`, two sharing a key, one unencrypted),
 * runs events/fleet.json through the fleet state machine and every child rotation, and writes the
 * fleet record and its report (html and md) to `outDir`. Exit code 0 only when the fleet SUCCEEDED.
 */
export const runFleetDemo = async (options: { outDir?: string; io?: DemoIo } = {}): Promise<number> => {
  const io = options.io ?? processIo;
  const outDir = options.outDir ?? EVIDENCE_OUTPUT_DIR;
  const say = (line = '') => io.stdout(`${line}\n`);
  return withEmulator(io.stderr, async () => {
    const sample = await seedSample();
    const seeded = await seedFleetSample({ hostedZoneId: sample.hostedZoneId });
    io.stderr(
      `Seeded the fleet sample: ${seeded.selected.join(', ')} tagged rekey:rotate=annual ` +
        `(${seeded.refused.join(', ')} not encrypted); ${seeded.notSelected.join(', ')} untagged\n\n`,
    );
    const result = await runStateMachine({
      aslPath: FLEET_ASL,
      input: JSON.parse(readFileSync(FLEET_INPUT, 'utf8')) as unknown,
      executionName: FLEET_DEMO_NAME,
      fastWaits: true,
      lockTable: { name: LOCAL_LOCK_TABLE, create: true },
      onProgress: (line) => io.stderr(`${line}\n`),
    });
    say();
    const found = await readFleetRecord(LOCAL_EVIDENCE_BUCKET, result.executionArn);
    if (!found) {
      say(`Fleet ${FLEET_DEMO_NAME} ${result.status}: no fleet record was written.`);
      if (result.status === 'FAILED') say(`${result.error}: ${result.cause}`);
      return 1;
    }
    const { record, uri } = found;
    mkdirSync(outDir, { recursive: true });
    const recordPath = resolve(join(outDir, `fleet-${record.fleetId}.record.json`));
    writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`);
    const report = await writeFleetReport(record, outDir);
    say(`Fleet ${record.fleetId} ${record.status}: ${record.reason}`);
    const width = Math.max(...record.databases.map((d) => d.id.length));
    for (const d of record.databases) {
      const detail =
        d.status === 'SUCCEEDED'
          ? `${d.oldKeyArn} -> ${d.newKeyArn}`
          : [d.error, d.cause].filter(Boolean).join(': ');
      say(`  ${d.id.padEnd(width)}  ${d.status.padEnd(11)}  ${detail}`);
    }
    for (const warning of record.warnings) say(`WARNING: ${warning}`);
    say();
    say(`Fleet record: ${recordPath} (from ${uri})`);
    say(`Report:       ${report.html}`);
    say(`              ${report.markdown}`);
    say();
    // As `rekey run` prints it: the machine's output, or on a failure the record fitted the same way.
    const output =
      result.status === 'SUCCEEDED' ? (result.output as FleetOutput) : fleetOutputFromRecord(record);
    say(
      JSON.stringify(
        result.status === 'SUCCEEDED'
          ? { status: result.status, output }
          : { status: result.status, error: result.error, cause: result.cause, output },
      ),
    );
    return result.status === 'SUCCEEDED' ? 0 : 1;
  });
};
