import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetectionError } from './errors.js';
import { alertJson, parseAlertFilter } from './routes.js';

const ruleIds = ['auth.brute-force', 'access.emergency'];
const refused = (query: Record<string, unknown>) => assert.throws(() => parseAlertFilter(query, ruleIds), (e: unknown) => e instanceof DetectionError && e.code === 'alert-invalid' && e.status === 400, JSON.stringify(query));

describe('the alerts filter', () => {
  it('takes state, severity, rule, before and limit, each once; empty values are no filter', () => {
    assert.deepEqual(parseAlertFilter({}, ruleIds), { limit: 50 });
    assert.deepEqual(parseAlertFilter({ state: 'open', severity: 'critical', rule: 'access.emergency', before: '2026-01-31T12:00:00Z', limit: '10' }, ruleIds), {
      state: 'open',
      severity: 'critical',
      rule: 'access.emergency',
      before: Date.parse('2026-01-31T12:00:00Z'),
      limit: 10,
    });
    assert.deepEqual(parseAlertFilter({ state: '', severity: ' ' }, ruleIds), { limit: 50 });
    assert.equal(parseAlertFilter({ before: '2026-01-31' }, ruleIds).before, Date.parse('2026-01-31'));
  });

  it('refuses what it does not know, naming it: a typo must not show every alert', () => {
    for (const query of [{ status: 'open' }, { state: 'closed' }, { severity: 'urgent' }, { rule: 'auth.nope' }, { before: 'yesterday' }, { before: '2026-13-45T99:00:00Z' }, { limit: '0' }, { limit: '501' }, { limit: '1e3' }, { state: ['open', 'resolved'] }]) refused(query);
  });
});

describe('an alert as JSON', () => {
  it('carries ids, counts, times, who and the runbook; no state it does not have', () => {
    const json = alertJson({ id: 'a', realm: 'clinic', rule: 'auth.brute-force', severity: 'high', title: 'T', subject: 'Account/usr_1', summary: 's', state: 'resolved', count: 2, firstAt: 0, lastAt: 1000, resolvedBy: 'account:usr_2', resolvedAt: 2000, note: 'n' }, '/runbooks/auth.brute-force');
    assert.deepEqual(json.resolved, { by: 'account:usr_2', at: '1970-01-01T00:00:02.000Z', note: 'n' });
    assert.equal(json.acknowledged, null);
    assert.equal(json.lastSeen, '1970-01-01T00:00:01.000Z');
    assert.equal(json.runbook, '/runbooks/auth.brute-force');
  });
});
