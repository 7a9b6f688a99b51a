import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

/**
 * The layers of functions/ and the direction of their imports (docs/architecture.md). Each file
 * belongs to the layer named by its first folder under functions/ (`#domain/...` is
 * functions/domain/...); a file directly in functions/ is a handler, a template entry point.
 * A layer may import only the layers listed for it; nothing imports a handler; the CLI reaches
 * no step internals; and no group of files imports itself round in a cycle.
 */

type Layer =
  | 'domain'
  | 'runtime'
  | 'aws'
  | 'reconcilers'
  | 'features'
  | 'targets'
  | 'strategies'
  | 'handler'
  | 'cli';

const LAYERS = ['domain', 'runtime', 'aws', 'reconcilers', 'features', 'targets', 'strategies'] as const;

/** What each layer may import (besides third-party packages). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  domain: ['domain'],
  runtime: ['domain', 'runtime'],
  aws: ['domain', 'runtime', 'aws'],
  reconcilers: ['domain', 'runtime', 'aws', 'reconcilers'],
  features: ['domain', 'runtime', 'aws', 'reconcilers', 'features'],
  targets: ['domain', 'runtime', 'aws', 'reconcilers', 'features', 'targets'],
  strategies: ['domain', 'runtime', 'aws', 'reconcilers', 'features', 'targets', 'strategies'],
  handler: ['domain', 'runtime', 'aws', 'reconcilers', 'features', 'targets', 'strategies'],
  // The CLI runs handlers only through template.yaml (cli/template.ts) and reads the domain, the
  // clients and the features' public shapes (evidence schema, local history); never a step's insides.
  cli: ['domain', 'runtime', 'aws', 'features', 'cli'],
};

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') ? [path] : [];
  });

const sourceFiles = [...walk(join(root, 'functions')), ...walk(join(root, 'cli'))].map((file) =>
  relative(root, file),
);

const layerOf = (file: string): Layer | null => {
  const parts = file.split('/');
  if (parts[0] === 'cli') return 'cli';
  if (parts[0] !== 'functions') return null;
  if (parts.length === 2) return 'handler';
  const layer = parts[1] as (typeof LAYERS)[number];
  return LAYERS.includes(layer) ? layer : null;
};

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Project files a file imports, resolved to paths relative to the root (`.js` specifiers name `.ts` files). */
const importsOf = (file: string): string[] => {
  const text = readFileSync(join(root, file), 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2] ?? '';
    let target: string | null = null;
    if (specifier.startsWith('#')) target = `functions/${specifier.slice(1)}`;
    else if (specifier.startsWith('.')) target = normalize(join(dirname(file), specifier));
    if (target === null) continue;
    const ts = target.replace(/\.js$/, '.ts');
    found.push(existsSync(join(root, ts)) ? ts : target);
  }
  return found;
};

const graph = new Map(sourceFiles.map((file) => [file, importsOf(file)]));

/** Strongly connected components with more than one file (or a file importing itself): Tarjan. */
const cycles = (): string[][] => {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indices.get(next) ?? 0));
      }
    }
    if (low.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return found;
};

describe('layers of functions/ (docs/architecture.md)', () => {
  it('puts every file of functions/ in a known layer', () => {
    const unplaced = sourceFiles.filter((file) => file.startsWith('functions/') && layerOf(file) === null);
    expect(unplaced, 'move each file into one of the layer folders').toEqual([]);
  });

  it('imports only along the allowed directions, and never a handler', () => {
    const violations = [...graph].flatMap(([file, targets]) => {
      const from = layerOf(file);
      if (from === null) return [];
      return targets.flatMap((target) => {
        const to = layerOf(target);
        if (to === null || ALLOWED[from].includes(to)) return [];
        return [`${file} (${from}) imports ${target} (${to})`];
      });
    });
    expect(violations).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(cycles()).toEqual([]);
  });

  it('resolves every project import to a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !existsSync(join(root, target))).map((target) => `${file} -> ${target}`),
    );
    expect(missing).toEqual([]);
  });

  // The checks above would pass on an empty graph: make sure the parser sees the imports.
  it('reads the imports of the files (a known edge is found)', () => {
    expect(graph.get('functions/cutover.ts')).toContain('functions/runtime/handler.ts');
    expect(layerOf('functions/domain/naming.ts')).toBe('domain');
    expect(layerOf('functions/cutover.ts')).toBe('handler');
  });
});
