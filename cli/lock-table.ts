import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The lock table name the local runner uses on an emulator (the deployed stack names its own). */
export const LOCAL_LOCK_TABLE = 'rekey-rotation-locks';

/**
 * Creates the rotation lock table on an emulator if it is missing, with the key schema of
 * `RotationLockTable` in template.yaml, so a local run takes the same locks as a deployed one.
 */
export const ensureLockTable = async (name: string): Promise<void> => {
  const client = new DynamoDBClient({
    endpoint: process.env.AWS_ENDPOINT_URL,
    region: process.env.AWS_REGION ?? 'us-east-1',
  });
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'lockKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'lockKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    // Another process (a second `rekey run`) created it at the same moment.
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  } finally {
    client.destroy();
  }
};
