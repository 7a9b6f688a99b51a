import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { lockTableName } from '#features/lock/lock.js';
import { failuresKey } from './store.js';

export const readFailures = async (fleetId: string): Promise<number> => {
  const result = await getClients().dynamodb.send(
    new GetCommand({ TableName: lockTableName(), Key: failuresKey(fleetId), ConsistentRead: true }),
  );
  return Number(result.Item?.failures ?? 0);
};
