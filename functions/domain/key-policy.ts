import { InvalidInputError } from './errors.js';

/**
 * The key policy of the new key (docs/aws-facts.md#grants). RDS uses a customer-managed key through
 * grants: the principal that creates, copies or restores the database calls CreateGrant and
 * DescribeKey via RDS, and RDS then uses the grant. Administration and use are separate statements:
 * - the account root keeps `kms:*`. This statement is required: it delegates access to IAM
 *   policies, so the key can never become unmanageable (KMS's lockout safety check refuses a policy
 *   that would lock the caller out, and without the root nobody could repair a broken policy). It
 *   also means an IAM policy of this account can still grant direct use: keep `kms:Decrypt` on
 *   `key/*` out of IAM policies (or deny it with an SCP) for the RDS-only rule to be the only path;
 * - use of the key (encrypt, decrypt, re-encrypt, data keys, describe) by principals of this
 *   account is allowed only through RDS in this Region (`kms:ViaService`, `kms:CallerAccount`);
 * - grants can be created only through RDS and only for an AWS resource (`kms:GrantIsForAWSResource`);
 * - optional key administrators (`keyAdministratorArns`, from the stack parameter
 *   KeyAdministratorArns) get the administrative actions only: never a cryptographic action and
 *   never CreateGrant. `kms:PutKeyPolicy` is administrative but lets its holder rewrite the policy,
 *   as it does in the KMS default policy: name only principals you would trust with the data.
 */

export interface KeyPolicyScope {
  /** `aws`, `aws-cn`, `aws-us-gov`, ... (from the source instance's ARN). */
  partition: string;
  accountId: string;
  region: string;
  /** IAM role or user ARNs of this account that administer the key (no use). Empty or absent: none. */
  keyAdministratorArns?: readonly string[];
}

export interface KeyPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string | string[] };
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

/**
 * What key administrators may do: manage the key's life, policy, tags, aliases and rotation.
 * No cryptographic action (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign, Verify, *Mac)
 * and no grant action: `kms:Get*` does not match `kms:GenerateDataKey*`.
 */
export const KEY_ADMINISTRATION_ACTIONS: readonly string[] = [
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
];

/** The environment variable CreateKeyFunction gets from the stack parameter KeyAdministratorArns. */
export const KEY_ADMINISTRATOR_ARNS_VARIABLE = 'KEY_ADMINISTRATOR_ARNS';

/** `KEY_ADMINISTRATOR_ARNS` (comma-separated, spaces and empty entries ignored) as a list. */
export const keyAdministratorArnsFromEnv = (
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] =>
  (env[KEY_ADMINISTRATOR_ARNS_VARIABLE] ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn.length > 0);

/** An IAM role or user (any path) of this account and partition. */
const administratorArnPattern = (partition: string, accountId: string): RegExp =>
  new RegExp(
    `^arn:${partition.replace(/[^a-z0-9-]/g, '')}:iam::${accountId}:(role|user)/[\\w+=,.@/-]{1,512}$`,
  );

const keyAdministrators = (
  arns: readonly string[] | undefined,
  partition: string,
  accountId: string,
): string[] => {
  const unique = [...new Set((arns ?? []).map((arn) => arn.trim()).filter((arn) => arn.length > 0))];
  const pattern = administratorArnPattern(partition, accountId);
  const refused = unique.filter((arn) => !pattern.test(arn));
  if (refused.length > 0) {
    throw new InvalidInputError(
      `Key administrators must be IAM roles or users of this account (arn:${partition}:iam::${accountId}:role/<name> ` +
        `or :user/<name>); refused: ${refused.join(', ')}. They come from the stack parameter KeyAdministratorArns ` +
        `(environment variable ${KEY_ADMINISTRATOR_ARNS_VARIABLE} of CreateKeyFunction): fix it and deploy again. ` +
        'No key was created.',
    );
  }
  return unique;
};

export const keyPolicyFor = ({
  partition,
  accountId,
  region,
  keyAdministratorArns,
}: KeyPolicyScope): KeyPolicyDocument => {
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
  const administrators = keyAdministrators(keyAdministratorArns, partition, accountId);
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
      ...(administrators.length > 0
        ? [
            {
              Sid: 'Allow key administration',
              Effect: 'Allow' as const,
              Principal: { AWS: administrators },
              Action: [...KEY_ADMINISTRATION_ACTIONS],
              Resource: '*' as const,
            },
          ]
        : []),
    ],
  };
};
