import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notificationDeadline } from './notification-deadline.js';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';

describe('notification.deadline', () => {
  const system = { id: 'system:notification', role: 'system', client: 'tresor' };
  const detail = (stage: string) => `incident=0190a1b2-0000-7000-8000-000000000001 item=gdpr.33-1@clinic stage=${stage} due=2026-03-05T09:00:00.000Z cite=GDPR Art. 33(1)`;

  it('one alert per item and stage, louder as the deadline nears', () => {
    const severities = ['two-thirds', 'ninety', 'overdue'].map((stage) => {
      const { findings } = notificationDeadline.evaluate(testEvent({ action: 'notification.deadline_near', actor: system, detail: detail(stage) }), undefined, notificationDeadline.defaults, testRealm);
      assert.equal(findings?.length, 1);
      assert.equal(findings?.[0]?.subject, `incident:0190a1b2-0000-7000-8000-000000000001/gdpr.33-1@clinic/${stage}`);
      return findings?.[0]?.severity;
    });
    assert.deepEqual(severities, ['medium', 'high', 'critical']);
  });

  it('names the provision and the due time in its summary', () => {
    const { findings } = notificationDeadline.evaluate(testEvent({ action: 'notification.deadline_near', actor: system, detail: detail('overdue') }), undefined, notificationDeadline.defaults, testRealm);
    assert.match(findings?.[0]?.summary ?? '', /under GDPR Art\. 33\(1\) is due 2026-03-05T09:00:00\.000Z — it is overdue/);
  });

  it('raises nothing from a detail it cannot read', () => {
    assert.deepEqual(notificationDeadline.evaluate(testEvent({ action: 'notification.deadline_near', actor: system, detail: 'garbled' }), undefined, notificationDeadline.defaults, testRealm), {});
  });
});
