import { DescribeKeyCommand, KMSClient, NotFoundException } from '@aws-sdk/client-kms';
import {
  type DBInstance,
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { validateDatabase } from '#strategies/snapshot/validate-database.js';
import { newInstanceOf } from '../../../support/db-instance.js';
import { stepEvent } from '../../../support/events.js';

const rds = mockClient(RDSClient);
const kms = mockClient(KMSClient);
const NEW_ID = 'orders-db-rk05e5c03bc0';
const OLD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b';
const NEW_KEY = 'arn:aws:kms:us-east-1:123456789012:key/7c9d0e1f-2a3b-4c5d-8e6f-9a0b1c2d3e4f';
const NEW_ALIAS_ARN = 'arn:aws:kms:us-east-1:123456789012:alias/rekey/orders-db/rk05e5c03bc0';

/** A DescribeKey answer: KMS resolves every identifier of a key to its key ARN. */
const keyOf = (arn: string) => ({ KeyMetadata: { KeyId: arn.slice(arn.lastIndexOf('/') + 1), Arn: arn } });

const state = () => stepEvent('validate-database');
const instance = (overrides: Partial<DBInstance> = {}) => ({
  DBInstances: [newInstanceOf(state(), overrides)],
});

describe('validate-instance', () => {
  beforeEach(() => {
    rds.reset();
    kms.reset();
    kms.on(DescribeKeyCommand, { KeyId: NEW_KEY }).resolves(keyOf(NEW_KEY));
    kms.on(DescribeKeyCommand, { KeyId: NEW_ALIAS_ARN }).resolves(keyOf(NEW_KEY));
    kms.on(DescribeKeyCommand, { KeyId: OLD_KEY }).resolves(keyOf(OLD_KEY));
  });

  it('passes an available instance under the new key with the source configuration', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(instance());

    // Act
    const result = await validateDatabase(state());

    // Assess
    expect(result).toEqual({
      dbInstanceIdentifier: NEW_ID,
      dbInstanceArn: `arn:aws:rds:us-east-1:123456789012:db:${NEW_ID}`,
      endpointAddress: `${NEW_ID}.abcdefghij.us-east-1.rds.amazonaws.com`,
      port: 5432,
      kmsKeyArn: NEW_KEY,
      status: 'available',
      differences: [],
      checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(kms).toHaveReceivedCommandTimes(DescribeKeyCommand, 2);
  });

  it('compares canonical ARNs: a key reported as an alias ARN is the new key', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(instance({ KmsKeyId: NEW_ALIAS_ARN }));

    // Act
    const result = await validateDatabase(state());

    // Assess
    expect(result.kmsKeyArn).toBe(NEW_KEY);
    expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: NEW_ALIAS_ARN });
  });

  it('fails when the instance is under the old key, naming both keys', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(instance({ KmsKeyId: OLD_KEY }));

    // Act / Assess
    await expect(validateDatabase(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringContaining(
        `encrypted with ${OLD_KEY} (the OLD key), not with the new key ${NEW_KEY}`,
      ),
    });
  });

  it('fails naming each differing field with the expected and the found value', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(
      instance({
        DBParameterGroups: [{ DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' }],
        VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-default', Status: 'active' }],
      }),
    );

    // Act
    const failure = await validateDatabase(state()).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ name: 'ValidationFailedError' });
    const { message } = failure as Error;
    expect(message).toContain(
      'dbParameterGroupName: expected "orders-postgres16", found "default.postgres16"',
    );
    expect(message).toContain(
      'vpcSecurityGroupIds: expected ["sg-0a1b2c3d4e5f60001","sg-0a1b2c3d4e5f60002"], found ["sg-default"]',
    );
    expect(message).toContain(NEW_ID);
  });

  it('lists every problem at once: status, encryption and configuration', async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(
      instance({
        DBInstanceStatus: 'modifying',
        StorageEncrypted: false,
        KmsKeyId: undefined,
        MultiAZ: true,
      }),
    );

    // Act
    const failure = await validateDatabase(state()).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ name: 'ValidationFailedError' });
    const { message } = failure as Error;
    expect(message).toContain('(1) its status is "modifying", not "available"');
    expect(message).toContain('(2) its storage is not encrypted');
    expect(message).toContain('(3) it reports no KMS key');
    expect(message).toContain(
      '(4) its configuration differs from the source orders-db: multiAZ: expected false, found true',
    );
  });

  it("fails when the instance does not carry this rotation's tag", async () => {
    // Prepare
    rds.on(DescribeDBInstancesCommand).resolves(instance({ TagList: [] }));

    // Act / Assess
    await expect(validateDatabase(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringContaining('does not carry the tag rekey:rotation-id=rk05e5c03bc0'),
    });
  });

  it('fails when KMS cannot describe the key the instance reports', async () => {
    // Prepare
    const gone = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000';
    rds.on(DescribeDBInstancesCommand).resolves(instance({ KmsKeyId: gone }));
    kms
      .on(DescribeKeyCommand, { KeyId: gone })
      .rejects(new NotFoundException({ message: `Key '${gone}' does not exist`, $metadata: {} }));

    // Act / Assess
    await expect(validateDatabase(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringContaining(`KMS could not describe its key ${gone} (NotFoundException`),
    });
  });

  it('fails when the new instance does not exist', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));

    // Act / Assess
    await expect(validateDatabase(state())).rejects.toMatchObject({
      name: 'ValidationFailedError',
      message: expect.stringContaining(`${NEW_ID} does not exist`),
    });
  });
});
