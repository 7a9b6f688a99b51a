import { getClients } from '#aws/clients.js';
import { findInstance } from '#aws/rds.js';
import { rdsArn } from '#domain/naming.js';
import type { ClusterState } from '#domain/state.js';
import type { Retirement } from '#reconcilers/retirement.js';
import type { RetirementOps } from '#targets/ops.js';
import { clusterNames, findCluster } from './lookups.js';

/** The cluster and its members: members keep their identifiers, a rename cutover renames the clusters. */
export const clusterRetirement: RetirementOps<'cluster'> = {
  marks: (state: ClusterState): Retirement => {
    const { plan } = state;
    const names = clusterNames(plan);
    const original = plan.source.dbClusterIdentifier;
    const renamed = plan.cutover.type === 'rename';
    const servingCluster = renamed ? original : names.newDbClusterIdentifier;
    const retiredCluster = renamed ? names.asideDbClusterIdentifier : original;
    return {
      serving: [
        rdsArn(plan, 'cluster', servingCluster),
        ...Object.values(names.newMemberIdentifiers).map((id) => rdsArn(plan, 'db', id)),
      ],
      retired: plan.decisions.deleteOldInstance
        ? [
            rdsArn(plan, 'cluster', retiredCluster),
            ...plan.source.members.map((member) => rdsArn(plan, 'db', member.dbInstanceIdentifier)),
          ]
        : [],
    };
  },
  sources: async (state) => {
    const { plan } = state;
    const { rds } = getClients();
    const clusters = [plan.source.dbClusterIdentifier, clusterNames(plan).asideDbClusterIdentifier];
    const found = [
      ...(await Promise.all(clusters.map((id) => findCluster(rds, id)))).map((cluster) => ({
        arn: cluster?.DBClusterArn,
        tags: cluster?.TagList,
      })),
      ...(await Promise.all(plan.source.members.map((m) => findInstance(rds, m.dbInstanceIdentifier)))).map(
        (db) => ({ arn: db?.DBInstanceArn, tags: db?.TagList }),
      ),
    ];
    return found.flatMap(({ arn, tags }) => (arn ? [{ arn, tags }] : []));
  },
};
