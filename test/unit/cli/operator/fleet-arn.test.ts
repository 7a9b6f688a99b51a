import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FLEET_STATE_MACHINE_SUFFIX,
  isFleetExecutionArn,
  ROTATION_STATE_MACHINE_SUFFIX,
  stateMachineOfExecution,
} from '../../../../cli/operator/aws.js';
import { parseTemplate } from '../../../../cli/template.js';

/**
 * `rekey status` and `rekey report` tell a fleet execution from a rotation by its state machine's
 * name, which template.yaml fixes: if the template renames a machine, this fails first.
 */
const template = parseTemplate(readFileSync('template.yaml', 'utf8'), 'template.yaml');
const nameOf = (id: string) => template.Resources[id]?.Properties?.Name;

describe('fleet execution ARNs', () => {
  it('the template names the machines <stack>-rotate-fleet and <stack>-rotate-instance', () => {
    expect(nameOf('RotateFleetStateMachine')).toEqual({
      'Fn::Sub': `\${AWS::StackName}${FLEET_STATE_MACHINE_SUFFIX}`,
    });
    expect(nameOf('RotateInstanceStateMachine')).toEqual({
      'Fn::Sub': `\${AWS::StackName}${ROTATION_STATE_MACHINE_SUFFIX}`,
    });
  });

  it('recognises a fleet execution of any stack, and nothing else', () => {
    expect(
      isFleetExecutionArn('arn:aws:states:eu-west-1:111122223333:execution:prod-rotate-fleet:annual'),
    ).toBe(true);
    expect(
      isFleetExecutionArn('arn:aws:states:eu-west-1:111122223333:execution:prod-rotate-instance:annual'),
    ).toBe(false);
    expect(isFleetExecutionArn('arn:aws:states:eu-west-1:111122223333:stateMachine:prod-rotate-fleet')).toBe(
      false,
    );
    expect(
      stateMachineOfExecution('arn:aws:states:eu-west-1:111122223333:execution:prod-rotate-fleet:x'),
    ).toBe('arn:aws:states:eu-west-1:111122223333:stateMachine:prod-rotate-fleet');
  });
});
