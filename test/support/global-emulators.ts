import type { TestProject } from 'vitest/node';
import { type Emulator, startEmulator } from '../../cli/emulator.js';

/**
 * One moto_server per vitest worker, started once for the whole run: a fresh server answers its
 * first call of each service about a second late (it loads the service then), which 20-odd test
 * files would each pay again. Files of one worker run one after the other, so they share its
 * server; useEmulator() resets it before the file and before each test.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    emulatorEndpoints: string[];
  }
}

export default async function setup(project: TestProject) {
  const workers = Number(project.config.maxWorkers) || 1;
  const emulators: Emulator[] = await Promise.all(Array.from({ length: workers }, () => startEmulator()));
  project.provide(
    'emulatorEndpoints',
    emulators.map((emulator) => emulator.endpoint),
  );
  return async () => {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
  };
}
