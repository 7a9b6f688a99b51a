import { InvalidInputError } from './errors.js';

/**
 * The key policy of the new key (DOMAIN.md fact 9). RDS uses a customer-managed key through
 * grants: the principal that creates, copies or restores the database calls CreateGrant and
 * DescribeKey via RDS, and RDS then uses the grant. So:
 * - the account root keeps `kms:*`, which delegates access to IAM policies and means the key can
 *   never become unmanageable (KMS refuses a policy that locks everyone out, and so do we);
 * - use of the key by principals of this account is allowed only through RDS in this Region
 *   (`kms:ViaService`), never directly;
 * - grants can be created only through RDS and only for an AWS resource (`kms:GrantIsForAWSResource`).
 */

export interface KeyPolicyScope {
  /** `aws`, `aws-cn`, `aws-us-gov`, ... (from the source instance's ARN). */
  partition: string;
  accountId: string;
  region: string;
}

export interface KeyPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string };
  Action: string | string[];
  Resource: '*';
  Condition?: Record<string, Record<string, string>>;
}

export interface KeyPolicyDocument {
  Version: '2012-10-17';
  Id: string;
  Statement: KeyPolicyStatement[];
}

/**
 * DNS suffix of service endpoints per partition (botocore `partitions.json`, `dnsSuffix`).
 * `kms:ViaService` names the endpoint of the calling service, e.g. `rds.cn-north-1.amazonaws.com.cn`.
 */
const DNS_SUFFIX: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-us-gov': 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-eusc': 'amazonaws.eu',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
  'aws-iso-e': 'cloud.adc-e.uk',
  'aws-iso-f': 'csp.hci.ic.gov',
};

export const dnsSuffixFor = (partition: string): string => {
  const suffix = DNS_SUFFIX[partition];
  if (!suffix) {
    throw new InvalidInputError(
      `Unknown AWS partition "${partition}" in the rotation plan: Rekey knows ${Object.keys(DNS_SUFFIX).join(', ')}. ` +
        'The partition comes from the source instance ARN; check plan.partition.',
    );
  }
  return suffix;
};

/** `rds.<region>.<dns suffix>`: the value of `kms:ViaService` when RDS calls KMS for the caller. */
export const rdsViaServiceFor = (scope: Pick<KeyPolicyScope, 'partition' | 'region'>): string =>
  `rds.${scope.region}.${dnsSuffixFor(scope.partition)}`;

const RDS_KEY_USE_ACTIONS = [
  'kms:Encrypt',
  'kms:Decrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
  'kms:DescribeKey',
];

const RDS_GRANT_ACTIONS = ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'];

export const keyPolicyFor = ({ partition, accountId, region }: KeyPolicyScope): KeyPolicyDocument => {
  if (!/^\d{12}$/.test(accountId)) {
    throw new InvalidInputError(
      `The account id "${accountId}" in the rotation plan is not a 12-digit AWS account id; check plan.accountId.`,
    );
  }
  const root = `arn:${partition}:iam::${accountId}:root`;
  const viaRds = {
    'kms:ViaService': rdsViaServiceFor({ partition, region }),
    'kms:CallerAccount': accountId,
  };
  return {
    Version: '2012-10-17',
    Id: 'rekey-rds-key-policy',
    Statement: [
      {
        Sid: 'Enable IAM policies',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'Allow use of the key through RDS only',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: RDS_KEY_USE_ACTIONS,
        Resource: '*',
        Condition: { StringEquals: viaRds },
      },
      {
        Sid: 'Allow RDS to create grants',
        Effect: 'Allow',
        Principal: { AWS: root },
        Action: RDS_GRANT_ACTIONS,
        Resource: '*',
        // IAM condition values are strings; "true" is how the KMS documentation writes this one.
        Condition: { StringEquals: viaRds, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ],
  };
};
