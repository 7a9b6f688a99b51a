import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KMSClient,
  type Tag,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import {
  CreateDBClusterCommand,
  CreateDBClusterParameterGroupCommand,
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  CreateDBParameterGroupCommand,
  type DBCluster,
  type DBInstance,
  DescribeDBClustersCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListHostedZonesByNameCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { RDS_ERRORS } from '#aws/rds-errors.js';
import { isAwsError } from '#domain/errors.js';

/**
 * The sample the demo rotates, and the resources `events/break-glass.json` names: an encrypted
 * PostgreSQL instance with a custom parameter group, two security groups, tags and deletion
 * protection, and a hosted zone whose CNAME points at it. Only ever run against the emulator.
 *
 * Seeding is idempotent: it creates only what is missing, so `rekey seed` can run again before
 * each sample input. A sample database that a rotation deleted is created again, under a fresh
 * key when its old key is pending deletion; one that exists is left as it is, and the records are
 * pointed at the database that now holds the sample's name.
 */

/** The key behind `alias`, or a new one (also when the aliased key can no longer be used). */
const ensureSampleKey = async (kms: KMSClient, alias: string, description: string, tags: Tag[]) => {
  let aliased: { KeyId?: string; Arn?: string; KeyState?: string } | undefined;
  try {
    aliased = (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata;
  } catch (error) {
    if (!isAwsError(error, 'NotFoundException')) throw error;
  }
  if (aliased?.KeyState === 'Enabled' && aliased.Arn) return aliased.Arn;
  const { KeyMetadata } = await kms.send(
    new CreateKeyCommand({ Description: description, ...(tags.length > 0 ? { Tags: tags } : {}) }),
  );
  const Command = aliased ? UpdateAliasCommand : CreateAliasCommand;
  await kms.send(new Command({ AliasName: alias, TargetKeyId: KeyMetadata?.KeyId }));
  return KeyMetadata?.Arn as string;
};

/** The cluster, or undefined when there is none of that name. */
const findCluster = async (rds: RDSClient, id: string): Promise<DBCluster | undefined> => {
  try {
    return (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
  } catch (error) {
    if (isAwsError(error, ...RDS_ERRORS.cluster.notFound)) return undefined;
    throw error;
  }
};

/**
 * Runs a database create call, then reads the database back. The emulator names each new
 * database's first automated snapshot `rds:<id>-<minute>`, and one of that name is left over when
 * a rotation deleted a database of the same name in the same minute: the create then fails on the
 * snapshot name, but the database was created all the same.
 */
const createDatabase = async <T>(
  create: () => Promise<unknown>,
  read: () => Promise<T | null | undefined>,
) => {
  try {
    await create();
  } catch (error) {
    if (!isAwsError(error, ...RDS_ERRORS.snapshot.alreadyExists, ...RDS_ERRORS.clusterSnapshot.alreadyExists))
      throw error;
  }
  return (await read()) ?? undefined;
};

/** The password of every sample database: the emulator only; nothing real is ever seeded. */
const SAMPLE_PASSWORD = 'sample-password-not-secret';

export interface SampleInstanceSpec {
  id: string;
  /** The key it is encrypted under; undefined: not encrypted. */
  keyArn: string | undefined;
  parameterGroupName: string;
  securityGroupIds: string[];
  tags: { Key: string; Value: string }[];
  /** What differs between the samples (class, storage, backups, maintenance, ...). */
  settings: Omit<
    CreateDBInstanceCommandInput,
    | 'DBInstanceIdentifier'
    | 'Engine'
    | 'EngineVersion'
    | 'StorageType'
    | 'MasterUserPassword'
    | 'StorageEncrypted'
    | 'KmsKeyId'
    | 'DBParameterGroupName'
    | 'VpcSecurityGroupIds'
    | 'Tags'
  >;
}

/**
 * A sample PostgreSQL 16 instance (gp3): the one that exists, or one created from `spec`. Both the
 * sample `orders-db` and the fleet sample's instances are made here, so they differ only in `spec`.
 */
const ensureSampleInstance = async (
  rds: RDSClient,
  existing: DBInstance | null | undefined,
  spec: SampleInstanceSpec,
): Promise<DBInstance | undefined> =>
  existing ??
  (await createDatabase(
    () =>
      rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: spec.id,
          Engine: 'postgres',
          EngineVersion: '16.3',
          StorageType: 'gp3',
          MasterUserPassword: SAMPLE_PASSWORD,
          StorageEncrypted: spec.keyArn !== undefined,
          ...(spec.keyArn ? { KmsKeyId: spec.keyArn } : {}),
          DBParameterGroupName: spec.parameterGroupName,
          VpcSecurityGroupIds: spec.securityGroupIds,
          Tags: spec.tags,
          ...spec.settings,
        }),
      ),
    () => findInstance(rds, spec.id),
  ));

/** Runs a create call, treating "already exists" as done. */
const ensure = async (create: () => Promise<unknown>, ...alreadyExists: string[]): Promise<void> => {
  try {
    await create();
  } catch (error) {
    if (!isAwsError(error, ...alreadyExists)) throw error;
  }
};

/** The sample hosted zone: the one of that name, or a new one. */
const ensureZone = async (route53: Route53Client, reference: string): Promise<string> => {
  const { HostedZones } = await route53.send(new ListHostedZonesByNameCommand({ DNSName: SAMPLE.zoneName }));
  const found = HostedZones?.find((zone) => zone.Name?.replace(/\.$/, '') === SAMPLE.zoneName);
  const zone =
    found ??
    (await route53.send(new CreateHostedZoneCommand({ Name: SAMPLE.zoneName, CallerReference: reference })))
      .HostedZone;
  return (zone?.Id ?? '').replace('/hostedzone/', '');
};

/** Points each CNAME at its value (UPSERT: creates it, or moves it back after a rotation). */
const pointRecords = async (route53: Route53Client, hostedZoneId: string, records: [string, string][]) => {
  await route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      ChangeBatch: {
        Changes: records.map(([Name, value]) => ({
          Action: 'UPSERT' as const,
          ResourceRecordSet: { Name, Type: 'CNAME' as const, TTL: 60, ResourceRecords: [{ Value: value }] },
        })),
      },
    }),
  );
};
/** The sample instance's and cluster's protection, backup and maintenance settings (the restore must carry them over). */
const SAMPLE_OPERATIONS = {
  DeletionProtection: true,
  BackupRetentionPeriod: 7,
  PreferredBackupWindow: '03:00-03:30',
  PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
  CopyTagsToSnapshot: true,
  EnableIAMDatabaseAuthentication: true,
} as const;

export const SAMPLE = {
  dbInstanceIdentifier: 'orders-db',
  parameterGroupName: 'orders-postgres16',
  securityGroupIds: ['sg-0a1b2c3d4e5f60001', 'sg-0a1b2c3d4e5f60002'],
  keyAlias: 'alias/orders-db',
  zoneName: 'db.example.internal',
  recordName: 'orders.db.example.internal',
  tags: { team: 'orders', environment: 'production', 'cost-center': 'cc-1234' },
} as const;

export interface SeededSample {
  dbInstanceIdentifier: string;
  endpointAddress: string;
  oldKeyArn: string;
  hostedZoneId: string;
  recordName: string;
}

export const seedSample = async (
  options: { dbInstanceIdentifier?: string; allocatedStorageGiB?: number } = {},
): Promise<SeededSample> => {
  const { rds, kms, route53 } = getClients();
  const dbInstanceIdentifier = options.dbInstanceIdentifier ?? SAMPLE.dbInstanceIdentifier;

  const existing = await findInstance(rds, dbInstanceIdentifier);
  const oldKeyArn = existing?.KmsKeyId
    ? existing.KmsKeyId
    : await ensureSampleKey(
        kms,
        `alias/${dbInstanceIdentifier}`,
        `Sample key for ${dbInstanceIdentifier} (the key Rekey rotates away from)`,
        [{ TagKey: 'team', TagValue: 'orders' }],
      );
  await ensure(
    () =>
      rds.send(
        new CreateDBParameterGroupCommand({
          DBParameterGroupName: SAMPLE.parameterGroupName,
          DBParameterGroupFamily: 'postgres16',
          Description: 'Orders database parameters',
        }),
      ),
    'DBParameterGroupAlreadyExistsFault',
    'DBParameterGroupAlreadyExists',
  );
  const instance = await ensureSampleInstance(rds, existing, {
    id: dbInstanceIdentifier,
    keyArn: oldKeyArn,
    parameterGroupName: SAMPLE.parameterGroupName,
    securityGroupIds: [...SAMPLE.securityGroupIds],
    tags: Object.entries(SAMPLE.tags).map(([Key, Value]) => ({ Key, Value })),
    settings: {
      DBInstanceClass: 'db.t3.medium',
      // Storage autoscaling up to four times the size (`npm run bench` seeds its profiles' sizes).
      AllocatedStorage: options.allocatedStorageGiB ?? 50,
      MaxAllocatedStorage: 4 * (options.allocatedStorageGiB ?? 50),
      MasterUsername: 'orders_admin',
      DBName: 'orders',
      ...SAMPLE_OPERATIONS,
      EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
    },
  });
  const endpointAddress = instance?.Endpoint?.Address as string;
  const hostedZoneId = await ensureZone(route53, `rekey-sample-${Date.now()}`);
  await pointRecords(route53, hostedZoneId, [[SAMPLE.recordName, endpointAddress]]);
  return { dbInstanceIdentifier, endpointAddress, oldKeyArn, hostedZoneId, recordName: SAMPLE.recordName };
};

/** The Aurora sample `events/aurora-cluster.json` names: a PostgreSQL cluster with a writer and a reader. */
export const CLUSTER_SAMPLE = {
  dbClusterIdentifier: 'orders-aurora',
  clusterParameterGroupName: 'orders-aurora-pg16',
  instanceParameterGroupName: 'orders-aurora-instance-pg16',
  members: [
    {
      id: 'orders-aurora-1',
      dbInstanceClass: 'db.r6g.large',
      promotionTier: 0,
      availabilityZone: 'us-east-1a',
    },
    {
      id: 'orders-aurora-2',
      dbInstanceClass: 'db.r6g.xlarge',
      promotionTier: 2,
      availabilityZone: 'us-east-1b',
    },
  ],
  recordName: 'orders-aurora.db.example.internal',
  readerRecordName: 'orders-aurora-ro.db.example.internal',
  tags: { team: 'orders', environment: 'production', 'cost-center': 'cc-1234' },
} as const;

export interface SeededClusterSample {
  dbClusterIdentifier: string;
  endpointAddress: string;
  readerEndpointAddress: string;
  oldKeyArn: string;
  hostedZoneId: string;
  recordName: string;
  readerRecordName: string;
  members: string[];
}

/** Seeds the Aurora sample; in the sample's hosted zone when given, else in a new one. */
export const seedClusterSample = async (
  options: { hostedZoneId?: string } = {},
): Promise<SeededClusterSample> => {
  const { rds, kms, route53 } = getClients();
  const id = CLUSTER_SAMPLE.dbClusterIdentifier;
  const existing = await findCluster(rds, id);
  const oldKeyArn = existing?.KmsKeyId
    ? existing.KmsKeyId
    : await ensureSampleKey(kms, `alias/${id}`, `Sample key for ${id} (the key Rekey rotates away from)`, []);
  await ensure(
    () =>
      rds.send(
        new CreateDBClusterParameterGroupCommand({
          DBClusterParameterGroupName: CLUSTER_SAMPLE.clusterParameterGroupName,
          DBParameterGroupFamily: 'aurora-postgresql16',
          Description: 'Orders Aurora cluster parameters',
        }),
      ),
    'DBParameterGroupAlreadyExistsFault',
    'DBParameterGroupAlreadyExists',
  );
  await ensure(
    () =>
      rds.send(
        new CreateDBParameterGroupCommand({
          DBParameterGroupName: CLUSTER_SAMPLE.instanceParameterGroupName,
          DBParameterGroupFamily: 'aurora-postgresql16',
          Description: 'Orders Aurora instance parameters',
        }),
      ),
    'DBParameterGroupAlreadyExistsFault',
    'DBParameterGroupAlreadyExists',
  );
  const cluster =
    existing ??
    (await createDatabase(
      () =>
        rds.send(
          new CreateDBClusterCommand({
            DBClusterIdentifier: id,
            Engine: 'aurora-postgresql',
            EngineVersion: '16.4',
            MasterUsername: 'orders_admin',
            MasterUserPassword: SAMPLE_PASSWORD,
            DatabaseName: 'orders',
            Port: 5432,
            StorageEncrypted: true,
            KmsKeyId: oldKeyArn,
            DBClusterParameterGroupName: CLUSTER_SAMPLE.clusterParameterGroupName,
            VpcSecurityGroupIds: [...SAMPLE.securityGroupIds],
            ...SAMPLE_OPERATIONS,
            EnableCloudwatchLogsExports: ['postgresql'],
            ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 8 },
            Tags: Object.entries(CLUSTER_SAMPLE.tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        ),
      () => findCluster(rds, id),
    ));
  // Members only for a cluster seeded now (or left without any): a cluster that a rotation put under
  // the sample's name keeps its own members.
  const seedMembers = (existing?.DBClusterMembers ?? []).length === 0;
  for (const member of seedMembers ? CLUSTER_SAMPLE.members : []) {
    if (await findInstance(rds, member.id)) continue;
    await createDatabase(
      () =>
        rds.send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: member.id,
            DBClusterIdentifier: id,
            Engine: 'aurora-postgresql',
            DBInstanceClass: member.dbInstanceClass,
            PromotionTier: member.promotionTier,
            AvailabilityZone: member.availabilityZone,
            DBParameterGroupName: CLUSTER_SAMPLE.instanceParameterGroupName,
            AutoMinorVersionUpgrade: false,
            CACertificateIdentifier: 'rds-ca-rsa2048-g1',
            Tags: [{ Key: 'team', Value: 'orders' }],
          }),
        ),
      () => findInstance(rds, member.id),
    );
  }
  const endpointAddress = cluster?.Endpoint as string;
  const readerEndpointAddress = cluster?.ReaderEndpoint as string;
  const hostedZoneId =
    options.hostedZoneId ?? (await ensureZone(route53, `rekey-aurora-sample-${Date.now()}`));
  await pointRecords(route53, hostedZoneId, [
    [CLUSTER_SAMPLE.recordName, endpointAddress],
    [CLUSTER_SAMPLE.readerRecordName, readerEndpointAddress],
  ]);
  return {
    dbClusterIdentifier: id,
    endpointAddress,
    readerEndpointAddress,
    oldKeyArn,
    hostedZoneId,
    recordName: CLUSTER_SAMPLE.recordName,
    readerRecordName: CLUSTER_SAMPLE.readerRecordName,
    members: seedMembers
      ? CLUSTER_SAMPLE.members.map((m) => m.id)
      : (existing?.DBClusterMembers ?? []).map((m) => m.DBInstanceIdentifier ?? ''),
  };
};

/**
 * The fleet sample `events/fleet.json` selects by its tag (docs/fleet.md): two instances sharing
 * one old key, an Aurora cluster, an unencrypted instance the plan refuses, two more ordinary
 * instances, and one encrypted instance without the tag (not selected). Small and in the sample's
 * hosted zone; seeding it again finds what it created.
 */
export const FLEET_SAMPLE = {
  sharedKeyAlias: 'alias/fleet-shared',
  parameterGroupName: 'fleet-postgres16',
  rotateTag: { Key: 'rekey:rotate', Value: 'annual' },
  instances: [
    { id: 'fleet-billing-db', key: 'shared', encrypted: true, tagged: true, cutover: 'cname' },
    { id: 'fleet-invoices-db', key: 'shared', encrypted: true, tagged: true, cutover: 'cname' },
    { id: 'fleet-catalog-db', key: 'own', encrypted: true, tagged: true, cutover: 'rename' },
    { id: 'fleet-audit-db', key: 'own', encrypted: true, tagged: true, cutover: 'none' },
    { id: 'fleet-legacy-db', key: 'none', encrypted: false, tagged: true, cutover: 'rename' },
    { id: 'fleet-untagged-db', key: 'own', encrypted: true, tagged: false, cutover: 'rename' },
  ],
  cluster: {
    id: 'fleet-reports-aurora',
    member: 'fleet-reports-aurora-1',
    clusterParameterGroupName: 'fleet-aurora-pg16',
  },
} as const;

export interface SeededFleetSample {
  /** The databases the fleet selects (tagged `rekey:rotate=annual`), in seeding order. */
  selected: string[];
  sharedKeyArn: string;
  /** Selected, but refused by the plan: not encrypted. */
  refused: string[];
  /** Encrypted, untagged: the fleet does not select it. */
  notSelected: string[];
  hostedZoneId: string;
}

const fleetRecordName = (id: string) => `${id}.${SAMPLE.zoneName}`;

/** Seeds the fleet sample into the sample's hosted zone (the one given, else found or created). */
export const seedFleetSample = async (
  options: { hostedZoneId?: string } = {},
): Promise<SeededFleetSample> => {
  const { rds, kms, route53 } = getClients();
  const hostedZoneId =
    options.hostedZoneId ?? (await ensureZone(route53, `rekey-fleet-sample-${Date.now()}`));
  await ensure(
    () =>
      rds.send(
        new CreateDBParameterGroupCommand({
          DBParameterGroupName: FLEET_SAMPLE.parameterGroupName,
          DBParameterGroupFamily: 'postgres16',
          Description: 'Fleet sample parameters',
        }),
      ),
    'DBParameterGroupAlreadyExistsFault',
    'DBParameterGroupAlreadyExists',
  );
  let sharedKeyArn = '';
  const records: [string, string][] = [];
  for (const sample of FLEET_SAMPLE.instances) {
    const existing = await findInstance(rds, sample.id);
    let keyArn: string | undefined;
    if (sample.key === 'shared') {
      keyArn =
        existing?.KmsKeyId ??
        (await ensureSampleKey(
          kms,
          FLEET_SAMPLE.sharedKeyAlias,
          'Fleet sample key shared by two instances',
          [],
        ));
      sharedKeyArn ||= keyArn;
    } else if (sample.key === 'own') {
      keyArn =
        existing?.KmsKeyId ??
        (await ensureSampleKey(kms, `alias/${sample.id}`, `Fleet sample key for ${sample.id}`, []));
    }
    const tags = [
      ...(sample.tagged ? [FLEET_SAMPLE.rotateTag] : []),
      { Key: 'rekey:cutover', Value: sample.cutover },
      ...(sample.cutover === 'cname'
        ? [{ Key: 'rekey:record-name', Value: fleetRecordName(sample.id) }]
        : []),
      { Key: 'team', Value: 'platform' },
    ];
    const instance = await ensureSampleInstance(rds, existing, {
      id: sample.id,
      keyArn,
      parameterGroupName: FLEET_SAMPLE.parameterGroupName,
      securityGroupIds: [SAMPLE.securityGroupIds[0]],
      tags,
      settings: {
        DBInstanceClass: 'db.t3.micro',
        AllocatedStorage: 20,
        MasterUsername: 'fleet_admin',
        BackupRetentionPeriod: 1,
      },
    });
    if (sample.cutover === 'cname')
      records.push([fleetRecordName(sample.id), instance?.Endpoint?.Address as string]);
  }

  const { cluster: spec } = FLEET_SAMPLE;
  const existingCluster = await findCluster(rds, spec.id);
  const clusterKey =
    existingCluster?.KmsKeyId ??
    (await ensureSampleKey(kms, `alias/${spec.id}`, `Fleet sample key for ${spec.id}`, []));
  await ensure(
    () =>
      rds.send(
        new CreateDBClusterParameterGroupCommand({
          DBClusterParameterGroupName: spec.clusterParameterGroupName,
          DBParameterGroupFamily: 'aurora-postgresql16',
          Description: 'Fleet sample Aurora parameters',
        }),
      ),
    'DBParameterGroupAlreadyExistsFault',
    'DBParameterGroupAlreadyExists',
  );
  const cluster =
    existingCluster ??
    (await createDatabase(
      () =>
        rds.send(
          new CreateDBClusterCommand({
            DBClusterIdentifier: spec.id,
            Engine: 'aurora-postgresql',
            EngineVersion: '16.4',
            MasterUsername: 'fleet_admin',
            MasterUserPassword: SAMPLE_PASSWORD,
            Port: 5432,
            StorageEncrypted: true,
            KmsKeyId: clusterKey,
            DBClusterParameterGroupName: spec.clusterParameterGroupName,
            VpcSecurityGroupIds: [SAMPLE.securityGroupIds[0]],
            BackupRetentionPeriod: 1,
            Tags: [
              FLEET_SAMPLE.rotateTag,
              { Key: 'rekey:cutover', Value: 'cname' },
              { Key: 'rekey:record-name', Value: fleetRecordName(spec.id) },
              { Key: 'rekey:reader-record-name', Value: fleetRecordName(`${spec.id}-ro`) },
              { Key: 'rekey:strategy', Value: 'snapshot' },
              { Key: 'team', Value: 'platform' },
            ],
          }),
        ),
      () => findCluster(rds, spec.id),
    ));
  if ((existingCluster?.DBClusterMembers ?? []).length === 0 && !(await findInstance(rds, spec.member))) {
    await createDatabase(
      () =>
        rds.send(
          new CreateDBInstanceCommand({
            DBInstanceIdentifier: spec.member,
            DBClusterIdentifier: spec.id,
            Engine: 'aurora-postgresql',
            DBInstanceClass: 'db.t4g.medium',
            Tags: [{ Key: 'team', Value: 'platform' }],
          }),
        ),
      () => findInstance(rds, spec.member),
    );
  }
  records.push(
    [fleetRecordName(spec.id), cluster?.Endpoint as string],
    [fleetRecordName(`${spec.id}-ro`), cluster?.ReaderEndpoint as string],
  );
  await pointRecords(route53, hostedZoneId, records);
  const tagged = FLEET_SAMPLE.instances.filter((i) => i.tagged).map((i) => i.id);
  return {
    selected: [...tagged, spec.id],
    sharedKeyArn,
    refused: FLEET_SAMPLE.instances.filter((i) => i.tagged && !i.encrypted).map((i) => i.id),
    notSelected: FLEET_SAMPLE.instances.filter((i) => !i.tagged).map((i) => i.id),
    hostedZoneId,
  };
};
