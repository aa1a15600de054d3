import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { rules, rulesMarkdown, severities } from '../../../src/detection/index.js';

const docs = new URL('../../../docs/', import.meta.url);

/** The rules that run are the rules documented, each with its runbook in the four sections people rely on. */
describe('detection rules and their documentation', () => {
  it('docs/detection.md holds the output of `tresor detection rules` verbatim', () => {
    const doc = readFileSync(new URL('detection.md', docs), 'utf8');
    assert.ok(doc.includes(rulesMarkdown()), 'regenerate the table: tresor detection rules');
  });

  it('every rule has a unique dotted id, a known severity, a description and thresholds of plain types', () => {
    const ids = rules.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const rule of rules) {
      assert.match(rule.id, /^[a-z]+\.[a-z-]+$/, rule.id);
      assert.ok(severities.includes(rule.severity), rule.id);
      assert.ok(rule.describe.length > 40 && rule.title.length > 5, rule.id);
      for (const value of Object.values(rule.defaults)) assert.ok(['number', 'boolean', 'string'].includes(typeof value) || Array.isArray(value), rule.id);
      if (rule.kind === 'event') assert.ok(rule.actions.length > 0, `${rule.id} watches no action`);
    }
  });

  it('every rule has its runbook: what it means, is it real, contain, close', () => {
    const missing: string[] = [];
    for (const rule of rules) {
      const file = new URL(`runbooks/${rule.id}.md`, docs);
      if (!existsSync(file)) {
        missing.push(`${rule.id}: no docs/runbooks/${rule.id}.md`);
        continue;
      }
      const text = readFileSync(file, 'utf8');
      for (const section of ['## What it means', '## Is it real?', '## Contain', '## Close']) if (!text.includes(`\n${section}\n`)) missing.push(`${rule.id}: no "${section}"`);
    }
    assert.deepEqual(missing, []);
  });
});
