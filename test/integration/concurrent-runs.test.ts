import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { seedSample } from '../../cli/seed.js';
import { useEmulator } from '../support/emulator.js';
import { heldLocks, rotationEndState } from '../support/rotation.js';

/**
 * Issue 3, acceptance check: two `rekey run` processes started at the same moment on the same
 * database, over one moto_server and the CLI's default lock table: exactly one proceeds, the other
 * fails within seconds with "rotation <id> is already in progress for orders-db".
 *
 * Making it deterministic. On moto everything is instant: a whole rotation takes about a second,
 * less than a second process needs to start (node + tsx), so "start the second once the first has
 * printed `> CreateKey`" would usually find the first one finished (and the lock released): the
 * second would then rotate too, or fail on the database the first one deleted. Nothing in the CLI
 * or the runner can slow a run, and the product should not grow a test hook for it. So both
 * processes get, as `--endpoint`, a forwarding proxy (owned by this test) in front of the one
 * moto_server. It forwards every request at once, except the first KMS CreateKey, which it holds
 * until one process has exited. CreateKey is the first call after the lock is taken, so whichever
 * process won the lock waits there, holding it, having changed nothing yet (the source is still
 * available); the other runs its checks against that state and must be refused. Then the held
 * request goes on and the winner completes. Nothing is slowed by time, so the outcome does not
 * depend on scheduling: if both took the lock, the second CreateKey would be forwarded and both
 * would rotate, and the test would fail.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the spawn to the exit. */
  tookMs: number;
}

interface Held {
  proxy: Server;
  url: string;
  /** Resolves when the first CreateKey request arrived (and is held). */
  createKeyHeld: Promise<void>;
  release(): void;
}

/** A forwarding proxy to `upstream` that holds the first KMS CreateKey request until `release()`. */
const holdFirstCreateKey = async (upstream: string): Promise<Held> => {
  const target = new URL(upstream);
  let releaseHeld: (() => void) | undefined;
  let released = false;
  let heldOne = false;
  let signalHeld: () => void = () => undefined;
  const createKeyHeld = new Promise<void>((resolve) => {
    signalHeld = resolve;
  });
  const proxy = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const forward = () => {
        const upstreamRequest = request(
          {
            hostname: target.hostname,
            port: target.port,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
          },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        upstreamRequest.on('error', (error) => outgoing.destroy(error));
        upstreamRequest.end(Buffer.concat(chunks));
      };
      if (incoming.headers['x-amz-target'] === 'TrentService.CreateKey' && !heldOne && !released) {
        heldOne = true;
        releaseHeld = forward;
        signalHeld();
        return;
      }
      forward();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    proxy,
    url: `http://127.0.0.1:${port}`,
    createKeyHeld,
    release: () => {
      released = true;
      releaseHeld?.();
    },
  };
};

/** `rekey run` as a user types it, with no AWS settings in its environment but the CLI's own. */
const rekeyRun = (endpoint: string): { child: ChildProcess; finished: Promise<Finished> } => {
  const started = Date.now();
  const child = spawn(
    process.execPath,
    ['bin/rekey.mjs', 'run', '--input', 'events/break-glass.json', '--endpoint', endpoint],
    { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const finished = new Promise<Finished>((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr, tookMs: Date.now() - started }));
  });
  return { child, finished };
};

const lastLine = (text: string): Record<string, unknown> => {
  const lines = text.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
};

describe('two rekey run processes started at once on the same database', () => {
  const emulator = useEmulator();
  const children: ChildProcess[] = [];
  let held: Held | undefined;

  afterEach(async () => {
    held?.release();
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    held?.proxy.closeAllConnections();
    await new Promise<void>((resolve) => (held ? held.proxy.close(() => resolve()) : resolve()));
  });

  it('lets exactly one proceed; the other fails within seconds, naming the rotation in progress', async () => {
    // Prepare
    const sample = await seedSample();
    held = await holdFirstCreateKey(emulator.endpoint);

    // Act: both at the same moment; once the lock holder waits at CreateKey and one has exited, let go.
    const runs = [rekeyRun(held.url), rekeyRun(held.url)];
    children.push(...runs.map((run) => run.child));
    const firstExit = await Promise.race(runs.map((run, index) => run.finished.then(() => index)));
    await Promise.race([held.createKeyHeld, Promise.all(runs.map((run) => run.finished))]);
    held.release();
    const [a, b] = await Promise.all(runs.map((run) => run.finished));

    // Assess
    const results = [a, b] as Finished[];
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(
      results.map((r) => r.code),
      results.map((r) => r.stderr).join('\n----\n'),
    ).toEqual(expect.arrayContaining([0, 1]));
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const [winner] = winners as [Finished];
    const [loser] = losers as [Finished];
    expect(results.indexOf(loser)).toBe(firstExit);
    expect(lastLine(winner.stdout)).toMatchObject({
      status: 'SUCCEEDED',
      output: { oldInstance: 'deleted' },
    });
    const refusal = lastLine(loser.stdout);
    expect(refusal).toMatchObject({ status: 'FAILED', error: 'RotationInProgressError' });
    expect(refusal.cause).toEqual(
      expect.stringMatching(
        /^rotation rk[0-9a-f]{10} is already in progress for orders-db .*Nothing was changed/,
      ),
    );
    const winnerRotation = (lastLine(winner.stdout).output as { rotationId: string }).rotationId;
    expect(refusal.cause).toContain(`rotation ${winnerRotation} is already in progress for orders-db`);
    expect(loser.tookMs).toBeLessThan(15_000);
    expect(loser.stderr).not.toMatch(/> CreateKey/);

    // Assess: one rotation's worth of change, and no lock left.
    const end = await rotationEndState(sample);
    expect(end.filter((line) => line.startsWith('key new('))).toEqual([`key new(${winnerRotation}) Enabled`]);
    expect(end).toContain('key old PendingDeletion');
    expect(end.filter((line) => line.startsWith('instance '))).toEqual([
      expect.stringMatching(new RegExp(`^instance orders-db-${winnerRotation} available `)),
    ]);
    expect(await heldLocks()).toEqual([]);
  }, 60_000);
});
