import { EnableKeyRotationCommand, GetKeyRotationStatusCommand } from '@aws-sdk/client-kms';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getClients } from '#aws/clients.js';
import type { RotationOutput } from '#domain/output.js';
import type { RunResult } from '../../cli/runner.js';
import { type SeededSample, seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { executionInput } from '../support/events.js';
import {
  type CallRecord,
  EMULATOR_GAPS,
  type FaultRule,
  injectFaults,
  removeFaults,
} from '../support/faults.js';
import { captureBaseline, compensationProblems, rotationEndState, runRotation } from '../support/rotation.js';

/**
 * Issue 3, point 4: a step run again after it already acted (its Lambda timed out after the AWS
 * call succeeded) returns the same result and creates nothing new. Here the FIRST answer of each
 * mutating AWS call of a rotation is lost (the call reaches the emulator, then the step gets a
 * TimeoutError, which the state machine retries as TransientAwsError): the execution must still
 * SUCCEED, end in the same state as a clean run (one new key tagged with the rotation id, one new
 * instance, the re-encrypted snapshot, the CNAME on the new endpoint, the old key PendingDeletion)
 * and report the same output.
 */

const EXECUTION = 'lost-responses';

/** An AWS call that changes something (the rest only read). */
const MUTATING =
  /^(Create|Copy|Restore|Modify|Reboot|Stop|Start|Delete|Change|Schedule|Enable|Disable|Cancel|Put|Update|TransactWrite|Tag|Untag|Add|Remove)/;

/** `<Task>/<Command>#<n>`: the nth call of that command by that Task. */
const label = (task: string | undefined, command: string, call: number) => `${task}/${command}#${call}`;

/** Every mutating call of a fault-free rotation of the sample, in order, as `label`s. */
const MUTATING_CALLS_OF_A_ROTATION = [
  'AcquireLock/TransactWriteItems#1',
  'CreateKey/CreateKey#1',
  'CreateKey/CreateAlias#1',
  'StopSource/ModifyDBInstance#1',
  'StopSource/StopDBInstance#1',
  // The event-driven wait registers its token (docs/waits.md) once the stop is under way (the wait
  // after lifting the deletion protection awaits no event).
  'AwaitStopSource/PutItem#1',
  'SnapshotSource/CreateDBSnapshot#1',
  'CopySnapshot/CopyDBSnapshot#1',
  'RestoreInstance/RestoreDBInstanceFromDBSnapshot#1',
  'ConfigureInstance/ModifyDBInstance#1',
  'Cutover/ChangeResourceRecordSets#1',
  'Cutover/AddTagsToResource#1',
  'Cutover/AddTagsToResource#2',
  'RetireInstance/DeleteDBInstance#1',
  'RetireKey/DeleteDBSnapshot#1',
  'RetireKey/ScheduleKeyDeletion#1',
  'ReleaseLock/DeleteItem#1',
  'ReleaseLock/DeleteItem#2',
];

const mutatingLabels = (calls: CallRecord[]): string[] => {
  const seen = new Map<string, number>();
  return calls
    .filter((c) => MUTATING.test(c.command))
    .map((c) => {
      const key = `${c.task}/${c.command}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return label(c.task, c.command, n);
    });
};

const ruleFor = (labelText: string): FaultRule => {
  const [, task, command, call] = /^(\w+)\/(\w+)#(\d+)$/.exec(labelText) ?? [];
  return { task, command: command ?? '', call: Number(call), fault: 'lose-response' };
};

/**
 * The output with what legitimately differs between two runs replaced: key ARNs by their role (KMS
 * picks random key ids) and the times of the run.
 */
const comparable = (result: RunResult, sample: SeededSample): unknown => {
  if (result.status !== 'SUCCEEDED') return result;
  // The evidence record's location names the execution's start time.
  const { evidence: _evidence, ...output } = result.output as RotationOutput & { evidence?: unknown };
  const text = JSON.stringify({
    ...output,
    startedAt: '<time>',
    finishedAt: '<time>',
    oldKey: { ...output.oldKey, ...('deletionDate' in output.oldKey && { deletionDate: '<time>' }) },
  })
    .replaceAll(sample.oldKeyArn, '<old key>')
    .replaceAll(output.newKeyArn, '<new key>');
  return JSON.parse(text);
};

describe('lost answers', () => {
  const emulator = useEmulator();

  describe('every mutating call loses its first answer, and the rotation still ends as a clean one', () => {
    let clean: { endState: string[]; output: unknown; mutating: string[] };

    beforeAll(async () => {
      await fetch(`${emulator.endpoint}/moto-api/reset`, { method: 'POST' });
      const sample = await seedSample();
      const recorder = injectFaults(EMULATOR_GAPS);
      const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });
      recorder.remove();
      clean = {
        endState: await rotationEndState(sample),
        output: comparable(result, sample),
        mutating: mutatingLabels(recorder.calls),
      };
    }, 60_000);

    afterEach(removeFaults);

    it('covers every mutating call a clean rotation makes', () => {
      // Assess: a new mutating call in a step must be added to the table above.
      expect(clean.mutating).toEqual(MUTATING_CALLS_OF_A_ROTATION);
      expect(clean.endState).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^key new\(rk\w+\) Enabled$/),
          'key old PendingDeletion',
          expect.stringMatching(/^instance orders-db-rk\w+ available key=new\(rk\w+\) protection=true /),
          expect.stringMatching(/^snapshot rekey-orders-db-rk\w+-reencrypted available key=new\(rk\w+\)$/),
          expect.stringMatching(/^cname orders\.db\.example\.internal -> orders-db-rk\w+\./),
        ]),
      );
      expect(clean.endState.filter((line) => line.startsWith('key '))).toHaveLength(2);
    });

    for (const lost of MUTATING_CALLS_OF_A_ROTATION) {
      it(`loses the answer of ${lost}`, async () => {
        // Prepare
        const sample = await seedSample();
        const faults = injectFaults([ruleFor(lost), ...EMULATOR_GAPS]);

        // Act
        const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });

        // Assess
        expect(faults.fired.map((f) => label(f.task, f.command, f.call))).toEqual([lost]);
        expect(result, (result as { cause?: string }).cause).toMatchObject({ status: 'SUCCEEDED' });
        expect(await rotationEndState(sample)).toEqual(clean.endState);
        expect(comparable(result, sample)).toEqual(clean.output);
      });
    }

    it('loses the first answer of every mutating call in one execution', async () => {
      // Prepare
      const sample = await seedSample();
      // Not the event waits' registrations: a wait happens only where a check finds the resource
      // not ready, and with every first answer lost the checks meet the stop in other phases.
      const firsts = MUTATING_CALLS_OF_A_ROTATION.filter((l) => l.endsWith('#1') && !l.startsWith('Await'));
      const faults = injectFaults([...firsts.map(ruleFor), ...EMULATOR_GAPS]);

      // Act
      const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });

      // Assess
      expect(faults.fired.map((f) => label(f.task, f.command, f.call))).toEqual(firsts);
      expect(result, (result as { cause?: string }).cause).toMatchObject({ status: 'SUCCEEDED' });
      expect(await rotationEndState(sample)).toEqual(clean.endState);
      expect(comparable(result, sample)).toEqual(clean.output);
    });

    it('loses the answer of EnableKeyRotation when the old key rotates (the new key then rotates too)', async () => {
      // Prepare
      const sample = await seedSample();
      const { kms } = getClients();
      await kms.send(new EnableKeyRotationCommand({ KeyId: sample.oldKeyArn.split('/').pop() }));
      const faults = injectFaults([
        { task: 'CreateKey', command: 'EnableKeyRotation', fault: 'lose-response' },
        ...EMULATOR_GAPS,
      ]);

      // Act
      const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });

      // Assess
      expect(faults.fired.map((f) => label(f.task, f.command, f.call))).toEqual([
        'CreateKey/EnableKeyRotation#1',
      ]);
      expect(result, (result as { cause?: string }).cause).toMatchObject({ status: 'SUCCEEDED' });
      expect(await rotationEndState(sample)).toEqual(clean.endState);
      const newKeyArn = (result as { output: RotationOutput }).output.newKeyArn;
      const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: newKeyArn.split('/').pop() }));
      expect(status.KeyRotationEnabled).toBe(true);
    });
  });

  describe('the rollback loses the first answer of each of its own mutating calls', () => {
    /** ValidateInstance cannot read the new key, so it refuses the new instance: a failure after everything was created. */
    const failure: FaultRule = {
      task: 'ValidateInstance',
      command: 'DescribeKey',
      fault: { error: 'AccessDeniedException' },
    };
    let cleanFailure: { endState: string[]; mutating: string[] };

    beforeAll(async () => {
      await fetch(`${emulator.endpoint}/moto-api/reset`, { method: 'POST' });
      const sample = await seedSample();
      const recorder = injectFaults([failure, ...EMULATOR_GAPS]);
      const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });
      recorder.remove();
      if (result.status !== 'FAILED') throw new Error('the reference failure did not fail');
      cleanFailure = {
        endState: await rotationEndState(sample),
        mutating: mutatingLabels(recorder.calls).filter((l) =>
          /^(Rollback|ReleaseLockAfterFailure)\//.test(l),
        ),
      };
    }, 60_000);

    afterEach(removeFaults);

    it('still gives the source back and removes what the rotation created', async () => {
      // Prepare
      const sample = await seedSample();
      const baseline = await captureBaseline(sample);
      const lost = cleanFailure.mutating.filter((l) => l.endsWith('#1'));
      const faults = injectFaults([failure, ...lost.map(ruleFor), ...EMULATOR_GAPS]);

      // Act
      const result = await runRotation({ input: executionInput('break-glass'), executionName: EXECUTION });

      // Assess
      expect(lost).toEqual([
        'Rollback/StartDBInstance#1',
        'Rollback/ModifyDBInstance#1',
        'Rollback/DeleteDBInstance#1',
        'Rollback/DeleteDBSnapshot#1',
        'Rollback/ScheduleKeyDeletion#1',
        'ReleaseLockAfterFailure/DeleteItem#1',
      ]);
      expect(
        faults.fired.filter((f) => f.fault === 'lost-response').map((f) => label(f.task, f.command, f.call)),
      ).toEqual(lost);
      expect(result).toMatchObject({ status: 'FAILED', error: 'ValidationFailedError' });
      const cause = (result as { cause: string }).cause;
      expect(await compensationProblems(baseline, cause), cause).toEqual([]);
      expect(await rotationEndState(sample)).toEqual(cleanFailure.endState);
    });
  });
});
