import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type Emulator, startEmulator, useEndpoint } from '../../cli/emulator.js';

/**
 * One moto_server per test file (files run in parallel workers, so they never share state):
 * started before the file's tests, reset before each test, stopped afterwards.
 */
export const useEmulator = (): { readonly endpoint: string } => {
  let emulator: Emulator | undefined;
  const handle = {
    get endpoint(): string {
      if (!emulator) throw new Error('the emulator is not started yet');
      return emulator.endpoint;
    },
  };
  beforeAll(async () => {
    emulator = await startEmulator();
    useEndpoint(emulator.endpoint);
  }, 30_000);
  beforeEach(async () => {
    await emulator?.reset();
  });
  afterAll(async () => {
    await emulator?.stop();
  });
  return handle;
};
