import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestCaller } from '../../../src/privacy/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, type Person } from '../../support/people.js';

const tenant = 'clinic';
const staff: RequestCaller = { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, role: 'system', requestId: '', sourceIp: 'local' };
type Links = { export: { id: string; state: string }; links?: Array<{ name: string; url: string }> };

/**
 * A key rotation retires the data key versions nothing uses any more. Two things outside the
 * records tables are sealed under a patient's data key: what they wrote in a privacy request, and
 * their prepared download. The rotation seals the first again under the new version, and leaves
 * the version a ready download uses in place — so both stay readable once the rotation is done.
 */
for (const engine of engines()) {
  describe(`what is sealed outside the records, across a key rotation [${engine}]`, () => {
    let t: TestApp;
    let anna: Person;
    let subject: string;
    before(async () => {
      t = await startTestApp(engine, {}, { rotationOptions: { settleMs: 10 } });
      const key = await t.tenant(tenant);
      subject = `Patient/${String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id'])}`;
      anna = await signIn(t, tenant, 'patient', 'anna@example.org', { patient: subject });
      // Someone without a download, whose old key version the rotation does retire.
      await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient({ name: [{ family: 'Becker', given: ['Ben'] }] }) });
    });
    after(async () => t?.close());

    it('stays readable once the old key versions are retired', async () => {
      const asked = await t.app.privacyRequests.open(tenant, staff, { type: 'access', subject, channel: 'letter', verification: 'Signed letter, ID card copy seen', text: 'Please send me all my data' });
      const started = await as(t, anna, { method: 'POST', url: `/tenants/${tenant}/privacy/exports`, body: {}, headers: { 'content-type': 'application/json' } });
      assert.equal(started.statusCode, 202, started.body);
      const exportId = json<Links>(started).export.id;
      await t.app.subjectExports.idle();

      const { job } = await t.app.rotation.start('tenant', tenant);
      const done = await t.app.rotation.run(job.id);
      assert.ok(done.finishedAt !== undefined);
      assert.match(done.retired ?? '', /data key versions [1-9]/, 'the rotation retired the old data key versions nothing uses');

      const read = await t.app.privacyRequests.get(tenant, staff, asked.id);
      assert.equal(read.texts?.text, 'Please send me all my data');
      assert.equal(read.texts?.verification, 'Signed letter, ID card copy seen');

      const status = json<Links>(await as(t, anna, { method: 'GET', url: `/tenants/${tenant}/privacy/exports/${exportId}` }));
      assert.equal(status.export.state, 'ready');
      const url = status.links?.find((l) => l.name === 'records.json')?.url as string;
      const file = await as(t, anna, { method: 'GET', url: url.slice(url.indexOf('/tenants/')) });
      assert.equal(file.statusCode, 200, file.body);
      assert.equal(JSON.parse(file.body).resourceType, 'Bundle');
    });
  });
}
