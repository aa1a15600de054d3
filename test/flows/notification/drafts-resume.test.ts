import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message, Notifier } from '../../../src/identity/index.js';
import type { IncidentCaller } from '../../../src/incidents/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { writtenFreeText } from './free-text.js';

const caller = (id: string): IncidentCaller => ({ kind: 'operator', actor: { id, role: 'operator', client: 'session' }, requestId: 'r', sourceIp: '127.0.0.1', status: 200 });

/**
 * A relay that refuses one recipient: the send logs that one as failed with the SMTP reply code
 * (never the address), the others as queued; the next send tries only the failed one, and each
 * person ends up with exactly one letter.
 */
for (const engine of engines()) {
  describe(`breach letters: a refused recipient is tried again, nobody twice [${engine}]`, () => {
    let t: TestApp;
    const delivered: Message[] = [];
    let refuse = 'b@example.org';
    const notifier: Notifier = {
      async send(message) {
        if (message.to === refuse) throw Object.assign(new Error(`550 5.1.1 <${message.to}>: mailbox unavailable`), { responseCode: 550 });
        delivered.push(message);
      },
    };
    let incidentId = '';
    let draftId = '';

    before(async () => {
      t = await startTestApp(engine, {}, { notifier, clock: { now: () => new Date() } });
      const writer = await t.tenant('north');
      const reader = await t.app.apiKeys.create({ tenantId: 'north', role: 'service-reader' });
      const started = Date.now() - 1000;
      for (const mail of ['a@example.org', 'b@example.org', 'c@example.org']) {
        const created = await t.inject({ method: 'POST', url: '/tenants/north/fhir/Patient', key: writer, body: patient({ telecom: [{ system: 'email', value: mail }] }) });
        assert.equal((await t.inject({ method: 'GET', url: `/tenants/north/fhir/Patient/${String(json(created)['id'])}`, key: reader.key })).statusCode, 200);
      }
      const drafter = caller('operator:drafter');
      incidentId = (await t.app.incidents.open(drafter, { title: 'Key leaked', severity: 'high', tenants: ['north'] })).incident.id;
      const frozen = await t.app.incidentScopes.freezeScope(drafter, incidentId, { from: started, to: Date.now(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['north'] });
      draftId = (await t.app.noticeDrafts.generate(drafter, incidentId, { scopeId: frozen.id, kinds: ['individual'] }))[0]?.id ?? '';
      await t.app.noticeDrafts.edit(drafter, incidentId, draftId, writtenFreeText);
      await t.app.noticeDrafts.approve(caller('operator:approver'), incidentId, draftId);
    });
    after(async () => t.close());

    it('logs the refusal with its code, then sends only to that one', async () => {
      const first = await t.app.noticeDrafts.send(caller('operator:approver'), incidentId, draftId);
      assert.deepEqual(first.tally, { email: 2, failed: 1, post: 0, unreachable: 0, filed: 0, skipped: 0 });
      const log = await t.app.noticeDrafts.deliveries(caller('operator:approver'), incidentId, draftId);
      const failed = log.filter((r) => r.status === 'failed');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.code, '550');
      assert.ok(!JSON.stringify(log).includes('@'), 'no address in the log, not even from the SMTP answer');
      const [event] = await t.app.audit.query('operators', { actions: ['notice.sent'], count: 1 });
      assert.match(event?.detail ?? '', /email=2 failed=1/);

      refuse = '';
      const second = await t.app.noticeDrafts.send(caller('operator:approver'), incidentId, draftId);
      assert.deepEqual(second.tally, { email: 1, failed: 0, post: 0, unreachable: 0, filed: 0, skipped: 2 });
      assert.deepEqual(delivered.map((m) => m.to).sort(), ['a@example.org', 'b@example.org', 'c@example.org'], 'each person once');
      const retried = (await t.app.noticeDrafts.deliveries(caller('operator:approver'), incidentId, draftId)).find((r) => r.recipient === failed[0]?.recipient);
      assert.deepEqual([retried?.status, retried?.attempts, retried?.code], ['queued', 2, null]);
      for (const message of delivered) assert.ok(!message.text.includes('http'), 'a letter links to nothing');
    });
  });
}
