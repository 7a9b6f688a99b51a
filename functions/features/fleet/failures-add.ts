import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getClients } from '#aws/clients.js';
import { lockTableName } from '#features/lock/lock.js';
import { failuresKey } from './store.js';

export const addFailure = async (fleetId: string): Promise<number> => {
  const result = await getClients().dynamodb.send(
    new UpdateCommand({
      TableName: lockTableName(),
      Key: failuresKey(fleetId),
      UpdateExpression: 'ADD failures :one',
      ExpressionAttributeValues: { ':one': 1 },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(result.Attributes?.failures ?? 1);
};
