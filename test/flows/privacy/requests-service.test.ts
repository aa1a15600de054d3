import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Audit } from '../../../src/audit/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { createPrivacyRequests, type PrivacyRequests, type RequestCaller } from '../../../src/privacy/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

const tenant = 'clinic';
const day = 86_400_000;
const staff: RequestCaller = { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, role: 'system', requestId: '', sourceIp: 'local' };

/**
 * The service as other modules use it: a type's fulfilment (wired by the composition root)
 * completes the request with its note and link; a deadline stage whose event could not be
 * recorded is given back, and the next round records it.
 */
for (const engine of engines()) {
  describe(`the requests service, as other modules use it [${engine}]`, () => {
    let t: TestApp;
    let requests: PrivacyRequests;
    let failing = false;
    let subject: string;
    const clock = fixedClock(new Date('2026-05-04T08:00:00Z'));

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      const key = await t.tenant(tenant);
      subject = `Patient/${String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id'])}`;
      const audit: Audit = {
        ...t.app.audit,
        record: async (tenantId, events) => {
          if (failing && events.some((e) => e.action === 'privacy.request_due')) throw new Error('the audit trail is unreachable');
          return t.app.audit.record(tenantId, events);
        },
      };
      requests = createPrivacyRequests({
        storage: t.app.storage,
        keys: t.app.keys,
        audit,
        clock,
        notifier: t.app.notifier,
        accounts: t.app.accounts,
        records: t.app.records,
        tenantIds: async () => [tenant],
        fulfil: { portability: async (_tenantId, request) => ({ note: `Your download for ${request.type} is ready`, link: `/tenants/${tenant}/me/downloads/1` }) },
      });
    });
    after(async () => t?.close());

    it('a wired fulfilment completes the request with its note and link; an unwired type says so', async () => {
      assert.ok(requests.fulfils('portability'));
      assert.ok(!requests.fulfils('access'));
      const asked = await requests.open(tenant, staff, { type: 'portability', subject, channel: 'email', verification: 'Replied from the address on file' });
      const done = await requests.fulfil(tenant, staff, asked.id);
      assert.equal(done.state, 'completed');
      const read = await requests.get(tenant, staff, asked.id);
      assert.deepEqual([read.texts?.outcome, read.texts?.link], ['Your download for portability is ready', `/tenants/${tenant}/me/downloads/1`]);
      const other = await requests.open(tenant, staff, { type: 'access', subject, channel: 'email', verification: 'Replied from the address on file' });
      await assert.rejects(requests.fulfil(tenant, staff, other.id), (e: { code?: string }) => e.code === 'request-fulfil-unavailable');
      await requests.withdraw(tenant, staff, other.id);
    });

    it('a stage whose event failed to record is given back, and recorded by the next round', async () => {
      const asked = await requests.open(tenant, staff, { type: 'restriction', subject, channel: 'letter', verification: 'Signature compared with the admission form' });
      clock.advance(asked.dueAt - asked.receivedAt + day);
      failing = true;
      await assert.rejects(requests.checkDeadlines(), /unreachable/);
      failing = false;
      assert.equal(await requests.checkDeadlines(), 1, 'recorded now');
      assert.equal(await requests.checkDeadlines(), 0, 'once');
      const due = (await t.app.audit.query(tenant, { actions: ['privacy.request_due'], count: 10 })).map((e) => e.detail);
      assert.equal(due.length, 1);
      assert.match(due[0] ?? '', new RegExp(`request=${asked.id} type=restriction state=received stage=overdue`));
    });
  });
}
