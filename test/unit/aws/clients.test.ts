import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientTarget, getClients } from '#aws/clients.js';

describe('getClients', () => {
  let server: Server;
  let requests = 0;
  const previous = process.env.AWS_ENDPOINT_URL;

  beforeAll(async () => {
    // An endpoint that is always unavailable: every request is a retryable 503.
    server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(503, { 'content-type': 'application/x-amz-json-1.1' });
      response.end('{"__type":"ServiceUnavailableException","message":"try later"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    process.env.AWS_ENDPOINT_URL = previous;
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends CreateKey once: an SDK retry could create a second key, since CreateKey has no idempotency token', async () => {
    // Prepare
    requests = 0;

    // Act
    const attempt = getClients().kmsSingleAttempt.send(new CreateKeyCommand({}));

    // Assess
    await expect(attempt).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(requests).toBe(1);
  });

  it('retries idempotent calls itself before a step sees the error', async () => {
    // Prepare
    requests = 0;

    // Act
    const attempt = getClients().kms.send(new ListKeysCommand({}));

    // Assess
    await expect(attempt).rejects.toMatchObject({ $metadata: { httpStatusCode: 503 } });
    expect(requests).toBe(5);
  });

  it('against AWS uses the SDK adaptive retries, with the attempts a client asks for', () => {
    const saved = process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      const { config } = clientTarget();
      expect(config()).toMatchObject({ retryMode: 'adaptive', maxAttempts: 5 });
      expect(config(1)).toMatchObject({ retryMode: 'adaptive', maxAttempts: 1 });
      expect(config()).not.toHaveProperty('retryStrategy');
    } finally {
      process.env.AWS_ENDPOINT_URL = saved;
    }
  });
});
