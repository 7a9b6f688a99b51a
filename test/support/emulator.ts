import { beforeAll, beforeEach, inject } from 'vitest';
import { useEndpoint } from '../../cli/emulator.js';

/**
 * The emulator of this test file's worker (test/support/global-emulators.ts starts one per
 * worker). Workers run their files one after the other, so no two files share a server at once;
 * it is reset before the file's tests and before each test.
 */
export const useEmulator = (): { readonly endpoint: string } => {
  const endpoints = inject('emulatorEndpoints');
  const pool = Number(process.env.VITEST_POOL_ID ?? '1');
  const endpoint = endpoints[(pool - 1) % endpoints.length];
  if (!endpoint) throw new Error('no emulator was started for the tests (test/support/global-emulators.ts)');
  const reset = async () => {
    const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
  };
  beforeAll(async () => {
    useEndpoint(endpoint);
    await reset();
  });
  beforeEach(reset);
  return { endpoint };
};
