import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { functionHandlers } from '../../cli/template.js';
import { samEsbuildArgs } from '../../scripts/sam-build-check.mjs';
import { root, template } from './helpers.js';

/**
 * `sam build` (the esbuild workflow of AWS Lambda Builders) installs the production dependencies
 * only (npm install --omit=dev) and then runs the esbuild of that install's node_modules/.bin. So
 * esbuild must be a production dependency of its own, pinned, and in the lock file: read here
 * statically. `npm run build:sam-check` replays the whole build from a clean folder (it needs the
 * npm registry, so it is not part of npm test).
 */

interface LockPackage {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(`${root}package-lock.json`, 'utf8')) as {
  packages: Record<string, LockPackage>;
};

describe('sam build from the production dependencies', () => {
  it('has esbuild as a pinned production dependency, not a dev one', () => {
    expect(manifest.dependencies.esbuild).toMatch(/^\d+\.\d+\.\d+$/);
    expect(manifest.devDependencies.esbuild).toBeUndefined();
  });

  it('has a lock file that matches package.json (what npm installs is what package.json says)', () => {
    expect(lock.packages['']?.dependencies).toEqual(manifest.dependencies);
    expect(lock.packages['']?.devDependencies).toEqual(manifest.devDependencies);
  });

  it('installs that esbuild, and its Linux and macOS binaries, without the dev dependencies', () => {
    // Act
    const esbuild = lock.packages['node_modules/esbuild'];
    const binaries = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'darwin-x64'].map(
      (platform) => [platform, lock.packages[`node_modules/@esbuild/${platform}`]] as const,
    );

    // Assess: npm install --omit=dev skips exactly the packages the lock marks dev.
    expect(esbuild?.version).toBe(manifest.dependencies.esbuild);
    expect(esbuild?.dev).toBeUndefined();
    for (const [platform, binary] of binaries) {
      expect(binary?.version, platform).toBe(manifest.dependencies.esbuild);
      expect(binary?.dev, platform).toBeUndefined();
      expect(binary?.optional, platform).toBe(true);
    }
  });

  it("builds SAM's esbuild command line from a function's Metadata", () => {
    // Prepare
    const preflight = functionHandlers(template).find(({ logicalId }) => logicalId === 'PreflightFunction');

    // Act
    const args = samEsbuildArgs(preflight?.buildProperties ?? {}, 'out/PreflightFunction');

    // Assess
    expect(args).toEqual([
      'functions/preflight.ts',
      '--bundle',
      '--platform=node',
      '--outdir=out/PreflightFunction',
      '--format=esm',
      '--out-extension:.js=.mjs',
      '--target=es2022',
      '--main-fields=module,main',
      '--sourcemap',
      '--minify',
    ]);
  });
});
