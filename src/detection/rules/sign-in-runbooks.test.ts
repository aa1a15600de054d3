import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { rules } from './index.js';

const signInRules = ['auth.brute-force', 'auth.password-spraying', 'auth.credential-stuffing', 'auth.client-auth-burst', 'auth.new-source', 'auth.operator-sign-in'];

describe('the sign-in and credential rules', () => {
  it('are all in the table, each with a runbook of the four sections and a row in docs/detection.md', () => {
    const table = readFileSync(new URL('../../../docs/detection.md', import.meta.url), 'utf8');
    for (const id of signInRules) {
      const rule = rules.find((r) => r.id === id);
      assert.ok(rule !== undefined, `${id} is registered`);
      const runbook = readFileSync(new URL(`../../../docs/runbooks/${id}.md`, import.meta.url), 'utf8');
      const headings = runbook.split('\n').filter((line) => line.startsWith('#'));
      assert.deepEqual(headings.slice(1), ['## What it means', '## Is it real?', '## Contain', '## Close'], id);
      assert.match(headings[0] ?? '', /^# \S/, id);
      assert.ok(table.includes(`| \`${id}\` | ${rule.severity} |`), `${id} has its row, with its severity`);
      for (const threshold of Object.keys(rule.defaults)) assert.ok(table.includes(`\`${threshold}\``), `${id}: ${threshold} is documented`);
    }
  });
});
