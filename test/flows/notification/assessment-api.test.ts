import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json } from '../../support/harness.js';
import { signInWithTotp, type Person } from '../../support/people.js';
import { compromise, day, hour, start, type Compromise } from './assessment-setup.js';

interface Item {
  key: string;
  rule: string;
  cite: string;
  answer: string;
  effective: string;
  reasoning: string;
  dueAt: number | null;
  override: { answer: string; reason: string; by: string; at: number } | null;
  done: { at: number; by: string; how: string } | null;
}
interface View {
  scopeId: string;
  awareAt: number;
  changed: string[];
  items: Item[];
}

/**
 * The assessment through its API: computed from the frozen scope (the people's residency read
 * from their records), an override needs a reason and keeps the computed answer beside it, the
 * HIPAA notices follow an override of 164.402, recomputing from a newer scope keeps the overrides
 * and says what changed, the time of awareness moves every deadline; a tenant's admin and
 * auditor read their items, other roles are refused; every change is audited in the operators'
 * and the tenant's trail, with counts and ids — never a patient.
 */
for (const engine of engines()) {
  describe(`notification assessment API [${engine}]`, () => {
    let c: Compromise;
    let operator: Person;
    let admin: Person;
    let view: View;
    const url = () => `/platform/incidents/${c.incidentId}/assessment`;
    const item = (v: View, rule: string) => v.items.find((i) => i.rule === rule) as Item;

    before(async () => {
      c = await compromise(engine, { patients: 5 });
      operator = await c.operator();
      admin = await signInWithTotp(c.t, c.tenant, 'tenant-admin', 'admin@clinic.example', () => c.clock.now);
    });
    after(async () => {
      await c.t.close();
    });

    it('none before it is computed; computed from the newest frozen scope, with its reasons and deadlines', { timeout: 120_000 }, async () => {
      const none = await c.call(operator, 'GET', url());
      assert.equal(none.statusCode, 404);
      assert.equal(errorCode(none), 'assessment-not-found');
      const computed = await c.call(operator, 'POST', url());
      assert.equal(computed.statusCode, 201, computed.body);
      assert.equal(computed.headers['cache-control'], 'no-store');
      view = json<View>(computed);
      assert.equal(view.scopeId, c.scopeId);
      assert.deepEqual(Object.fromEntries(view.items.map((i) => [i.rule, i.answer])), {
        'gdpr.33-1': 'yes',
        'gdpr.33-2': 'yes',
        // Names and addresses only (the key read Patient records): whether that is a high risk is a person's call.
        'gdpr.34-1': 'decide',
        'hipaa.164-402': 'yes',
        'hipaa.164-404': 'yes',
        'hipaa.164-406': 'no',
        'hipaa.164-408': 'yes',
        'hipaa.164-410': 'yes',
        'pci.12-10-1': 'not-applicable',
      });
      assert.match(item(view, 'hipaa.164-406').reasoning, /US\/CA 5/, 'residency read from the patients’ addresses');
      assert.match(item(view, 'gdpr.33-1').reasoning, /5 patients .*disclosed in clear through the API by a valid API key/);
      assert.equal(item(view, 'gdpr.33-1').dueAt, view.awareAt + 72 * hour);
      assert.ok(c.patients.every((p) => !JSON.stringify(view).includes(p.slice('Patient/'.length))), 'no patient in the checklist');
    });

    it('an override needs a reason; the computed answer stays beside it and the HIPAA notices follow it', { timeout: 120_000 }, async () => {
      const item402 = `/platform/incidents/${c.incidentId}/assessment/items/hipaa.164-402@clinic`;
      const bare = await c.call(operator, 'PATCH', item402, { answer: 'no' });
      assert.equal(bare.statusCode, 400);
      assert.equal(errorCode(bare), 'assessment-invalid');
      const wrong = await c.call(operator, 'PATCH', item402, { answer: 'maybe', reason: 'x' });
      assert.equal(errorCode(wrong), 'assessment-invalid');
      const unknown = await c.call(operator, 'PATCH', `/platform/incidents/${c.incidentId}/assessment/items/gdpr.99@clinic`, { answer: 'no', reason: 'x' });
      assert.equal(errorCode(unknown), 'assessment-item-not-found');
      const reason = 'Four-factor risk assessment: the key was a test key used by our own integration; low probability of compromise';
      const changed = await c.call(operator, 'PATCH', item402, { answer: 'no', reason });
      assert.equal(changed.statusCode, 200, changed.body);
      view = json<View>(changed);
      const overridden = item(view, 'hipaa.164-402');
      assert.deepEqual([overridden.answer, overridden.effective, overridden.override?.reason, overridden.override?.by], ['yes', 'no', reason, `operator:${operator.accountId}`]);
      assert.equal(item(view, 'hipaa.164-404').answer, 'no', 'follows the person’s answer');
      assert.equal(item(view, 'hipaa.164-410').answer, 'no');
      assert.equal(item(view, 'gdpr.33-1').answer, 'yes', 'GDPR is not HIPAA');
    });

    it('marks an item done with how; refuses a time in the future', { timeout: 120_000 }, async () => {
      const path = `/platform/incidents/${c.incidentId}/assessment/items/gdpr.33-2@clinic`;
      const future = await c.call(operator, 'PATCH', path, { done: { how: 'mailed', at: c.clock.now + day } });
      assert.equal(errorCode(future), 'assessment-invalid');
      const done = await c.call(operator, 'PATCH', path, { done: { how: 'Customer update sent to the clinic’s admins and security contact' } });
      assert.equal(done.statusCode, 200, done.body);
      assert.match(item(json<View>(done), 'gdpr.33-2').done?.how ?? '', /Customer update/);
    });

    it('the time of awareness needs a reason and moves every deadline', { timeout: 120_000 }, async () => {
      const path = `/platform/incidents/${c.incidentId}/assessment/awareness`;
      const bare = await c.call(operator, 'PUT', path, { at: new Date(start + 2 * hour).toISOString() });
      assert.equal(errorCode(bare), 'assessment-invalid');
      const set = await c.call(operator, 'PUT', path, { at: new Date(start + 2 * hour).toISOString(), reason: 'The key’s owner reported it on the phone before the incident was opened' });
      assert.equal(set.statusCode, 200, set.body);
      view = json<View>(set);
      assert.equal(view.awareAt, start + 2 * hour);
      assert.equal(item(view, 'gdpr.33-1').dueAt, start + 2 * hour + 72 * hour);
      assert.equal(item(view, 'hipaa.164-402').effective, 'no', 'the override stays');
    });

    it('recomputing from a newer scope keeps the overrides that still apply and says which answers changed', { timeout: 120_000 }, async () => {
      // A wider window: the same five patients, and the scope now also holds a failed attempt.
      const newer = await c.call(operator, 'POST', `/platform/incidents/${c.incidentId}/scopes`, { from: new Date(start - day).toISOString(), to: new Date(c.clock.now - 1).toISOString(), suspect: { kind: 'raw-files', keysExposed: false }, tenants: [c.tenant] });
      assert.equal(newer.statusCode, 201, newer.body);
      const again = await c.call(operator, 'POST', url(), { scopeId: json(newer)['id'] });
      assert.equal(again.statusCode, 201, again.body);
      view = json<View>(again);
      assert.equal(view.scopeId, json(newer)['id']);
      // Files without the keys: ciphertext only, so the authority item and the others turn to no.
      assert.equal(item(view, 'gdpr.33-1').answer, 'no');
      assert.ok(view.changed.includes('gdpr.33-1@clinic') && view.changed.includes('gdpr.34-1@clinic'), view.changed.join(', '));
      assert.equal(item(view, 'hipaa.164-402').override?.answer, 'no', 'the override is kept');
      assert.ok(item(view, 'gdpr.33-2').done !== null, 'and so is what was done');
      assert.equal(view.awareAt, start + 2 * hour, 'and the awareness set by a person');
    });

    it('a tenant’s admin and auditor read their items; a front desk does not; nobody of the tenant changes them', { timeout: 120_000 }, async () => {
      const own = await c.call(admin, 'GET', `/tenants/${c.tenant}/incidents/${c.incidentId}/assessment`);
      assert.equal(own.statusCode, 200, own.body);
      assert.ok(json<View>(own).items.every((i) => i.key.endsWith('@clinic')));
      const auditor = await c.t.key(c.tenant, 'auditor');
      assert.equal((await c.t.inject({ method: 'GET', url: `/tenants/${c.tenant}/incidents/${c.incidentId}/assessment`, key: auditor })).statusCode, 200);
      const desk = await c.t.key(c.tenant, 'front-desk');
      const refused = await c.t.inject({ method: 'GET', url: `/tenants/${c.tenant}/incidents/${c.incidentId}/assessment`, key: desk });
      assert.equal(refused.statusCode, 403);
      const patch = await c.call(admin, 'PATCH', `/tenants/${c.tenant}/incidents/${c.incidentId}/assessment/items/gdpr.33-1@clinic`, { answer: 'no', reason: 'x' });
      assert.equal(patch.statusCode, 404, 'no such route for a tenant');
      const other = await c.t.tenant('other');
      const stranger = await c.t.inject({ method: 'GET', url: `/tenants/other/incidents/${c.incidentId}/assessment`, key: await c.t.key('other', 'auditor') });
      assert.equal(stranger.statusCode, 404, 'another tenant does not learn of the incident');
      assert.ok(other.length > 0);
    });

    it('every change is audited in the operators’ and the tenant’s trail, counts and ids only', { timeout: 120_000 }, async () => {
      const actions = ['notification.assessed', 'notification.item_changed', 'notification.awareness_set'] as const;
      const ops = await c.t.app.audit.query('operators', { count: 50, actions: [...actions] });
      const tenant = await c.t.app.audit.query(c.tenant, { count: 50, actions: [...actions] });
      for (const events of [ops, tenant]) {
        assert.deepEqual([...new Set(events.map((e) => e.action))].sort(), [...actions].sort());
        assert.ok(events.every((e) => e.resources.includes(`Incident/${c.incidentId}`)));
        const text = JSON.stringify(events);
        assert.ok(c.patients.every((p) => !text.includes(p.slice('Patient/'.length))), 'no patient in the audit detail');
        assert.ok(!text.includes('Four-factor'), 'the reason’s text stays in the assessment, its length in the trail');
      }
      assert.ok(ops.some((e) => e.action === 'notification.item_changed' && /hipaa\.164-402@clinic: answer yes → no/.test(e.detail)));
      const resolved = await c.t.app.audit.query(c.tenant, { count: 10, actions: ['breach.people_resolved'] });
      assert.ok(resolved.length >= 1, 'the residency was read from the patients’ records, as they can see');
    });
  });
}
