import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** A merge's conflict markers must never ship: in the docs they read as garbage, in code they break it. */
describe('no merge leftovers', () => {
  const texts = /\.(md|ts|mjs|js|json|yml|yaml|sh|css|html)$/;
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.git')) return [];
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : texts.test(name) ? [path] : [];
    });
  // Built, not written out, so that this file does not match itself.
  const marker = new RegExp(`^(${'<'.repeat(7)} |${'='.repeat(7)}$|${'>'.repeat(7)} )`, 'm');

  it('no conflict markers in the docs, the code, the tests or the scripts', () => {
    const found = ['README.md', 'docs', 'src', 'test', 'bench', 'scripts', '.ci'].flatMap((root) => (statSync(root).isDirectory() ? files(root) : [root])).filter((file) => marker.test(readFileSync(file, 'utf8')));
    assert.deepEqual(found, []);
  });
});
