import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, startTestApp, type TestApp } from '../../test/support/harness.js';
import type { SqlDatabase } from '../platform/db/index.js';
import { recordsMigrations } from './migrations.js';

for (const engine of engines()) {
  describe(`an Observation's patient in the search index [${engine}]`, () => {
    let t: TestApp;
    let db: SqlDatabase;
    const data = () => ({ tenantId: 'clinic', db });
    const index = () => db.table('search_index');

    before(async () => {
      t = await startTestApp(engine);
      await t.tenant('clinic');
      db = await t.app.storage.tenant('clinic');
    });
    after(() => t.close());

    const newPatient = async () => (await t.app.records.create(data(), 'Patient', { resourceType: 'Patient', gender: 'female' })).id;
    const newObservation = async (patient: string) =>
      (await t.app.records.create(data(), 'Observation', { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] }, subject: { reference: `Patient/${patient}` } })).id;
    const rowsOf = async (id: string, param: string) =>
      Number((await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${index()} WHERE resource_type = 'Observation' AND resource_id = ? AND param = ?`, [id, param]))[0]?.n);
    const found = async (params: Array<[string, string]>) => {
      const result = await t.app.records.search(data(), 'Observation', [...params, ['_total', 'accurate']], false);
      return { ids: result.matches.map((m) => m.id).sort(), total: result.total };
    };

    it('is written once, as its subject row, and found by patient and by subject', async () => {
      const patient = await newPatient();
      const observation = await newObservation(patient);
      assert.equal(await rowsOf(observation, 'patient'), 0);
      assert.equal(await rowsOf(observation, 'subject'), 1);
      assert.deepEqual(await found([['patient', patient]]), { ids: [observation], total: 1 });
      assert.deepEqual(await found([['patient', `Patient/${patient}`], ['code', 'http://loinc.org|29463-7']]), { ids: [observation], total: 1 });
      assert.deepEqual(await found([['subject', `Patient/${patient}`]]), { ids: [observation], total: 1 });
    });

    it('a data set indexed the earlier way (a patient row beside the subject row, or instead of it) finds every record by both after records/005', async () => {
      const patient = await newPatient();
      const both = [await newObservation(patient), await newObservation(patient)];
      const patientOnly = await newObservation(patient);
      const columns = 'resource_type, resource_id, param, system, value, low, high, last_updated, sort_date, key_subject';
      await db.transaction(async (tx) => {
        for (const id of [...both, patientOnly]) {
          await tx.execute(
            `INSERT INTO ${index()} (${columns}) SELECT resource_type, resource_id, 'patient', system, value, low, high, last_updated, sort_date, key_subject FROM ${index()} WHERE resource_type = 'Observation' AND resource_id = ? AND param = 'subject'`,
            [id],
          );
        }
        await tx.execute(`DELETE FROM ${index()} WHERE resource_type = 'Observation' AND resource_id = ? AND param = 'subject'`, [patientOnly]);
      });
      assert.equal(await rowsOf(patientOnly, 'subject'), 0);
      assert.equal((await found([['subject', `Patient/${patient}`]])).total, 2, 'the earlier layout, before the migration');

      const migration = recordsMigrations.find((m) => m.id === 'records/005-patient-as-subject');
      assert.ok(migration !== undefined);
      await db.transaction(async (tx) => {
        for (const statement of migration.up[db.dialect]((name) => db.table(name))) await tx.execute(statement);
      });

      const expected = { ids: [...both, patientOnly].sort(), total: 3 };
      assert.deepEqual(await found([['patient', patient]]), expected);
      assert.deepEqual(await found([['subject', `Patient/${patient}`]]), expected);
      assert.deepEqual(await found([['patient', patient], ['code', 'http://loinc.org|29463-7'], ['_sort', '-date']]), expected);
      for (const id of expected.ids) {
        assert.equal(await rowsOf(id, 'patient'), 0);
        assert.equal(await rowsOf(id, 'subject'), 1, 'one subject row: a walk meets each record once');
      }
    });
  });
}
