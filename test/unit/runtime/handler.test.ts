import { KMSInternalException } from '@aws-sdk/client-kms';
import { DBInstanceNotFoundFault } from '@aws-sdk/client-rds';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { makeHandler } from '#runtime/handler.js';

const context = { functionName: 'test', awsRequestId: 'r', getRemainingTimeInMillis: () => 1000 } as Context;
const throttling = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
  });

describe('makeHandler', () => {
  it('turns AWS throttling into TransientAwsError, which the state machine retries', async () => {
    // Prepare
    const handler = makeHandler(async () => {
      throw throttling();
    });

    // Act / Assess
    await expect(handler({}, context)).rejects.toMatchObject({
      name: 'TransientAwsError',
      message: 'ThrottlingException: Rate exceeded',
    });
  });

  it('turns an AWS 5xx into TransientAwsError', async () => {
    // Prepare
    const handler = makeHandler(async () => {
      throw new KMSInternalException({ message: 'internal', $metadata: { httpStatusCode: 500 } });
    });

    // Act / Assess
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'TransientAwsError' });
  });

  it('keeps the name of a terminal AWS error, so the ASL and the history show it', async () => {
    // Prepare
    const handler = makeHandler(async () => {
      throw new DBInstanceNotFoundFault({ message: 'not found', $metadata: { httpStatusCode: 404 } });
    });

    // Act / Assess
    await expect(handler({}, context)).rejects.toMatchObject({ name: 'DBInstanceNotFoundFault' });
  });

  it('returns the step result', async () => {
    // Prepare
    const handler = makeHandler(async (event: { n: number }) => ({ doubled: event.n * 2 }));

    // Act / Assess
    await expect(handler({ n: 21 }, context)).resolves.toEqual({ doubled: 42 });
  });
});
