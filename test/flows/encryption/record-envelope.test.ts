import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openResource } from '../../../src/records/sealing.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { sealFormatOne } from '../../support/legacy-sealing.js';

const formatTwo = /^\["v2\.[0-9a-f]{16}\.\d+\.[A-Za-z0-9_-]+"\]$/;

for (const engine of engines()) {
  describe(`one envelope per stored version; versions stored one envelope per element still open [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    const base = '/tenants/clinic/fhir';
    const ids: Record<string, string> = {};
    const asWritten: Record<string, Record<string, unknown>> = {};
    const get = (url: string) => t.inject({ method: 'GET', url: `${base}/${url}`, key });
    const sealedRows = async (id: string) => {
      const db = await t.app.storage.tenant('clinic');
      return [
        ...(await db.query<{ sealed: string; key_version: number }>(`SELECT sealed, key_version FROM ${db.table('resources')} WHERE resource_type = 'Observation' AND id = ?`, [id])),
        ...(await db.query<{ sealed: string; key_version: number }>(`SELECT sealed, key_version FROM ${db.table('resource_versions')} WHERE resource_type = 'Observation' AND id = ?`, [id])),
      ];
    };
    /** Rewrites an Observation's only version as an older release stored it: one envelope per element, same key. */
    const toFormatOne = async (id: string) => {
      const db = await t.app.storage.tenant('clinic');
      const [row] = await db.query<{ content: string; sealed: string; key_id: string; key_version: number }>(
        `SELECT content, sealed, key_id, key_version FROM ${db.table('resources')} WHERE resource_type = 'Observation' AND id = ?`,
        [id],
      );
      assert.ok(row !== undefined);
      const context = { tenantId: 'clinic', type: 'Observation', id, versionId: 1 };
      const lookup = (keyId: string, version: number) => t.app.keys.dataKey('clinic', keyId, version);
      const opened = await openResource(context, { plain: row.content, sealed: row.sealed }, lookup);
      const legacy = sealFormatOne(context, JSON.parse(opened.text) as Record<string, unknown>, await lookup(row.key_id, Number(row.key_version)));
      for (const table of ['resources', 'resource_versions']) {
        await db.execute(`UPDATE ${db.table(table)} SET content = ?, sealed = ? WHERE resource_type = 'Observation' AND id = ?`, [legacy.plain, legacy.sealed, id]);
      }
    };

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      const create = async (body: Record<string, unknown>) => {
        const response = await t.inject({ method: 'POST', url: `${base}/${body['resourceType'] as string}`, key, body });
        assert.equal(response.statusCode, 201, response.body);
        return json(response)['id'] as string;
      };
      ids['anna'] = await create(patient());
      ids['bob'] = await create(patient({ name: [{ family: 'Brown' }] }));
      for (const [name, who] of [['annaNew', 'anna'], ['annaOld', 'anna'], ['bobNew', 'bob'], ['bobOld', 'bob']] as const) {
        ids[name] = await create(observation(ids[who] as string, { valueQuantity: undefined, valueString: `${name} value`, note: [{ text: `${name} note` }] }));
        asWritten[name] = json(await get(`Observation/${ids[name] as string}`));
      }
      await toFormatOne(ids['annaOld'] as string);
      await toFormatOne(ids['bobOld'] as string);
    });
    after(() => t.close());

    it('writes each version with one envelope for all its sealed elements', async () => {
      for (const row of await sealedRows(ids['annaNew'] as string)) assert.match(row.sealed, formatTwo);
      assert.deepEqual(json(await get(`Observation/${ids['annaNew'] as string}`)), asWritten['annaNew']);
    });

    it('reads versions stored one envelope per element as they were written', async () => {
      for (const row of await sealedRows(ids['bobOld'] as string)) {
        const envelopes = JSON.parse(row.sealed) as string[];
        assert.ok(envelopes.length >= 4 && envelopes.every((e) => e.startsWith('v1.')), row.sealed.slice(0, 40));
      }
      assert.deepEqual(json(await get(`Observation/${ids['bobOld'] as string}`)), asWritten['bobOld']);
      const search = json(await get(`Observation?patient=${ids['bob'] as string}&_sort=_lastUpdated`));
      assert.deepEqual(
        search['entry'].map((e: { resource: Record<string, unknown> }) => e.resource['valueString']),
        ['bobNew value', 'bobOld value'],
      );
    });

    it('refuses the envelopes of an older version reordered within it (each is bound to its position)', async () => {
      const db = await t.app.storage.tenant('clinic');
      const id = ids['annaOld'] as string;
      const [row] = await sealedRows(id);
      const reversed = JSON.stringify((JSON.parse(row?.sealed as string) as string[]).reverse());
      await db.execute(`UPDATE ${db.table('resources')} SET sealed = ? WHERE resource_type = 'Observation' AND id = ?`, [reversed, id]);
      const response = await get(`Observation/${id}`);
      assert.equal(errorCode(response), 'integrity-failed');
      assert.doesNotMatch(response.body, /annaOld/);
      await db.execute(`UPDATE ${db.table('resources')} SET sealed = ? WHERE resource_type = 'Observation' AND id = ?`, [row?.sealed as string, id]);
      assert.deepEqual(json(await get(`Observation/${id}`)), asWritten['annaOld']);
    });

    it("shredding a patient's key erases exactly that patient's versions, in both formats", async () => {
      assert.ok((await t.app.keys.shred('clinic', `Patient/${ids['anna'] as string}`)) >= 1);
      for (const name of ['annaNew', 'annaOld']) {
        const response = await get(`Observation/${ids[name] as string}`);
        assert.equal(response.statusCode, 410, `${name}: ${response.body}`);
        assert.equal(errorCode(response), 'erased');
      }
      for (const name of ['bobNew', 'bobOld']) assert.deepEqual(json(await get(`Observation/${ids[name] as string}`)), asWritten[name], name);
    });

    it('a key rotation re-seals versions of either format as one envelope under the new key', async () => {
      const { job } = await t.app.rotation.start('tenant', 'clinic');
      const done = await t.app.rotation.run(job.id);
      assert.equal(done.phase, 'done', JSON.stringify(done));
      const generation = await t.app.keys.generation('clinic');
      for (const name of ['bobNew', 'bobOld']) {
        const rows = await sealedRows(ids[name] as string);
        assert.equal(rows.length, 2);
        for (const row of rows) {
          assert.match(row.sealed, formatTwo, name);
          assert.equal(Number(row.key_version), generation, name);
        }
        const read = json(await get(`Observation/${ids[name] as string}`));
        assert.deepEqual({ ...read, meta: undefined }, { ...asWritten[name], meta: undefined }, name);
      }
    });
  });
}
