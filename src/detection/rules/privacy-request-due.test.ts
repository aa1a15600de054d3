import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { privacyRequestDue } from './privacy-request-due.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('privacy.request-due', () => {
  const system = { id: 'system:privacy-requests', role: 'system', client: 'tresor' };
  const detail = (stage: string) => `request=0190a1b2-0000-7000-8000-000000000001 type=erasure state=received stage=${stage} due=2026-03-05T09:00:00.000Z`;
  const evaluate = (d: string) => privacyRequestDue.evaluate(testEvent({ action: 'privacy.request_due', actor: system, detail: d }), undefined, privacyRequestDue.defaults, testRealm);

  it('one alert per request and stage, louder once overdue', () => {
    const found = ['two-thirds', 'overdue'].map((stage) => evaluate(detail(stage)).findings?.[0]);
    assert.deepEqual(found.map((f) => f?.subject), ['privacy-request:0190a1b2-0000-7000-8000-000000000001/two-thirds', 'privacy-request:0190a1b2-0000-7000-8000-000000000001/overdue']);
    assert.deepEqual(found.map((f) => f?.severity), ['medium', 'high']);
    assert.match(found[1]?.summary ?? '', /erasure request .* is due 2026-03-05T09:00:00\.000Z — it is overdue/);
  });

  it('raises nothing from a detail it cannot read', () => {
    assert.deepEqual(evaluate('garbled'), {});
  });
});
