import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Audit } from '../../../src/audit/index.js';
import { createAssessments } from '../../../src/notification/index.js';
import { engines, json } from '../../support/harness.js';
import { compromise, hour, type Compromise } from './assessment-setup.js';

/**
 * A deadline's alert is never lost: when recording the stage's event fails (the trail's data set
 * unreachable for a moment), the stage is not kept as raised, and the next round raises it.
 */
for (const engine of engines()) {
  describe(`a deadline stage whose event could not be recorded is raised again [${engine}]`, () => {
    let c: Compromise;
    let awareAt = 0;
    before(async () => {
      c = await compromise(engine);
      const assessed = await c.call(await c.operator(), 'POST', `/platform/incidents/${c.incidentId}/assessment`, { scopeId: c.scopeId });
      assert.equal(assessed.statusCode, 201, assessed.body);
      awareAt = json(assessed)['awareAt'] as number;
    });
    after(() => c.t.close());

    it('fails the round, gives the claim back, and the next round records it', { timeout: 120_000 }, async () => {
      const app = c.t.app;
      let failures = 1;
      const flaky: Audit = new Proxy(app.audit, {
        get(target, name, receiver) {
          if (name !== 'record') return Reflect.get(target, name, receiver) as unknown;
          return async (...args: Parameters<Audit['record']>) => {
            if (failures-- > 0) throw Object.assign(new Error('the trail is unreachable'), { code: 'ECONNRESET' });
            return target.record(...args);
          };
        },
      });
      const clock = { now: () => new Date(c.clock.now) };
      const assessments = createAssessments({ storage: app.storage, clock, audit: flaky, incidents: app.incidents, scopes: app.incidentScopes, people: app.affectedPeople, settings: { role: 'processor', regimes: ['gdpr', 'hipaa', 'pci'] }, operatorRealm: 'operators' });
      // 20 hours in: the Art. 33(2) notice to the clinic (24-hour target) is past two thirds.
      c.clock.now = awareAt + 20 * hour;
      await assert.rejects(assessments.checkDeadlines(), /unreachable/);
      const raised = await assessments.checkDeadlines();
      assert.ok(raised >= 1, 'the stage is raised on the next round');
      await app.audit.settle('operators');
      const events = await app.audit.query('operators', { actions: ['notification.deadline_near'], count: 50 });
      assert.ok(events.some((e) => /item=gdpr\.33-2@clinic stage=two-thirds/.test(e.detail)), events.map((e) => e.detail).join('\n'));
      assert.equal(await assessments.checkDeadlines(), 0, 'and only once');
    });
  });
}
