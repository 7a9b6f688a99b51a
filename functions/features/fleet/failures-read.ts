import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { failuresKey, lockTable } from './store.js';

export const readFailures = async (fleetId: string): Promise<number> => {
  const result = await getClients().dynamodb.send(
    new GetCommand({ TableName: lockTable(), Key: failuresKey(fleetId), ConsistentRead: true }),
  );
  return Number(result.Item?.failures ?? 0);
};
