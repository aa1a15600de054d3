import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erasureMessage } from './erasure-message.js';

describe('the erasure confirmation', () => {
  it('says when, in both languages, to the address given; escapes the clinic name; carries no link', () => {
    const m = erasureMessage({ tenantId: 'clinic', tenantName: 'Praxis <Dr. Weiß>', accountId: 'acc_1', to: 'vera@example.org', erasedAt: '2026-06-01T08:00:00.000Z' });
    assert.equal(m.kind, 'erasure');
    assert.equal(m.to, 'vera@example.org');
    assert.match(m.text, /am 2026-06-01 gelöscht/);
    assert.match(m.text, /erased on 2026-06-01/);
    assert.doesNotMatch(m.text, /https?:\/\//);
    assert.doesNotMatch(m.html ?? '', /href=/);
    assert.match(m.html ?? '', /Praxis &#60;Dr\. Weiß&#62;/);
  });
});
