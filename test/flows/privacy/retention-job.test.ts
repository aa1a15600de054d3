import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const day = 86_400_000;

/**
 * Retention by class with a moved clock: a patient every class of whom expired is crypto-shredded,
 * one on legal hold is reported and kept, and a patient still kept loses only the records of the
 * class that expired (record by record). The preview says it beforehand, the report afterwards.
 */
for (const engine of engines()) {
  describe(`retention by class [${engine}]`, () => {
    let t: TestApp;
    let service: string;
    let admin: string;
    const base = fixedClock(new Date('2026-01-01T08:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const ids: Record<string, string> = {};
    const invoice = (id: string) => ({ resourceType: 'Invoice', status: 'issued', subject: { reference: `Patient/${id}` }, date: '2026-01-02', totalGross: { value: 120, currency: 'EUR' } });

    before(async () => {
      t = await startTestApp(engine, { retention: { job: { enabled: false } } }, { clock });
      service = await t.tenant('clinic', 'service');
      admin = await t.key('clinic', 'tenant-admin');
      const settings = await t.inject({ method: 'PUT', url: '/tenants/clinic/privacy/retention', key: admin, body: { medicalRecords: 2, personal: 3, health: 3, payment: 1 }, headers: { 'content-type': 'application/json' } });
      assert.equal(settings.statusCode, 200, settings.body);
      const create = async (body: unknown) => {
        const r = await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${(body as { resourceType: string }).resourceType}`, key: service, body });
        assert.equal(r.statusCode, 201, r.body);
        return json(r)['id'] as string;
      };
      for (const name of ['gone', 'held']) {
        ids[name] = await create(patient({ name: [{ family: name, given: ['Test'] }] }));
        ids[`${name}Obs`] = await create(observation(ids[name] as string, { effectiveDateTime: '2026-01-01T08:00:00Z' }));
        ids[`${name}Invoice`] = await create(invoice(ids[name] as string));
      }
      const hold = await t.inject({ method: 'POST', url: '/tenants/clinic/privacy/holds', key: admin, body: { subject: `Patient/${ids['held']}`, reason: 'insurer dispute' }, headers: { 'content-type': 'application/json' } });
      assert.equal(hold.statusCode, 201, hold.body);
      // Two and a half years on, a patient still in treatment.
      base.advance(913 * day);
      ids['kept'] = await create(patient({ name: [{ family: 'kept', given: ['Test'] }] }));
      ids['keptObs'] = await create(observation(ids['kept'] as string, { effectiveDateTime: new Date(base.now()).toISOString() }));
      ids['keptInvoice'] = await create(invoice(ids['kept'] as string));
      // To 2030: "gone" and "held" expired in every class (3 years), "kept" only its invoices (1 year).
      base.set(new Date('2030-01-10T00:00:00Z'));
    });
    after(async () => t?.close());

    const read = async (type: string, id: string | undefined) => (await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${type}/${id}`, key: service })).statusCode;

    it('the preview lists what expires and when, the held patient marked', async () => {
      const preview = await t.inject({ method: 'GET', url: '/tenants/clinic/privacy/retention/preview?days=90', key: admin });
      assert.equal(preview.statusCode, 200, preview.body);
      const expiring = json(preview)['expiring'] as Array<{ subject: string; held: boolean; erasedWholeAt?: string; classes: Array<{ class: string; records: number; expiresAt: string }> }>;
      const of = (name: string) => expiring.find((s) => s.subject === `Patient/${ids[name]}`);
      assert.equal(of('gone')?.held, false);
      assert.ok(of('gone')?.erasedWholeAt !== undefined);
      assert.equal(of('held')?.held, true);
      assert.deepEqual(of('kept')?.classes.map((c) => c.class), ['payment', 'personal', 'health']);
      assert.equal(of('kept')?.erasedWholeAt !== undefined && (of('kept')?.erasedWholeAt as string) > '2030-04-10', true, 'kept whole beyond the 90 days');
    });

    it('a run erases exactly the expired ones, skips the held one, and its report says so', async () => {
      const run = await t.inject({ method: 'POST', url: '/tenants/clinic/privacy/retention/run', key: admin });
      assert.equal(run.statusCode, 200, run.body);
      const report = json(run)['report'];
      assert.equal(report.subjectsErased, 1);
      assert.deepEqual(report.recordsErased, { personal: 1, health: 1, payment: 2 });
      assert.deepEqual(report.held.map((h: { subject: string; why: string; classes: string[] }) => [h.subject, h.why, [...h.classes].sort()]), [[`Patient/${ids['held']}`, 'legal-hold', ['health', 'payment', 'personal']]]);
      assert.deepEqual(report.failures, []);

      for (const [type, name] of [['Patient', 'gone'], ['Observation', 'goneObs'], ['Invoice', 'goneInvoice'], ['Invoice', 'keptInvoice']] as const) assert.equal(await read(type, ids[name]), 410, `${name} erased`);
      for (const [type, name] of [['Patient', 'held'], ['Observation', 'heldObs'], ['Invoice', 'heldInvoice'], ['Patient', 'kept'], ['Observation', 'keptObs']] as const) assert.equal(await read(type, ids[name]), 200, `${name} kept`);
      const invoices = json(await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Invoice?subject=Patient/${ids['kept']}`, key: service }));
      assert.equal((invoices['entry'] ?? []).length, 0, 'the erased invoice left the search index');

      const erasures = json(await t.inject({ method: 'GET', url: '/tenants/clinic/privacy/erasures', key: admin }))['erasures'];
      assert.deepEqual(erasures.map((e: { subject: string; source: string }) => [e.subject, e.source]), [[`Patient/${ids['gone']}`, 'retention']]);
      const reports = json(await t.inject({ method: 'GET', url: '/tenants/clinic/privacy/retention/reports', key: admin }))['reports'];
      assert.equal(reports[0].id, report.id);
      const [event] = await t.app.audit.query('clinic', { count: 1, actions: ['retention.run'] });
      assert.match(event?.detail ?? '', /1 patients erased; records erased personal 1, health 1, payment 2; 1 held; 0 failed/);
      assert.deepEqual(event?.subjects, [`Patient/${ids['held']}`]);

      const again = json(await t.inject({ method: 'POST', url: '/tenants/clinic/privacy/retention/run', key: admin }))['report'];
      assert.equal(again.subjectsErased, 0, 'nothing twice');
      assert.deepEqual(again.recordsErased, { personal: 0, health: 0, payment: 0 });
    });
  });
}
