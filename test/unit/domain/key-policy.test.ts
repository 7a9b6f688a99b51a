import { describe, expect, it } from 'vitest';
import { KEY_ADMINISTRATION_ACTIONS, keyAdministratorArnsFromEnv, keyPolicyFor } from '#domain/key-policy.js';

const statement = (policy: ReturnType<typeof keyPolicyFor>, sid: string) => {
  const found = policy.Statement.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
const matches = (pattern: string, action: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(action);

const actionsOf = (s: { Action: string | string[] }): string[] =>
  Array.isArray(s.Action) ? s.Action : [s.Action];

/** Every KMS action that uses key material or hands out its use (Service Authorization Reference for KMS). */
const CRYPTOGRAPHIC_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateMac',
  'kms:VerifyMac',
  'kms:Sign',
  'kms:Verify',
  'kms:DeriveSharedSecret',
  'kms:CreateGrant',
  'kms:RetireGrant',
];

const ADMINS = ['arn:aws:iam::123456789012:role/KeyAdmins', 'arn:aws:iam::123456789012:user/ops/alice'];

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

  it('has no administrators statement unless administrators are named', () => {
    // Act
    const without = keyPolicyFor({ partition: 'aws', accountId: '123456789012', region: 'us-east-1' });
    const empty = keyPolicyFor({
      partition: 'aws',
      accountId: '123456789012',
      region: 'us-east-1',
      keyAdministratorArns: [],
    });

    // Assess
    for (const policy of [without, empty]) {
      expect(policy.Statement.map((s) => s.Sid)).toEqual([
        'Enable IAM policies',
        'Allow use of the key through RDS only',
        'Allow RDS to create grants',
      ]);
    }
  });

  it('lets the named administrators manage the key, with exactly the administrative actions', () => {
    // Act
    const policy = keyPolicyFor({
      partition: 'aws',
      accountId: '123456789012',
      region: 'eu-west-1',
      keyAdministratorArns: [...ADMINS, ` ${ADMINS[0]} `],
    });

    // Assess
    expect(statement(policy, 'Allow key administration')).toEqual({
      Sid: 'Allow key administration',
      Effect: 'Allow',
      Principal: { AWS: ADMINS },
      Action: [
        'kms:Describe*',
        'kms:List*',
        'kms:Get*',
        'kms:Put*',
        'kms:Update*',
        'kms:Enable*',
        'kms:Disable*',
        'kms:TagResource',
        'kms:UntagResource',
        'kms:ScheduleKeyDeletion',
        'kms:CancelKeyDeletion',
        'kms:CreateAlias',
        'kms:DeleteAlias',
        'kms:UpdateAlias',
        'kms:RotateKeyOnDemand',
      ],
      Resource: '*',
    });
  });

  it('gives administrators no cryptographic or grant action, not even through a wildcard', () => {
    // Act
    const policy = keyPolicyFor({
      partition: 'aws',
      accountId: '123456789012',
      region: 'eu-west-1',
      keyAdministratorArns: ADMINS,
    });

    // Assess
    const admin = statement(policy, 'Allow key administration');
    const leaked = CRYPTOGRAPHIC_ACTIONS.filter((action) =>
      actionsOf(admin).some((pattern) => matches(pattern, action)),
    );
    expect(leaked).toEqual([]);
    expect(KEY_ADMINISTRATION_ACTIONS.some((pattern) => matches(pattern, 'kms:GetKeyPolicy'))).toBe(true);
  });

  it('allows cryptographic use only through RDS: every statement but the account root is limited to RDS', () => {
    // Act
    const policy = keyPolicyFor({
      partition: 'aws',
      accountId: '123456789012',
      region: 'eu-west-1',
      keyAdministratorArns: ADMINS,
    });

    // Assess
    const direct = policy.Statement.filter((s) => s.Sid !== 'Enable IAM policies')
      .filter((s) => CRYPTOGRAPHIC_ACTIONS.some((action) => actionsOf(s).some((p) => matches(p, action))))
      .filter(
        (s) =>
          s.Condition?.StringEquals?.['kms:ViaService'] !== 'rds.eu-west-1.amazonaws.com' ||
          s.Condition?.StringEquals?.['kms:CallerAccount'] !== '123456789012',
      )
      .map((s) => s.Sid);
    expect(direct).toEqual([]);
  });

  it('refuses administrators that are not IAM roles or users of this account, naming the parameter', () => {
    // Act / Assess
    for (const arn of [
      'arn:aws:iam::210987654321:role/Elsewhere',
      'arn:aws:iam::123456789012:root',
      'arn:aws:sts::123456789012:assumed-role/Admin/alice',
      'arn:aws-cn:iam::123456789012:role/OtherPartition',
      '*',
    ]) {
      expect(() =>
        keyPolicyFor({
          partition: 'aws',
          accountId: '123456789012',
          region: 'us-east-1',
          keyAdministratorArns: [arn],
        }),
      ).toThrow(
        expect.objectContaining({
          name: 'InvalidInputError',
          message: expect.stringContaining('KeyAdministratorArns'),
        }),
      );
    }
  });
});

describe('keyAdministratorArnsFromEnv', () => {
  it('reads the comma-separated list CreateKeyFunction gets from the stack parameter', () => {
    // Act / Assess
    expect(keyAdministratorArnsFromEnv({ KEY_ADMINISTRATOR_ARNS: `${ADMINS[0]}, ${ADMINS[1]},` })).toEqual(
      ADMINS,
    );
    expect(keyAdministratorArnsFromEnv({ KEY_ADMINISTRATOR_ARNS: '' })).toEqual([]);
    expect(keyAdministratorArnsFromEnv({})).toEqual([]);
  });
});
