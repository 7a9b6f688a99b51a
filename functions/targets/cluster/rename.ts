import { type DBCluster, ModifyDBClusterCommand, type RDSClient } from '@aws-sdk/client-rds';
import {
  type RenameAdapter,
  type RenameProgress,
  type RenameStep,
  reconcileRenameOf,
} from '#reconcilers/rename.js';
import { findCluster } from './lookups.js';

/** Aurora clusters, for the rename reconciler (ModifyDBCluster with NewDBClusterIdentifier). */
export const clusterRenames: RenameAdapter<DBCluster> = {
  noun: 'DB cluster',
  find: findCluster,
  statusOf: (cluster) => cluster.Status,
  rename: async (rds, from, to, alsoModify) => {
    await rds.send(
      new ModifyDBClusterCommand({
        DBClusterIdentifier: from,
        NewDBClusterIdentifier: to,
        ApplyImmediately: true,
        ...alsoModify,
      }),
    );
  },
  errors: 'cluster',
};

/** One check of a DB cluster rename (see reconcileRenameOf). */
export const reconcileClusterRename = (
  rds: RDSClient,
  step: RenameStep<DBCluster>,
): Promise<RenameProgress> => reconcileRenameOf(clusterRenames, rds, step);
