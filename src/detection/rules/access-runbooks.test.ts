import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { rules } from './index.js';

const accessRules = rules.filter((r) => r.id.startsWith('access.'));

describe('access rules: runbooks and docs', () => {
  it('are the six of the family', () => {
    assert.deepEqual(accessRules.map((r) => r.id).sort(), ['access.bulk-volume', 'access.cross-tenant', 'access.denied-burst', 'access.emergency', 'access.mass-read', 'access.off-hours']);
  });

  for (const rule of accessRules) {
    it(`${rule.id}: a runbook with the four sections in order, and a row in docs/detection.md`, () => {
      const runbook = readFileSync(new URL(`../../../docs/runbooks/${rule.id}.md`, import.meta.url), 'utf8');
      const headings = runbook.split('\n').filter((l) => l.startsWith('#'));
      assert.deepEqual(headings, [`# ${rule.title}`, '## What it means', '## Is it real?', '## Contain', '## Close']);
      const doc = readFileSync(new URL('../../../docs/detection.md', import.meta.url), 'utf8');
      assert.ok(doc.includes(`| \`${rule.id}\` | ${rule.severity}`), `docs/detection.md lists ${rule.id} with its severity`);
      for (const threshold of Object.keys(rule.defaults)) assert.ok(doc.includes(`\`${threshold}\``), `docs/detection.md names ${rule.id}'s ${threshold}`);
    });
  }
});
