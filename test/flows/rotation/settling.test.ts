import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const settleMs = 2000;

for (const engine of engines()) {
  describe(`key rotation settling time [${engine}]`, () => {
    let t: TestApp;
    const written = new Map<string, string>();
    let key: string;

    before(async () => {
      t = await startTestApp(engine, {}, { rotationOptions: { settleMs } });
      key = await t.tenant('clinic');
      const tenant = { tenantId: 'clinic', db: await t.app.storage.tenant('clinic') };
      for (let n = 0; n < 5; n += 1) {
        const p = await t.app.records.create(tenant, 'Patient', patient({ name: [{ family: `settle-${n}` }] }));
        written.set(`Patient/${p.id}`, `settle-${n}`);
        const body = JSON.parse(JSON.stringify(observation(p.id, { valueQuantity: undefined, valueString: `settle-obs-${n}` })));
        written.set(`Observation/${(await t.app.records.create(tenant, 'Observation', body)).id}`, `settle-obs-${n}`);
      }
    });
    after(() => t.close());

    it('retires old keys one settling time after the last row moved, not a second one after a sweep that moved nothing', async () => {
      const { job } = await t.app.rotation.start('tenant', 'clinic');
      const began = Date.now();
      let fields = 0;
      let lastMoveSeen = 0;
      const done = await t.app.rotation.run(job.id, {
        onProgress: (current) => {
          if (current.fieldsDone > fields) {
            fields = current.fieldsDone;
            lastMoveSeen = Date.now();
          }
        },
      });
      const took = Date.now() - began;
      assert.equal(done.phase, 'done');
      assert.ok(lastMoveSeen > 0, 'rows were moved');
      // The safety margin is kept: nothing old is retired sooner than settleMs after a row moved.
      assert.ok((done.finishedAt as number) - lastMoveSeen >= settleMs, `retired ${(done.finishedAt as number) - lastMoveSeen} ms after the last move`);
      // One settling time (from the switch, overlapping the pass), not two back to back.
      assert.ok(took < 1.5 * settleMs, `the job took ${took} ms with settleMs ${settleMs}`);
      assert.match(done.retired ?? '', /data key versions 5, key-encryption keys 1/);

      for (const [ref, marker] of written) {
        const response = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${ref}`, key });
        assert.equal(response.statusCode, 200, response.body);
        const body = json(response);
        assert.equal(ref.startsWith('Patient/') ? body['name'][0].family : body['valueString'], marker);
      }
    });
  });
}
