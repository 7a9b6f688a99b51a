import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CreateBlueGreenDeploymentCommand,
  DeleteBlueGreenDeploymentCommand,
  DescribeBlueGreenDeploymentsCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  SwitchoverBlueGreenDeploymentCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { rotationIdFor } from '#domain/naming.js';
import { createGreen } from '#strategies/blue-green/create-green.js';
import { retireBlue } from '#strategies/blue-green/retire-blue.js';
import { switchover } from '#strategies/blue-green/switchover.js';
import { validateGreen } from '#strategies/blue-green/validate-green.js';
import { stepEvent } from '../../support/events.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const rds = mockClient(RDSClient);

/** `functions/<name>.handler` of every Lambda function in the template. */
const templateSteps = [
  ...readFileSync(`${root}template.yaml`, 'utf8').matchAll(/Handler: functions\/([\w-]+)\.handler/g),
]
  .map((m) => m[1])
  .sort();
const sampleSteps = readdirSync(`${root}events/steps`)
  .filter((name) => name.endsWith('.json'))
  .map((name) => name.replace(/\.json$/, ''))
  .sort();
const BLUE_GREEN_STEPS = ['create-green', 'validate-green', 'switchover', 'retire-blue'];

describe('sample step events (events/steps)', () => {
  beforeEach(() => {
    rds.reset();
  });

  it('has one sample per template function, and no sample for a function the template lacks', () => {
    // Assess
    expect(templateSteps).toEqual(expect.arrayContaining(BLUE_GREEN_STEPS));
    expect(sampleSteps).toEqual(templateSteps);
  });

  it.each(BLUE_GREEN_STEPS)(
    '%s.json is a Blue/Green rotation with a consistent rotation id and names',
    (name) => {
      // Act
      const { plan, newKey } = stepEvent(name);

      // Assess
      expect(plan).toMatchObject({ kind: 'instance', target: { kind: 'instance', identifier: 'orders-db' } });
      expect(plan.strategy).toMatchObject({ requested: 'blue-green', used: 'blue-green' });
      expect(plan.rotationId).toBe(rotationIdFor(plan.executionId));
      expect(plan.names.keyAlias).toBe(`alias/rekey/orders-db/${plan.rotationId}`);
      expect(newKey?.alias).toBe(plan.names.keyAlias);
      expect(plan.decisions.stopSource).toBe(false);
    },
  );

  it('create-green.json makes CreateGreen create the deployment under the sample key', async () => {
    // Prepare
    const event = stepEvent('create-green');
    rds.on(DescribeBlueGreenDeploymentsCommand).resolves({ BlueGreenDeployments: [] });
    rds.on(CreateBlueGreenDeploymentCommand).resolves({
      BlueGreenDeployment: { BlueGreenDeploymentIdentifier: 'bgd-x', Status: 'PROVISIONING' },
    });

    // Act
    const result = await createGreen(event);

    // Assess
    expect(rds).toHaveReceivedCommandWith(CreateBlueGreenDeploymentCommand, {
      BlueGreenDeploymentName: `rekey-orders-db-${event.plan.rotationId}`,
      Source: event.plan.source.dbInstanceArn,
      TargetResourceConfigurations: [
        { SourceArn: event.plan.source.dbInstanceArn, TargetKmsKeyId: event.newKey?.keyArn },
      ],
    });
    expect(result.done).toBe(false);
  });

  it('validate-green.json passes ValidateGreen when its green is available under the sample key', async () => {
    // Prepare
    const event = stepEvent('validate-green');
    const green = event.greenDeployment;
    const member = green?.members[0];
    rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
      BlueGreenDeployments: [
        {
          BlueGreenDeploymentIdentifier: green?.deploymentId,
          BlueGreenDeploymentName: green?.deploymentName,
          Status: 'AVAILABLE',
          SwitchoverDetails: [
            { SourceMember: member?.sourceArn, TargetMember: member?.targetArn, Status: 'AVAILABLE' },
          ],
        },
      ],
    });
    rds.on(DescribeDBInstancesCommand).resolves({
      DBInstances: [
        {
          DBInstanceIdentifier: member?.targetArn.split(':').pop(),
          DBInstanceArn: member?.targetArn,
          DBInstanceStatus: 'available',
          StorageEncrypted: true,
          KmsKeyId: event.newKey?.keyArn,
        },
      ],
    });

    // Act
    const result = await validateGreen(event);

    // Assess
    expect(result).toMatchObject({
      deploymentId: green?.deploymentId,
      resources: [{ arn: member?.targetArn }],
    });
  });

  it('switchover.json makes Switchover ask RDS for the switchover of the sample deployment', async () => {
    // Prepare
    const event = stepEvent('switchover');
    const green = event.greenDeployment;
    const member = green?.members[0];
    rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
      BlueGreenDeployments: [
        {
          BlueGreenDeploymentIdentifier: green?.deploymentId,
          Status: 'AVAILABLE',
          SwitchoverDetails: [
            { SourceMember: member?.sourceArn, TargetMember: member?.targetArn, Status: 'AVAILABLE' },
          ],
        },
      ],
    });
    rds
      .on(SwitchoverBlueGreenDeploymentCommand)
      .resolves({ BlueGreenDeployment: { Status: 'SWITCHOVER_IN_PROGRESS' } });

    // Act
    const result = await switchover(event);

    // Assess
    expect(rds).toHaveReceivedCommandWith(SwitchoverBlueGreenDeploymentCommand, {
      BlueGreenDeploymentIdentifier: green?.deploymentId,
    });
    expect(result).toMatchObject({ done: false, requested: true });
  });

  it('retire-blue.json makes RetireBlue delete the sample deployment first, without DeleteTarget', async () => {
    // Prepare
    const event = stepEvent('retire-blue');
    rds.on(DescribeBlueGreenDeploymentsCommand).resolves({
      BlueGreenDeployments: [
        {
          BlueGreenDeploymentIdentifier: event.greenDeployment?.deploymentId,
          Status: 'SWITCHOVER_COMPLETED',
        },
      ],
    });
    rds.on(DeleteBlueGreenDeploymentCommand).resolves({});

    // Act
    const result = await retireBlue(event);

    // Assess
    expect(rds).toHaveReceivedCommandWith(DeleteBlueGreenDeploymentCommand, {
      BlueGreenDeploymentIdentifier: event.greenDeployment?.deploymentId,
    });
    expect(rds.commandCalls(DeleteBlueGreenDeploymentCommand)[0]?.args[0].input.DeleteTarget).toBeUndefined();
    expect(result).toMatchObject({ done: false, deploymentDeleted: false });
  });
});
