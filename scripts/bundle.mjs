#!/usr/bin/env node
// Bundles every Lambda function that template.yaml declares into dist/functions/<file>.mjs with
// esbuild's JS API, using the options in each function's esbuild Metadata: the same ones `sam build`
// uses, read from the template so the two never drift. Prints the size of each bundle.
//
//   npm run bundle                          every function
//   npm run bundle -- StopSourceFunction    only the functions named (logical ids)
//
// Fails, naming the file, when an entry point does not exist, and when a bundle contains esbuild's
// "Dynamic require" shim (a CommonJS require() of a Node built-in that throws inside an ESM bundle).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';

const root = fileURLToPath(new URL('..', import.meta.url));
const templatePath = resolve(root, 'template.yaml');
const outdir = resolve(root, 'dist');

/** @type {typeof import('../cli/template.ts')} */
const { functionHandlers, loadTemplate } = await tsImport('../cli/template.ts', import.meta.url);

class BundleError extends Error {
  name = 'BundleError';
}

const asBoolean = (value, property, logicalId) => {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new BundleError(
    `${logicalId}: BuildProperties.${property} must be true or false (got ${JSON.stringify(value)}).`,
  );
};

const asList = (value, property, logicalId) => {
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  throw new BundleError(
    `${logicalId}: BuildProperties.${property} must be a list of strings, as SAM requires.`,
  );
};

/** `['.js=.mjs']` -> `{ '.js': '.mjs' }` (SAM's spelling of esbuild's key=value flags). */
const asPairs = (value, property, logicalId) =>
  Object.fromEntries(
    asList(value, property, logicalId).map((item) => {
      const equals = item.indexOf('=');
      if (equals < 1)
        throw new BundleError(`${logicalId}: BuildProperties.${property} item "${item}" must be key=value.`);
      return [item.slice(0, equals), item.slice(equals + 1)];
    }),
  );

/**
 * SAM's esbuild BuildProperties -> esbuild build options. The defaults are SAM's (bundle, platform
 * node, target es2020, format cjs, minify). An unknown property fails: silently ignoring it would
 * make `npm run bundle` and `sam build` differ.
 */
const esbuildOptions = ({ logicalId, buildProperties }) => {
  const options = { bundle: true, platform: 'node', target: 'es2020', format: 'cjs', minify: true };
  for (const [property, value] of Object.entries(buildProperties)) {
    switch (property) {
      case 'EntryPoints':
        break; // one per function, handled by the caller
      case 'Format':
      case 'Target':
        options[property.toLowerCase()] = String(value);
        break;
      case 'MainFields':
        options.mainFields = String(value).split(',');
        break;
      case 'Minify':
      case 'Sourcemap':
        options[property.toLowerCase()] = asBoolean(value, property, logicalId);
        break;
      case 'SourcesContent':
        options.sourcesContent = asBoolean(value, property, logicalId);
        break;
      case 'KeepNames':
        options.keepNames = asBoolean(value, property, logicalId);
        break;
      case 'TreeShaking':
        options.treeShaking = asBoolean(value, property, logicalId);
        break;
      case 'External':
        options.external = asList(value, property, logicalId);
        break;
      case 'Loader':
        options.loader = asPairs(value, property, logicalId);
        break;
      case 'OutExtension':
        options.outExtension = asPairs(value, property, logicalId);
        break;
      case 'Banner':
        options.banner = asPairs(value, property, logicalId);
        break;
      case 'Footer':
        options.footer = asPairs(value, property, logicalId);
        break;
      default:
        throw new BundleError(
          `${logicalId}: BuildProperties.${property} is not known to scripts/bundle.mjs. Teach it the esbuild option, so npm run bundle keeps matching sam build.`,
        );
    }
  }
  return options;
};

const formatSize = (bytes) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;

const main = async (only) => {
  const template = loadTemplate(templatePath);
  let functions = functionHandlers(template);
  if (only.length > 0) {
    const unknown = only.filter((id) => !functions.some((fn) => fn.logicalId === id));
    if (unknown.length > 0) {
      throw new BundleError(
        `Not a function of template.yaml: ${unknown.join(', ')}. Functions: ${functions.map((fn) => fn.logicalId).join(', ')}.`,
      );
    }
    functions = functions.filter((fn) => only.includes(fn.logicalId));
  }

  const missing = functions.filter((fn) => !existsSync(resolve(root, fn.handlerFile)));
  if (missing.length > 0) {
    throw new BundleError(
      missing
        .map((fn) => `Missing entry point ${fn.handlerFile}: template.yaml declares ${fn.logicalId} with it.`)
        .join('\n'),
    );
  }

  const results = await Promise.all(
    functions.map(async (fn) => {
      const entry = resolve(root, fn.handlerFile);
      const result = await build({
        ...esbuildOptions(fn),
        entryPoints: [entry],
        // outbase = project root: functions/preflight.ts -> dist/functions/preflight.mjs, the
        // same path as the Handler (functions/preflight.handler).
        outbase: root,
        outdir,
        metafile: true,
        logLevel: 'warning',
      });
      const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'));
      return outputs.map(([file, output]) => ({ fn, file: resolve(root, file), bytes: output.bytes }));
    }),
  );

  const rows = results.flat();
  const width = Math.max(...rows.map(({ file }) => relative(root, file).length));
  const problems = [];
  for (const { fn, file, bytes } of rows) {
    const map = `${file}.map`;
    const mapNote = existsSync(map) ? `  (source map ${formatSize(statSync(map).size)})` : '';
    console.log(
      `${relative(root, file).padEnd(width)}  ${formatSize(bytes).padStart(10)}${mapNote}  ${fn.logicalId}`,
    );
    if (readFileSync(file, 'utf8').includes('Dynamic require of')) {
      problems.push(
        `${relative(root, file)} contains esbuild's dynamic-require shim: a CommonJS dependency calls require() on something the ESM bundle cannot provide, and it throws at run time. Set MainFields module,main, or add a createRequire Banner.`,
      );
    }
  }
  if (problems.length > 0) throw new BundleError(problems.join('\n'));
  console.log(`${rows.length} bundle(s) in ${relative(root, outdir)}/`);
};

try {
  await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof BundleError) {
    console.error(`bundle: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exitCode = 1;
}
