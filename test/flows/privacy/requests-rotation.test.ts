import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RequestCaller } from '../../../src/privacy/index.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

const tenant = 'clinic';
const staff: RequestCaller = { actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, role: 'system', requestId: '', sourceIp: 'local' };

/**
 * A key rotation retires the data key versions nothing uses any more. What a patient wrote in a
 * request is sealed under their data key like their records: the rotation seals it again under
 * the new version, so it stays readable after the old versions are gone.
 */
for (const engine of engines()) {
  describe(`request texts after a key rotation [${engine}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(engine, {}, { rotationOptions: { settleMs: 10 } });
    });
    after(async () => t?.close());

    it('stay readable once the old key versions are retired', async () => {
      const key = await t.tenant(tenant);
      const subject = `Patient/${String(json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id'])}`;
      const asked = await t.app.privacyRequests.open(tenant, staff, { type: 'access', subject, channel: 'letter', verification: 'Signed letter, ID card copy seen', text: 'Please send me all my data' });
      const { job } = await t.app.rotation.start('tenant', tenant);
      const done = await t.app.rotation.run(job.id);
      assert.ok(done.finishedAt !== undefined);
      assert.match(done.retired ?? '', /data key versions [1-9]/, 'the rotation retired the old data key versions');
      const read = await t.app.privacyRequests.get(tenant, staff, asked.id);
      assert.equal(read.texts?.text, 'Please send me all my data');
      assert.equal(read.texts?.verification, 'Signed letter, ID card copy seen');
    });
  });
}
