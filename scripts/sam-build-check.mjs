#!/usr/bin/env node
// Replays what `sam build` does with the esbuild functions of template.yaml, without SAM, Docker
// or an AWS account, to prove the build works from the production dependencies alone:
//
//   1. copy the project into a clean temporary folder, without node_modules, .git and .aws-sam
//      (the folders SAM's esbuild workflow leaves out of its copy);
//   2. install the production dependencies there with SAM's own command,
//      npm install -q --no-audit --no-save --unsafe-perm --omit=dev (the lock file is copied too);
//   3. take esbuild from that install's node_modules/.bin, as SAM does before it looks on the PATH
//      (here the PATH is not consulted: a global esbuild would hide a missing dependency);
//   4. run it once per function with the arguments SAM builds from its Metadata: the entry points,
//      --bundle --platform=node --outdir=<artifacts>/<LogicalId>, SAM's defaults (target es2020,
//      format cjs, minify) for what BuildProperties leaves out, then every BuildProperty
//      (PascalCase -> kebab-case; true -> --flag, a string -> --flag=value, a list -> --flag:item);
//   5. check each handler the way SAM rewrites it: esbuild writes one flat file per function, so
//      SAM shortens Handler functions/<file>.handler to <file>.handler; that file (.mjs) must exist
//      in the function's artifacts and export the handler.
//
//   npm run build:sam-check            every function (needs the npm registry; about a minute)
//   npm run build:sam-check -- --keep  keep the temporary folder and print where it is

import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const keep = process.argv.includes('--keep');

// What SAM's esbuild workflow leaves out of its copy of the source.
const EXCLUDED = new Set(['.aws-sam', '.git', 'node_modules']);
// Lambda Builders sets these itself, or reads them as options rather than esbuild flags.
const NOT_FLAGS = new Set(['bundle', 'platform', 'outdir', 'entry_points', 'use_npm_ci']);

class CheckError extends Error {
  name = 'CheckError';
}

/** SAM CLI's normalisation (PascalCase -> snake_case), then Lambda Builders' flag (snake -> kebab). */
const snake = (key) => key.replace(/(?<!^)(?=[A-Z])/g, '_').toLowerCase();
const flag = (key) => key.replaceAll('_', '-');

/** The esbuild command line Lambda Builders builds for one function (EsbuildCommandBuilder). */
export const samEsbuildArgs = (buildProperties, outdir) => {
  const config = Object.fromEntries(
    Object.entries(buildProperties).map(([key, value]) => [snake(key), value]),
  );
  const entryPoints = config.entry_points;
  if (!Array.isArray(entryPoints) || entryPoints.length === 0)
    throw new CheckError('BuildProperties.EntryPoints must be a non-empty list.');
  const args = [...entryPoints, '--bundle', '--platform=node', `--outdir=${outdir}`];
  if (!('target' in config)) args.push('--target=es2020');
  if (!('format' in config)) args.push('--format=cjs');
  if (!('minify' in config)) args.push('--minify');
  for (const [key, value] of Object.entries(config)) {
    if (NOT_FLAGS.has(key)) continue;
    if (value === true) args.push(`--${flag(key)}`);
    else if (value === false) continue;
    else if (typeof value === 'string') args.push(`--${flag(key)}=${value}`);
    else if (Array.isArray(value)) args.push(...value.map((item) => `--${flag(key)}:${item}`));
    else throw new CheckError(`BuildProperties.${key}: SAM accepts only booleans, strings and lists.`);
  }
  return args;
};

/** At most `limit` at a time (the machine may have two cores). */
const inPool = async (items, limit, task) => {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

const main = async () => {
  /** @type {typeof import('../cli/template.ts')} */
  const { functionHandlers, loadTemplate } = await tsImport('../cli/template.ts', import.meta.url);
  const functions = functionHandlers(loadTemplate(resolve(root, 'template.yaml')));
  const work = mkdtempSync(join(tmpdir(), 'rekey-sam-build-'));
  const source = join(work, 'source');
  const artifacts = join(work, 'artifacts');
  try {
    console.log(`1. copy of the project in ${source}`);
    cpSync(root, source, { recursive: true, filter: (path) => !EXCLUDED.has(basename(path)) });

    console.log('2. npm install -q --no-audit --no-save --unsafe-perm --omit=dev');
    const started = Date.now();
    await run('npm', ['install', '-q', '--no-audit', '--no-save', '--unsafe-perm', '--omit=dev'], {
      cwd: source,
      maxBuffer: 64 * 1024 * 1024,
    });
    console.log(`   done in ${Math.round((Date.now() - started) / 1000)} s`);

    const { stdout: npmRoot } = await run('npm', ['root'], { cwd: source });
    const esbuild = join(npmRoot.trim(), '.bin', 'esbuild');
    if (!existsSync(esbuild)) {
      throw new CheckError(
        `${esbuild} does not exist after a production-only install: esbuild must be in package.json "dependencies" (sam build installs no devDependencies).`,
      );
    }
    const { stdout: version } = await run(esbuild, ['--version'], { cwd: source });
    const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies?.esbuild;
    if (version.trim() !== pinned) {
      throw new CheckError(
        `The production install has esbuild ${version.trim()}, package.json "dependencies" pins ${pinned ?? 'none'}: sam build would bundle with an esbuild nobody chose.`,
      );
    }
    console.log(`3. esbuild ${version.trim()} from the production install (the version package.json pins)`);

    console.log(`4. esbuild once per function (${functions.length})`);
    const problems = [];
    await inPool(functions, 4, async (fn) => {
      const outdir = join(artifacts, fn.logicalId);
      try {
        await run(esbuild, samEsbuildArgs(fn.buildProperties, outdir), {
          cwd: source,
          maxBuffer: 64 * 1024 * 1024,
        });
      } catch (error) {
        problems.push(`${fn.logicalId}: esbuild failed: ${error.stderr || error.message}`);
      }
    });

    console.log('5. handlers as SAM rewrites them');
    for (const fn of functions) {
      if (problems.some((problem) => problem.startsWith(`${fn.logicalId}:`))) continue;
      const outdir = join(artifacts, fn.logicalId);
      // SAM keeps Handler as written only if <dir>/<file>.js exists in the artifacts; else basename.
      const { dir, name } = parse(fn.handlerFile);
      const asWritten = join(outdir, dir, `${name}.js`);
      const handlerFile = existsSync(asWritten) ? asWritten : join(outdir, `${name}.mjs`);
      if (!existsSync(handlerFile)) {
        problems.push(`${fn.logicalId}: no ${handlerFile} for Handler ${name}.${fn.exportName}`);
        continue;
      }
      if (readFileSync(handlerFile, 'utf8').includes('Dynamic require of')) {
        problems.push(`${fn.logicalId}: ${basename(handlerFile)} contains esbuild's dynamic-require shim.`);
        continue;
      }
      const module = await import(pathToFileURL(handlerFile).href);
      if (typeof module[fn.exportName] !== 'function') {
        problems.push(`${fn.logicalId}: ${basename(handlerFile)} does not export "${fn.exportName}"`);
        continue;
      }
      console.log(
        `   ${fn.logicalId}: ${basename(dirname(handlerFile))}/${basename(handlerFile)} exports ${fn.exportName}`,
      );
    }
    if (problems.length > 0) throw new CheckError(problems.join('\n'));
    console.log(
      `sam build replay: ${functions.length} function(s) bundled from production dependencies only.`,
    );
  } finally {
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    console.error(error instanceof CheckError ? `build:sam-check: ${error.message}` : error);
    process.exitCode = 1;
  }
}
