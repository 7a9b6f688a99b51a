import { ModifyDBClusterCommand, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import type { RdsResource } from '#domain/facts.js';

/**
 * Turns a database's deletion protection on or off, at once: off before deleting what a failed
 * rotation created, on again for a source whose protection the freeze lifted.
 */
export const setDeletionProtection = async (
  rds: RDSClient,
  resource: RdsResource,
  identifier: string,
  on: boolean,
): Promise<void> => {
  const change = { DeletionProtection: on, ApplyImmediately: true };
  if (resource === 'db-cluster') {
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: identifier, ...change }));
  } else {
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: identifier, ...change }));
  }
};
