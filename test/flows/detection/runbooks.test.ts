import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runbookDirectory } from '../../../src/console/runbooks.js';
import { rules } from '../../../src/detection/index.js';
import { startTestApp, type TestApp } from '../../support/harness.js';

/**
 * One runbook per rule (docs/runbooks/<rule id>.md) with the four sections every alert's reader
 * needs, in this order; Tresor serves them at /runbooks/ without sign-in, from the install.
 */
const sections = ['## What it means', '## Is it real?', '## Contain', '## Close'];
const repoRunbooks = new URL('../../../docs/runbooks/', import.meta.url);

describe('runbooks', () => {
  it('every rule has docs/runbooks/<id>.md with a title and the four sections, in order', () => {
    const missing: string[] = [];
    for (const rule of rules) {
      const file = new URL(`${rule.id}.md`, repoRunbooks);
      if (!existsSync(file)) {
        missing.push(`${rule.id}: no docs/runbooks/${rule.id}.md`);
        continue;
      }
      const text = readFileSync(file, 'utf8');
      if (!/^# \S/.test(text)) missing.push(`${rule.id}: no "# " title on the first line`);
      const at = sections.map((s) => text.split('\n').findIndex((line) => line.trim() === s));
      for (const [i, s] of sections.entries()) if ((at[i] as number) < 0) missing.push(`${rule.id}: no "${s}"`);
      if (at.every((n) => n >= 0) && at.some((n, i) => i > 0 && n < (at[i - 1] as number))) missing.push(`${rule.id}: sections out of order`);
    }
    assert.deepEqual(missing, []);
  });

  it('reads them from the install: the directory beside the code, shipped with the package', () => {
    assert.equal(fileURLToPath(runbookDirectory), fileURLToPath(repoRunbooks));
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { files?: string[] };
    assert.ok(pkg.files === undefined || pkg.files.includes('docs/runbooks'), 'package.json files ships docs/runbooks');
  });

  describe('served at /runbooks/ [sqlite]', () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp('sqlite');
    });
    after(() => t.close());

    it('lists every rule with a link to its runbook, without sign-in', async () => {
      const index = await t.inject({ method: 'GET', url: '/runbooks/' });
      assert.equal(index.statusCode, 200);
      assert.match(String(index.headers['content-type']), /text\/html/);
      // Each link says the runbook is in English (they are written in English only).
      for (const rule of rules) assert.ok(index.body.includes(`href="/runbooks/${rule.id}" hreflang="en"`), rule.id);
      assert.equal((await t.inject({ method: 'GET', url: '/runbooks/?lang=de' })).statusCode, 200);
    });

    it('renders a runbook as a page: its title, its sections as headings, its text escaped', async () => {
      const page = await t.inject({ method: 'GET', url: '/runbooks/auth.brute-force' });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<h1>Brute force on an account<\/h1>/);
      for (const s of sections) assert.ok(page.body.includes(`<h2>${s.slice(3)}</h2>`), s);
      assert.ok(page.body.includes('<code>Account/&#60;id&#62;</code>'), 'the runbook’s code, escaped');
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    });

    it('answers an unknown id, or anything shaped like a path, with a 404 page', async () => {
      for (const url of ['/runbooks/no.such-rule', '/runbooks/..%2F..%2Fpackage.json', '/runbooks/auth.brute-force%00', '/runbooks/auth.brute-force.md']) {
        const refused = await t.inject({ method: 'GET', url });
        assert.equal(refused.statusCode, 404, url);
        assert.ok(!refused.body.includes('"version"'), url);
      }
    });
  });
});
