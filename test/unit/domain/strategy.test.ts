import { describe, expect, it } from 'vitest';
import { decideStrategy } from '#domain/decisions.js';
import {
  clusterBlueGreenIneligibility,
  instanceBlueGreenIneligibility,
  replicaBlueGreenIneligibility,
} from '#domain/strategy.js';

describe('Blue/Green eligibility', () => {
  it('has nothing against a plain PostgreSQL instance with an in-Region replica', () => {
    expect(
      instanceBlueGreenIneligibility(
        {
          DBInstanceIdentifier: 'orders-db',
          Engine: 'postgres',
          ReadReplicaDBInstanceIdentifiers: ['orders-ro'],
        },
        'us-east-1',
      ),
    ).toEqual([]);
  });

  it('names every reason an instance cannot use it', () => {
    const reasons = instanceBlueGreenIneligibility(
      {
        DBInstanceIdentifier: 'ledger',
        Engine: 'sqlserver-se',
        MasterUserSecret: { SecretArn: 'arn:aws:secretsmanager:us-east-1:1:secret:x' },
        ReadReplicaDBInstanceIdentifiers: ['arn:aws:rds:eu-west-1:123456789012:db:ledger-eu'],
      },
      'us-east-1',
    );
    expect(reasons).toEqual([
      'RDS for SQL Server (sqlserver-se) does not support Blue/Green deployments.',
      'ledger keeps its master password in Secrets Manager, which Blue/Green deployments do not support.',
      'ledger has cross-Region read replicas (arn:aws:rds:eu-west-1:123456789012:db:ledger-eu), which Blue/Green deployments do not support.',
    ]);
  });

  it('refuses cascading replicas', () => {
    expect(
      replicaBlueGreenIneligibility([
        { DBInstanceIdentifier: 'orders-ro', ReadReplicaDBInstanceIdentifiers: ['orders-ro-ro'] },
      ]),
    ).toEqual([expect.stringContaining('orders-ro has replicas of its own (cascading replicas)')]);
  });

  it('refuses Multi-AZ DB clusters, Serverless v1 and global databases', () => {
    expect(clusterBlueGreenIneligibility({ DBClusterIdentifier: 'maz', Engine: 'postgres' })).toEqual([
      expect.stringContaining('maz is a Multi-AZ DB cluster (postgres)'),
    ]);
    expect(
      clusterBlueGreenIneligibility({
        DBClusterIdentifier: 'old',
        Engine: 'aurora-mysql',
        EngineMode: 'serverless',
        GlobalClusterIdentifier: 'global-1',
      }),
    ).toEqual([
      expect.stringContaining('engine mode "serverless"'),
      expect.stringContaining('part of the global database global-1'),
    ]);
  });
});

describe('decideStrategy', () => {
  it('keeps "snapshot" as asked, noting why Blue/Green would not do either', () => {
    expect(decideStrategy('snapshot', ['x is odd.'], 'x')).toEqual({
      requested: 'snapshot',
      used: 'snapshot',
      reason: 'strategy "snapshot" was requested (the default).',
      blueGreenIneligible: ['x is odd.'],
    });
  });

  it('takes Blue/Green under "auto" when eligible, and falls back to snapshot saying why when not', () => {
    expect(decideStrategy('auto', [], 'orders-db')).toMatchObject({ used: 'blue-green' });
    expect(decideStrategy('auto', ['orders-db is odd.'], 'orders-db')).toMatchObject({
      used: 'snapshot',
      reason: 'strategy "auto" fell back to "snapshot": orders-db is odd.',
    });
  });

  it('refuses "blue-green" for an ineligible database, naming every reason and the way out', () => {
    expect(() => decideStrategy('blue-green', ['a.', 'b.'], 'orders-db')).toThrow(
      /^strategy: orders-db cannot be rotated with a Blue\/Green deployment: a\. b\. Use "strategy": "snapshot"/,
    );
  });
});
