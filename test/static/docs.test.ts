import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

/**
 * The facts the code relies on live in docs/aws-facts.md, in our words: code and template comments
 * name a section of it (`docs/aws-facts.md#restore`) instead of citing a document that is not in
 * this repository. Every section named must exist.
 */

const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
  });

const sources = [...walk(join(root, 'functions')), ...walk(join(root, 'cli')), join(root, 'template.yaml')];
const facts = readFileSync(join(root, 'docs/aws-facts.md'), 'utf8');
const anchors = new Set([...facts.matchAll(/\{#([a-z0-9-]+)\}/g)].map((match) => match[1]));

describe('docs/aws-facts.md', () => {
  it('has every section the code and the template name', () => {
    const cited = sources.flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/docs\/aws-facts\.md#([a-z0-9-]+)/g)].map((match) => ({
        file: relative(root, file),
        anchor: match[1] ?? '',
      })),
    );
    expect(cited.length).toBeGreaterThan(5);
    expect(cited.filter(({ anchor }) => !anchors.has(anchor))).toEqual([]);
  });

  it('is what the code cites: no comment cites an outside guide or the team notes', () => {
    const outside =
      /DOMAIN(\.md)? fact|User Guide|Developer Guide|Service Authorization Reference|docs\.aws\.amazon\.com/;
    const found = sources.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, index) => ({ line, at: `${relative(root, file)}:${index + 1}` }))
        .filter(({ line }) => outside.test(line))
        .map(({ at }) => at),
    );
    expect(found).toEqual([]);
  });
});
