import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import type { RotationOutput } from '#domain/output.js';
import type { EvidenceRecord } from '#features/evidence/schema.js';
import { startEmulator, useEndpoint } from './emulator.js';
import { saveEvidence } from './evidence-bucket.js';
import { LOCAL_LOCK_TABLE } from './lock-table.js';
import { writeReport } from './report.js';
import { runStateMachine } from './runner.js';
import { seedSample } from './seed.js';

const INPUT = fileURLToPath(new URL('../events/break-glass.json', import.meta.url));
const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * `npm start`: the whole product on one machine. Starts moto_server, seeds a sample encrypted
 * PostgreSQL instance behind a CNAME, runs events/break-glass.json through the real state
 * machine and steps, then reads the end state back from the emulator and prints it.
 */
export const runDemo = async (): Promise<number> => {
  process.stderr.write('Starting the embedded AWS emulator (moto_server)...\n');
  const emulator = await startEmulator();
  const stop = () => void emulator.stop();
  process.once('SIGINT', stop);
  try {
    useEndpoint(emulator.endpoint);
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
    say(`  snapshots     ${output.snapshotIdentifiers.source} -> ${output.snapshotIdentifiers.reencrypted}`);
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
  } finally {
    process.off('SIGINT', stop);
    await emulator.stop();
  }
};
