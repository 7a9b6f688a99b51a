import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { InvalidInputError } from '#domain/errors.js';
import { parseRotationInput, rotationTarget } from '#domain/input.js';
import { isFleetInput, parseFleetInput } from '#features/fleet/input.js';
import { deciderFromFlags } from './approval-gate.js';
import { type CallerIdentityLookup, lookUpCaller, stsCallerIdentity } from './caller-identity.js';
import { type Connection, resolveConnection } from './connection.js';
import { useEndpoint } from './emulator.js';
import { debugDetail, EXIT, exitCodeOf, explain, OperatorError, UsageError } from './errors.js';
import { LOCAL_EVIDENCE_BUCKET, saveEvidence } from './evidence-bucket.js';
import { fleetOutputFromRecord, readFleetRecord } from './fleet-record.js';
import { readJsonInput } from './input-file.js';
import { LOCAL_LOCK_TABLE } from './lock-table.js';
import { DEFAULT_STACK, type StackOutputName, stackOutput } from './operator/aws.js';
import { FLEET_ASL, type RunResult, runStateMachine } from './runner.js';

/**
 * `rekey run`: the real state machine and steps in this process, against an emulator
 * (`--endpoint`) or AWS. Everything that can be checked is checked before anything runs: the
 * input, the approval flags, the endpoint, the Region, and (against AWS) where the lock table and
 * the evidence bucket are. The last stdout line is always one JSON object, also when the run was
 * refused (`NOT_STARTED`); the exit code is 0 only on success (see cli/errors.ts).
 */

export interface RunFlags {
  input: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  stack?: string;
  name?: string;
  lockTable?: string;
  bucket?: string;
  approve?: boolean;
  reject?: boolean;
  reason?: string;
  by?: string;
  verbose?: boolean;
}

export interface RunIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: RunIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * Where the lock and the evidence go: the emulator's own, the flags, or the deployed stack's
 * outputs (read as the operator commands read them). Against AWS a rotation never runs without both.
 */
const resources = async (connection: Connection, flags: RunFlags) => {
  if (connection.endpoint) {
    return {
      lockTable: { name: flags.lockTable ?? LOCAL_LOCK_TABLE, create: true },
      evidenceBucket: { name: flags.bucket ?? LOCAL_EVIDENCE_BUCKET, create: true },
    };
  }
  const cloudformation = new CloudFormationClient({ region: connection.region });
  const fromStack = (output: StackOutputName) =>
    stackOutput(cloudformation, flags.stack ?? DEFAULT_STACK, connection.region, output).catch((error) => {
      // The run has not started: for `run`, a stack it cannot use is a usage error (exit 2).
      throw error instanceof OperatorError ? new UsageError(error.message) : error;
    });
  const lockTable = flags.lockTable ?? (await fromStack('RotationLockTableName'));
  const evidenceBucket = flags.bucket ?? (await fromStack('EvidenceBucketName'));
  return {
    lockTable: { name: lockTable, create: false },
    evidenceBucket: { name: evidenceBucket, create: false },
  };
};

/** The warnings a success can carry, said where an operator looks: before the final JSON line. */
const warningsOf = (result: RunResult): string[] => {
  if (result.status !== 'SUCCEEDED') return [];
  const output = result.output as { oldKey?: { state?: string; reason?: string }; oldKeyArn?: string } | null;
  if (output?.oldKey?.state === 'Retained') {
    return [
      `WARNING: the old key ${output.oldKeyArn ?? ''} was kept, not scheduled for deletion: ${output.oldKey.reason ?? 'see the output'}`,
    ];
  }
  return [];
};

export const runRotation = async (
  flags: RunFlags,
  io: RunIo = processIo,
  lookup: CallerIdentityLookup = stsCallerIdentity,
): Promise<number> => {
  let connection: Connection | undefined;
  try {
    const input = readJsonInput(flags.input);
    // A fleet input (top-level "fleet") runs the fleet machine; its output is the FleetOutput.
    const fleet = isFleetInput(input);
    let target: string;
    try {
      // A bad fleet input is refused before anything runs, as a bad single input is.
      if (fleet) parseFleetInput(input);
      target = fleet ? 'the fleet' : rotationTarget(parseRotationInput(input)).identifier;
    } catch (error) {
      if (error instanceof InvalidInputError) throw new UsageError(`${flags.input}: ${error.message}`);
      throw error;
    }
    const gate = deciderFromFlags(input, flags);
    if (gate.problem) throw new UsageError(gate.problem);
    connection = await resolveConnection(flags);
    if (connection.endpoint) useEndpoint(connection.endpoint, connection.region);
    else {
      process.env.AWS_REGION = connection.region;
      if (connection.profile) process.env.AWS_PROFILE = connection.profile;
    }
    const { lockTable, evidenceBucket } = await resources(connection, flags);
    // Against AWS the record names who ran it; on an emulator it says it was an emulator run.
    const caller = connection.endpoint ? undefined : await lookUpCaller(connection.region, lookup);
    if (caller && 'error' in caller) io.stderr(`WARNING: who runs this is not recorded: ${caller.error}\n`);
    io.stderr(
      `Rotating ${target} in ${connection.region} (${connection.regionSource}) on ${connection.endpoint ?? 'AWS'}\n`,
    );
    const result = await runStateMachine({
      ...(fleet ? { aslPath: FLEET_ASL } : {}),
      approval: gate.decider,
      ...(caller ? { caller } : {}),
      input,
      region: connection.region,
      executionName: flags.name,
      fastWaits: Boolean(connection.endpoint),
      lockTable,
      evidenceBucket,
      onProgress: (line) => io.stderr(`${line}\n`),
    });
    if (result.evidence) {
      io.stderr(`Evidence record: ${await saveEvidence(result.evidence)} (from ${result.evidence.uri})\n`);
    }
    for (const warning of warningsOf(result)) io.stderr(`${warning}\n`);
    // A failed fleet still rotated some databases: its line carries the whole fleet output too.
    const line =
      result.status === 'SUCCEEDED'
        ? { status: result.status, output: result.output }
        : {
            status: result.status,
            error: result.error,
            cause: result.cause,
            ...(fleet
              ? {
                  output: await readFleetRecord(evidenceBucket.name, result.executionArn).then(
                    (found) => (found ? fleetOutputFromRecord(found.record) : null),
                    (error: Error) => {
                      io.stderr(
                        `WARNING: the fleet record could not be read (${error.name}: ${error.message}); the outcomes are under fleets/ in ${evidenceBucket.name}.\n`,
                      );
                      return null;
                    },
                  ),
                }
              : {}),
          };
    io.stdout(`${JSON.stringify(line)}\n`);
    return result.status === 'SUCCEEDED' ? EXIT.ok : EXIT.failed;
  } catch (raw) {
    const error = explain(raw, { endpoint: connection?.endpoint ?? flags.endpoint });
    io.stderr(`rekey run: ${error.message}\n${debugDetail(raw, Boolean(flags.verbose))}`);
    io.stdout(`${JSON.stringify({ status: 'NOT_STARTED', error: error.name, cause: error.message })}\n`);
    return exitCodeOf(error);
  }
};
