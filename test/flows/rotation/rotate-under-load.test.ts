import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

const base = '/tenants/clinic/fhir';

for (const engine of engines()) {
  describe(`key rotation under concurrent writes [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    /** What each resource must read back as: its last written marker. */
    const expected = new Map<string, string>();
    const markerOf = (body: Record<string, unknown>) => (body['resourceType'] === 'Patient' ? (body['name'] as Array<{ family: string }>)[0]?.family : (body['valueString'] as string));
    const get = (url: string) => t.inject({ method: 'GET', url: `${base}/${url}`, key });
    const write = async (method: 'POST' | 'PUT', path: string, body: Record<string, unknown>) => {
      const response = await t.inject({ method, url: `${base}/${path}`, key, body });
      assert.ok(response.statusCode === 200 || response.statusCode === 201, `${method} ${path}: ${response.statusCode} ${response.body}`);
      const id = json(response)['id'] as string;
      expected.set(`${body['resourceType'] as string}/${id}`, markerOf(body) as string);
      return id;
    };
    const patientBody = (n: number, round: number) => patient({ name: [{ family: `fam-${n}-r${round}` }], identifier: [{ system: 'urn:mrn', value: `mrn-${n}` }] });
    const observationBody = (patientId: string, marker: string): Record<string, unknown> => JSON.parse(JSON.stringify(observation(patientId, { valueQuantity: undefined, valueString: marker })));
    let patients: string[] = [];
    let tampered = '';
    let erasedPatient = '';
    let staleWrite: Awaited<ReturnType<TestApp['app']['records']['prepare']>>;

    before(async () => {
      t = await startTestApp(engine, {}, { rotationOptions: { batchRows: 7 } });
      key = await t.tenant('clinic');
      for (let n = 0; n < 20; n += 1) {
        const id = await write('POST', 'Patient', patientBody(n, 0));
        patients.push(id);
        for (let o = 0; o < 3; o += 1) await write('POST', 'Observation', observationBody(id, `obs-${n}-${o}`));
        await write('PUT', `Patient/${id}`, { ...patientBody(n, 1), id });
      }
      // One patient erased before the rotation: its data stays under its destroyed key.
      erasedPatient = patients[19] as string;
      await t.app.keys.shred('clinic', `Patient/${erasedPatient}`);
      await t.app.records.erase({ tenantId: 'clinic', db: await t.app.storage.tenant('clinic') }, `Patient/${erasedPatient}`);
      patients = patients.slice(0, 19);
      for (const id of [...expected.keys()]) if (expected.get(id)?.startsWith('fam-19') || expected.get(id)?.startsWith('obs-19')) expected.delete(id);
      // One stored version tampered with: it cannot be re-encrypted, so its old key must survive.
      const db = await t.app.storage.tenant('clinic');
      const row = (await db.query<{ id: string; sealed: string }>(`SELECT id, sealed FROM ${db.table('resource_versions')} WHERE resource_type = 'Patient' AND id = ? AND version_id = 1`, [patients[0] as string]))[0];
      tampered = row?.id as string;
      const flipped = (row?.sealed as string).replace(/\.([A-Za-z0-9_-])([A-Za-z0-9_-]*)"\]$/, (_m, c: string, rest: string) => `.${c === 'A' ? 'B' : 'A'}${rest}"]`);
      await db.execute(`UPDATE ${db.table('resource_versions')} SET sealed = ? WHERE resource_type = 'Patient' AND id = ? AND version_id = 1`, [flipped, tampered]);
      // A write prepared (its key fetched) before the rotation and committed after it.
      staleWrite = await t.app.records.prepare('clinic', 'Observation', observationBody(patients[1] as string, 'late'), { mode: 'create' });
    });
    after(() => t.close());

    it('re-encrypts everything onto the new generation while writes and reads go on, and loses nothing', async () => {
      const { job, resumed } = await t.app.rotation.start('tenant', 'clinic');
      assert.equal(resumed, false);
      assert.equal(job.generation, 2);
      // New writes use the new generation at once.
      const fresh = await write('POST', 'Patient', patientBody(100, 0));
      const db = await t.app.storage.tenant('clinic');
      const versionOf = async (table: string, id: string) => (await db.query<{ key_version: number }>(`SELECT key_version FROM ${db.table(table)} WHERE id = ?`, [id]))[0]?.key_version;
      assert.equal(await versionOf('resources', fresh), 2);

      let rotating = true;
      const running = t.app.rotation.run(job.id).finally(() => (rotating = false));
      let writes = 0;
      let reads = 0;
      const load = (async () => {
        for (let round = 2; rotating; round += 1) {
          for (const [n, id] of patients.entries()) {
            if (!rotating) break;
            await write('PUT', `Patient/${id}`, { ...patientBody(n, round), id });
            await write('POST', 'Observation', observationBody(id, `during-${n}-${round}`));
            const read = await get(`Observation?patient=${id}&_count=1`);
            assert.equal(read.statusCode, 200, read.body);
            writes += 2;
            reads += 1;
          }
        }
      })();
      const done = await running;
      await load;
      assert.ok(writes > 0 && reads > 0, 'traffic ran during the rotation');
      assert.equal(done.phase, 'done');
      assert.equal(done.rowsFailed, 1, 'the tampered version is reported, not silently dropped');
      assert.ok(done.fieldsDone > 0);

      // Everything written before and during the rotation reads back as written.
      for (const [ref, marker] of expected) {
        const response = await get(ref);
        assert.equal(response.statusCode, 200, `${ref}: ${response.body}`);
        assert.equal(markerOf(json(response)), marker, ref);
      }
      assert.equal(json(await get('Patient?identifier=urn:mrn|mrn-3'))['total'], 1, 'blind-index search still finds');
      const history = json(await get(`Patient/${patients[2] as string}/_history`));
      assert.ok(history['entry'].length >= 2);
      for (const entry of history['entry']) assert.match(entry.resource.name[0].family, /^fam-2-r\d+$/);
      // The erased patient stays erased.
      assert.equal(errorCode(await get(`Patient/${erasedPatient}`)), 'erased');
      assert.equal((await get(`Patient/${erasedPatient}`)).statusCode, 410);
    });

    it('leaves nothing under the old generation but the erased and the tampered, and retires every old key nothing uses', async () => {
      const db = await t.app.storage.tenant('clinic');
      const stale = await db.query<{ id: string; n: number | string }>(
        `SELECT id, COUNT(*) AS n FROM ${db.table('resource_versions')} WHERE key_version < 2 GROUP BY id UNION ALL SELECT id, COUNT(*) AS n FROM ${db.table('resources')} WHERE key_version < 2 AND deleted < 2 GROUP BY id`,
      );
      const erased = new Set((await db.query<{ id: string }>(`SELECT id FROM ${db.table('resources')} WHERE key_subject = ?`, [`Patient/${erasedPatient}`])).map((r) => r.id));
      assert.equal(erased.size, 4, 'the erased patient and its three observations');
      assert.deepEqual(
        stale.map((r) => r.id).filter((id) => !erased.has(id)),
        [tampered],
        'only the tampered version (and the erased patient’s records) is under generation 1',
      );
      const keysDb = t.app.storage.keys;
      const live = await keysDb.query<{ subject: string; version: number }>(`SELECT subject, version FROM ${keysDb.table('data_keys')} WHERE tenant_id = 'clinic' AND version < 2 AND wrapped IS NOT NULL`);
      assert.deepEqual(
        live.map((r) => r.subject),
        [`Patient/${tampered}`],
        'the one old data key still referenced is kept; all others are retired',
      );
      const keks = await keysDb.query<{ version: number }>(`SELECT version FROM ${keysDb.table('tenant_keys')} WHERE tenant_id = 'clinic' AND purpose = 'kek' ORDER BY version`);
      assert.deepEqual(
        keks.map((r) => Number(r.version)),
        [1, 2],
        'the old KEK stays as long as a data key it wraps does',
      );
      const shredded = await keysDb.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${keysDb.table('data_keys')} WHERE subject = ? AND wrapped IS NULL`, [`Patient/${erasedPatient}`]);
      assert.ok(Number(shredded[0]?.n) >= 1, 'the erased patient’s key stays destroyed and on record');
    });

    it('refuses a write sealed under the old generation after the rotation, with a retryable 503', async () => {
      const db = await t.app.storage.tenant('clinic');
      await assert.rejects(
        db.transaction((tx) => t.app.records.createIn({ tenantId: 'clinic', db: tx }, staleWrite)),
        (e: { code?: string; status?: number; headers?: Record<string, string> }) => e.code === 'key-rotated' && e.status === 503 && e.headers?.['retry-after'] === '1',
      );
      const retried = await t.app.records.create({ tenantId: 'clinic', db }, 'Observation', observationBody(patients[1] as string, 'late'));
      assert.equal(JSON.parse(retried.content).valueString, 'late');
    });

    it('reports progress in /metrics and logs the integrity failure without content', async () => {
      const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(metrics, /tresor_key_rotation_progress_ratio\{scope="tenant",tenant="clinic"\} 1/);
      assert.match(metrics, /tresor_key_rotation_rows_failed\{scope="tenant",tenant="clinic"\} 1/);
      assert.match(metrics, /tresor_key_rotation_generation\{scope="tenant",tenant="clinic"\} 2/);
      assert.match(metrics, /tresor_key_rotation_fields_done\{scope="tenant",tenant="clinic"\} [1-9]/);
      const failure = t.logs.find((line) => line.includes('rotation.integrity-failed'));
      assert.ok(failure, 'an integrity failure is logged for detection');
      assert.match(failure as string, new RegExp(tampered));
      const all = t.logs.join('\n');
      for (const marker of ['fam-', 'obs-', 'during-', 'mrn-']) assert.ok(!all.includes(marker), `logs hold ${marker}`);
    });

    it('rotates the master key: tenant keys re-wrapped, the old master version retired from the key ring', async () => {
      const { job } = await t.app.rotation.start('master');
      assert.equal(job.generation, 2);
      const done = await t.app.rotation.run(job.id);
      assert.equal(done.phase, 'done');
      assert.ok(done.rowsDone >= 2);
      assert.match(done.retired ?? '', /master versions 1/);
      assert.deepEqual(await t.app.keyProvider.versions(), [2]);
      const ring = JSON.parse(readFileSync(join(t.dataDir, 'master-key.json'), 'utf8'));
      assert.deepEqual(Object.keys(ring.keys), ['2']);
      t.app.keys.forget();
      for (const [ref, marker] of [...expected].slice(0, 10)) assert.equal(markerOf(json(await get(ref))), marker, ref);
      const keysDb = t.app.storage.keys;
      assert.deepEqual(
        (await keysDb.query<{ v: number }>(`SELECT DISTINCT master_version AS v FROM ${keysDb.table('tenant_keys')}`)).map((r) => Number(r.v)),
        [2],
      );
    });
  });
}
