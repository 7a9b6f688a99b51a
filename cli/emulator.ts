import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { UsageError } from './errors.js';

/**
 * The embedded AWS emulator: Python moto's `moto_server` on a free loopback port. Used by
 * `npm start` (the demo rotation) and by the integration and state-machine tests.
 */
export interface Emulator {
  endpoint: string;
  port: number;
  /** Forget every resource (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const MOTO_MISSING =
  'moto_server was not found on the PATH. Install the emulator with: pip install "moto[server]==5.2.1" ' +
  '(or set MOTO_SERVER to its path), then run the command again.';

export const startEmulator = async (options: { readyTimeoutMs?: number } = {}): Promise<Emulator> => {
  const command = process.env.MOTO_SERVER ?? 'moto_server';
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(command, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<Error>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ENOENT' ? new UsageError(MOTO_MISSING) : error),
    );
    child.once('exit', (code) =>
      resolve(new Error(`moto_server exited with code ${code}: ${stderr.trim()}`)),
    );
  });

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  let ready = false;
  while (!ready && Date.now() < deadline) {
    const outcome = await Promise.race([
      fetch(`${endpoint}/moto-api/data.json`).then(
        (response) => response.ok,
        () => false,
      ),
      exited,
    ]);
    if (outcome instanceof Error) throw outcome;
    ready = outcome;
    if (!ready) await sleep(100);
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`moto_server did not answer on ${endpoint} within the timeout: ${stderr.trim()}`);
  }

  return {
    endpoint,
    port,
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
};

/** Points this process's AWS SDK clients (and the steps' `getClients`) at `endpoint`. */
export const useEndpoint = (endpoint: string, region = 'us-east-1'): void => {
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = region;
  // The emulator accepts any credentials; real ones are never sent to it.
  process.env.AWS_ACCESS_KEY_ID = 'emulator';
  process.env.AWS_SECRET_ACCESS_KEY = 'emulator';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
};
