import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json } from '../../support/harness.js';
import { compromise, hour, type Compromise } from './assessment-setup.js';

interface AlertJson {
  id: string;
  rule: string;
  subject: string;
  severity: string;
  summary: string;
}

/**
 * Deadlines, end to end: an incident assessed from a frozen scope (a key read four patients);
 * the clock moves. Before 48 hours of the 72 the Art. 33(1) item raises nothing; past 48 hours
 * the job records the stage and the rule raises an alert, read through the alerts API by the
 * operators and by the tenant's admins; once the item is marked done, neither 90 % nor overdue fires.
 */
for (const engine of engines()) {
  describe(`notification deadlines raise alerts [${engine}]`, () => {
    let c: Compromise;
    let awareAt = 0;
    const key = 'gdpr.33-1@clinic';
    const subject = (stage: string) => `incident:${c.incidentId}/${key}/${stage}`;

    async function round(): Promise<AlertJson[]> {
      await c.t.app.assessments.checkDeadlines();
      await c.t.app.detection?.evaluate('operators');
      await c.t.app.detection?.evaluate(c.tenant);
      const operator = await c.operator();
      const listed = await c.call(operator, 'GET', '/platform/alerts?rule=notification.deadline');
      assert.equal(listed.statusCode, 200, listed.body);
      return (json(listed)['alerts'] as AlertJson[]).filter((a) => a.subject.includes(`/${key}/`));
    }

    before(async () => {
      c = await compromise(engine);
      const operator = await c.operator();
      const assessed = await c.call(operator, 'POST', `/platform/incidents/${c.incidentId}/assessment`, { scopeId: c.scopeId });
      assert.equal(assessed.statusCode, 201, assessed.body);
      const view = json(assessed);
      awareAt = view['awareAt'] as number;
      const item = (view['items'] as Array<{ key: string; answer: string; dueAt: number }>).find((i) => i.key === key);
      assert.equal(item?.answer, 'yes');
      assert.equal(item?.dueAt, awareAt + 72 * hour);
    });
    after(async () => {
      await c.t.close();
    });

    it('before 48 hours: no alert for the 72-hour item', { timeout: 120_000 }, async () => {
      c.clock.now = awareAt + 47 * hour + 59 * 60_000;
      assert.deepEqual(await round(), []);
    });

    it('past 48 hours: one alert for the Art. 33(1) item, for the operators and the tenant’s admins; a second round adds none', { timeout: 120_000 }, async () => {
      c.clock.now = awareAt + 48 * hour + 60_000;
      const alerts = await round();
      assert.deepEqual(alerts.map((a) => [a.rule, a.subject, a.severity]), [['notification.deadline', subject('two-thirds'), 'medium']]);
      assert.match(alerts[0]?.summary ?? '', /GDPR Art\. 33\(1\).*two thirds/);
      assert.ok(c.patients.every((p) => !JSON.stringify(alerts).includes(p.slice('Patient/'.length))), 'no patient in an alert');
      const tenantAlerts = await c.t.app.alerts.list(c.tenant, { rule: 'notification.deadline' });
      assert.ok(tenantAlerts.some((a) => a.subject === subject('two-thirds')), 'the tenant’s admins are alerted too');
      assert.equal((await round()).length, 1, 'one alert per item and stage');
    });

    it('marked done: neither 90 % nor overdue fires', { timeout: 120_000 }, async () => {
      const operator = await c.operator();
      const done = await c.call(operator, 'PATCH', `/platform/incidents/${c.incidentId}/assessment/items/${key}`, { done: { how: 'Reported to the state data protection authority through its online form, reference 2026-0412' } });
      assert.equal(done.statusCode, 200, done.body);
      c.clock.now = awareAt + 70 * hour;
      assert.equal((await round()).length, 1);
      c.clock.now = awareAt + 73 * hour;
      assert.deepEqual((await round()).map((a) => a.subject), [subject('two-thirds')]);
    });

    it('an item not done goes on: the 164.404 item would fire later; an overdue Art. 33(2) notice already fired as critical', { timeout: 120_000 }, async () => {
      const all = await c.t.app.alerts.list('operators', { rule: 'notification.deadline' });
      assert.ok(all.some((a) => a.subject === `incident:${c.incidentId}/gdpr.33-2@clinic/overdue` && a.severity === 'critical'), all.map((a) => a.subject).join(', '));
      assert.ok(!all.some((a) => a.subject.includes('hipaa.164-404')), '60 days are far off');
    });
  });
}
