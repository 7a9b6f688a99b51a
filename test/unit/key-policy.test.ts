import { describe, expect, it } from 'vitest';
import { keyPolicyFor } from '../../functions/commons/key-policy.js';

const statement = (policy: ReturnType<typeof keyPolicyFor>, sid: string) => {
  const found = policy.Statement.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};

describe('keyPolicyFor', () => {
  it('keeps the key manageable: the account root has kms:* without conditions', () => {
    // Act
    const policy = keyPolicyFor({ partition: 'aws', accountId: '123456789012', region: 'eu-west-1' });

    // Assess
    expect(policy.Version).toBe('2012-10-17');
    expect(statement(policy, 'Enable IAM policies')).toEqual({
      Sid: 'Enable IAM policies',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::123456789012:root' },
      Action: 'kms:*',
      Resource: '*',
    });
  });

  it('allows encrypt/decrypt only through RDS in the Region, for callers of this account', () => {
    // Act
    const policy = keyPolicyFor({ partition: 'aws', accountId: '123456789012', region: 'eu-west-1' });

    // Assess
    const use = statement(policy, 'Allow use of the key through RDS only');
    expect(use.Action).toEqual([
      'kms:Encrypt',
      'kms:Decrypt',
      'kms:ReEncrypt*',
      'kms:GenerateDataKey*',
      'kms:DescribeKey',
    ]);
    expect(use.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com', 'kms:CallerAccount': '123456789012' },
    });
  });

  it('lets RDS create grants only for AWS resources, through RDS', () => {
    // Act
    const policy = keyPolicyFor({ partition: 'aws', accountId: '123456789012', region: 'us-east-1' });

    // Assess
    const grants = statement(policy, 'Allow RDS to create grants');
    expect(grants.Principal).toEqual({ AWS: 'arn:aws:iam::123456789012:root' });
    expect(grants.Action).toEqual(['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant']);
    expect(grants.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'rds.us-east-1.amazonaws.com', 'kms:CallerAccount': '123456789012' },
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
  });

  it('uses the China partition in ARNs and the .com.cn suffix in the RDS service name', () => {
    // Act
    const policy = keyPolicyFor({ partition: 'aws-cn', accountId: '210987654321', region: 'cn-north-1' });

    // Assess
    expect(statement(policy, 'Enable IAM policies').Principal).toEqual({
      AWS: 'arn:aws-cn:iam::210987654321:root',
    });
    expect(statement(policy, 'Allow RDS to create grants').Condition?.StringEquals?.['kms:ViaService']).toBe(
      'rds.cn-north-1.amazonaws.com.cn',
    );
  });

  it('uses the GovCloud partition in ARNs and the usual amazonaws.com suffix', () => {
    // Act
    const policy = keyPolicyFor({
      partition: 'aws-us-gov',
      accountId: '123456789012',
      region: 'us-gov-west-1',
    });

    // Assess
    const use = statement(policy, 'Allow use of the key through RDS only');
    expect(use.Principal).toEqual({ AWS: 'arn:aws-us-gov:iam::123456789012:root' });
    expect(use.Condition?.StringEquals?.['kms:ViaService']).toBe('rds.us-gov-west-1.amazonaws.com');
  });

  it('is valid JSON well under the 32 KB key policy limit', () => {
    // Act
    const text = JSON.stringify(
      keyPolicyFor({ partition: 'aws', accountId: '123456789012', region: 'us-east-1' }),
    );

    // Assess
    expect(JSON.parse(text)).toHaveProperty('Statement');
    expect(text.length).toBeLessThan(32 * 1024);
  });

  it('refuses a partition it does not know instead of writing a wrong service name', () => {
    // Act / Assess
    expect(() =>
      keyPolicyFor({ partition: 'aws-mars', accountId: '123456789012', region: 'mars-1' }),
    ).toThrow(
      expect.objectContaining({ name: 'InvalidInputError', message: expect.stringContaining('aws-mars') }),
    );
  });

  it('refuses an account id that is not 12 digits', () => {
    // Act / Assess
    expect(() => keyPolicyFor({ partition: 'aws', accountId: '1234', region: 'us-east-1' })).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringContaining('plan.accountId'),
      }),
    );
  });
});
