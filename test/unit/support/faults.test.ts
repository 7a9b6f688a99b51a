import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  KMSInvalidStateException,
} from '@aws-sdk/client-kms';
import { InsufficientDBInstanceCapacityFault, RDSClient, StopDBInstanceCommand } from '@aws-sdk/client-rds';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { isThrottlingError, isTransientError } from '@smithy/core/retry';
import { afterEach, describe, expect, it } from 'vitest';
import { injectFaults, removeFaults, scopeTasks } from '../../support/faults.js';

/**
 * Real SDK clients whose HTTP layer is a stub that counts requests and answers 200 (or whatever
 * `answer` says): the middleware runs in the real stack, with the real retry strategy, and no
 * request leaves the process.
 */
const stubbed = <T>(
  make: (config: object) => T,
  answer: () => { statusCode: number; body: string; headers?: Record<string, string> },
) => {
  const sent: string[] = [];
  const requestHandler = {
    handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
      sent.push(request.headers['x-amz-target'] ?? String(request.body ?? ''));
      const { statusCode, body, headers } = answer();
      return {
        response: {
          statusCode,
          headers: { 'content-type': 'application/x-amz-json-1.1', ...headers },
          body: Readable.from([Buffer.from(body)]),
        },
      };
    },
  };
  const client = make({
    region: 'us-east-1',
    endpoint: 'http://stub.invalid',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 5,
    retryMode: 'adaptive',
    requestHandler,
  });
  return { client, sent };
};

const kmsStub = () =>
  stubbed(
    (config) => new KMSClient(config),
    () => ({ statusCode: 200, body: JSON.stringify({ KeyMetadata: { KeyId: 'k-1', KeyState: 'Enabled' } }) }),
  );

describe('injectFaults', () => {
  afterEach(removeFaults);

  it('throws the SDK’s own exception class on the Nth call only, before anything is sent', async () => {
    // Prepare
    const { client, sent } = kmsStub();
    const faults = injectFaults(
      [{ command: 'DescribeKey', call: 2, fault: { error: 'KMSInvalidStateException' } }],
      {
        kms: client,
      },
    );
    const describe = () => client.send(new DescribeKeyCommand({ KeyId: 'k-1' }));

    // Act
    const first = await describe();
    const second = await describe().catch((error: unknown) => error);
    const third = await describe();

    // Assess
    expect(first.KeyMetadata?.KeyId).toBe('k-1');
    expect(second).toBeInstanceOf(KMSInvalidStateException);
    expect(second).toMatchObject({ name: 'KMSInvalidStateException', $metadata: { httpStatusCode: 400 } });
    expect(third.KeyMetadata?.KeyId).toBe('k-1');
    expect(sent).toHaveLength(2);
    expect(faults.fired).toEqual([
      { command: 'DescribeKey', task: undefined, call: 2, fault: 'KMSInvalidStateException' },
    ]);
  });

  it('gives a throttling error that smithy classifies as throttling, and the SDK does not retry it', async () => {
    // Prepare
    const { client, sent } = kmsStub();
    injectFaults([{ command: 'CreateKey', fault: { error: 'ThrottlingException' } }], { kms: client });

    // Act
    const error = await client.send(new CreateKeyCommand({})).catch((e: unknown) => e);

    // Assess: one error for the caller, no request sent, no SDK retry (it would have reached the stub).
    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    expect(isThrottlingError(error as never)).toBe(true);
    expect(sent).toEqual([]);
  });

  it('loses the response: the request reaches the service once, the caller gets a transient TimeoutError', async () => {
    // Prepare
    const { client, sent } = kmsStub();
    const faults = injectFaults([{ command: 'CreateKey', fault: 'lose-response' }], { kms: client });

    // Act
    const error = await client.send(new CreateKeyCommand({})).catch((e: unknown) => e);
    const again = await client.send(new CreateKeyCommand({}));

    // Assess
    expect(error).toMatchObject({ name: 'TimeoutError', $metadata: {} });
    expect((error as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode).toBeUndefined();
    expect(isTransientError(error as never)).toBe(true);
    expect(sent).toEqual(['TrentService.CreateKey', 'TrentService.CreateKey']);
    expect(again.KeyMetadata?.KeyId).toBe('k-1');
    expect(faults.fired).toEqual([
      { command: 'CreateKey', task: undefined, call: 1, fault: 'lost-response' },
    ]);
  });

  it('uses the RDS fault classes, and only within the Task the rule names', async () => {
    // Prepare
    const { client, sent } = stubbed(
      (config) => new RDSClient(config),
      () => ({
        statusCode: 200,
        headers: { 'content-type': 'text/xml' },
        body: '<StopDBInstanceResponse><StopDBInstanceResult><DBInstance><DBInstanceIdentifier>orders-db</DBInstanceIdentifier></DBInstance></StopDBInstanceResult></StopDBInstanceResponse>',
      }),
    );
    injectFaults(
      [
        {
          command: 'StopDBInstance',
          task: 'StopSource',
          fault: { error: 'InsufficientDBInstanceCapacityFault' },
        },
      ],
      { rds: client },
    );
    const stop = () => client.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'orders-db' }));
    const inTask = scopeTasks()('StopSource', () => stop());

    // Act
    const outside = await stop();
    const inside = await inTask({}).catch((e: unknown) => e);

    // Assess
    expect(outside.DBInstance?.DBInstanceIdentifier).toBe('orders-db');
    expect(inside).toBeInstanceOf(InsufficientDBInstanceCapacityFault);
    expect(sent).toHaveLength(1);
  });

  it('reaches the lock table through the document client, under the low-level command name', async () => {
    // Prepare
    const { client: low, sent } = stubbed(
      (config) => new DynamoDBClient(config),
      () => ({ statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: '{}' }),
    );
    const document = DynamoDBDocumentClient.from(low);
    injectFaults([{ command: 'TransactWriteItems', fault: { error: 'AccessDeniedException' } }], {
      dynamodb: document,
    });

    // Act
    const error = await document
      .send(
        new TransactWriteCommand({ TransactItems: [{ Put: { TableName: 't', Item: { lockKey: 'a' } } }] }),
      )
      .catch((e: unknown) => e);

    // Assess
    expect(error).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
    expect(sent).toEqual([]);
  });

  it('is gone after remove(), and refuses a second installation while one is active', async () => {
    // Prepare
    const { client, sent } = kmsStub();
    const faults = injectFaults(
      [{ command: 'DescribeKey', call: 'every', fault: { error: 'AccessDeniedException' } }],
      {
        kms: client,
      },
    );

    // Act
    const twice = () => injectFaults([], { kms: client });
    const whileInstalled = (() => {
      try {
        twice();
        return 'installed';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    faults.remove();
    const after = await client.send(new DescribeKeyCommand({ KeyId: 'k-1' }));

    // Assess
    expect(whileInstalled).toMatch(/still installed/);
    expect(after.KeyMetadata?.KeyId).toBe('k-1');
    expect(sent).toHaveLength(1);
    expect(client.middlewareStack.identify().some((entry) => entry.includes('rekeyFaultInjection'))).toBe(
      false,
    );
  });
});
