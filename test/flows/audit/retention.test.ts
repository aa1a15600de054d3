import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, patient, startTestApp, type TestApp } from '../../support/harness.js';

const day = 86_400_000;
const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };

for (const engine of engines()) {
  describe(`audit retention [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2020-01-01T00:00:00Z'));

    before(async () => {
      t = await startTestApp(engine, {}, { clock: { now: () => (clock.advance(1), clock.now()) } });
    });
    after(() => t.close());

    /** A tenant with `old` reads now and `recent` reads `years` later. */
    const history = async (tenant: string, old: number, recent: number, years = 7) => {
      const key = await t.tenant(tenant);
      const id = json(await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key, body: patient() }))['id'] as string;
      for (let i = 0; i < old; i += 1) await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key });
      await t.app.audit.checkpoint(tenant);
      const oldest = (await t.app.audit.query(tenant, { count: 1000 })).length;
      clock.advance(years * 365 * day);
      for (let i = 0; i < recent; i += 1) await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key });
      return { key, id, oldest };
    };

    it('deletes events older than six years behind a signed cut point; the rest still verifies', async () => {
      const { oldest } = await history('clinic', 8, 5);
      assert.equal(oldest, 9, 'a create and eight reads, all from 2020');
      const result = await t.app.audit.prune('clinic', operator);
      assert.deepEqual([result.cut, result.deleted, result.refused], [9, 9, undefined]);
      const report = await t.app.audit.verify('clinic');
      assert.deepEqual(report.findings, []);
      assert.equal(report.cut, 9);
      const left = await t.app.audit.query('clinic', { count: 1000 });
      assert.deepEqual(left.map((e) => e.seq).sort((a, b) => a - b), [10, 11, 12, 13, 14, 15], 'five reads and the prune itself');
      assert.deepEqual([left[0]?.action, left[0]?.actor.id], ['audit.pruned', 'cli:test']);
      const db = await t.app.storage.tenant('clinic');
      const subjects = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('audit_subjects')} WHERE seq <= 9`);
      assert.equal(Number(subjects[0]?.n), 0, 'the patient index goes with the events');
      const log = readFileSync(join(t.dataDir, 'audit-checkpoints', 'clinic.jsonl'), 'utf8');
      assert.match(log, /"format":"tresor-audit-cut\/1","tenant":"clinic","seq":9,/);

      // Nothing more is old enough; a second prune changes nothing.
      assert.deepEqual(await t.app.audit.prune('clinic', operator), { tenantId: 'clinic', cut: 9, deleted: 0 });
    });

    it('keeps what is younger than six years, and never goes below six years', async () => {
      await history('young', 4, 2, 5);
      assert.deepEqual(await t.app.audit.prune('young', operator), { tenantId: 'young', cut: 0, deleted: 0 });
      assert.throws(() => loadConfig({ env: { TRESOR_AUDIT_RETENTION_DAYS: '365' } }), /2192/);
    });

    it('a deletion without a signed cut is still caught, and a forged cut line too', async () => {
      await history('sly', 6, 3);
      const db = await t.app.storage.tenant('sly');
      // Someone deletes old events by hand, the way a prune would, but cannot sign a cut.
      await db.execute(`DELETE FROM ${db.table('audit_events')} WHERE seq <= 4`);
      assert.deepEqual(
        (await t.app.audit.verify('sly')).findings.map((f) => [f.seq, f.kind]),
        [[1, 'missing']],
      );
      appendFileSync(
        join(t.dataDir, 'audit-checkpoints', 'sly.jsonl'),
        `${JSON.stringify({ format: 'tresor-audit-cut/1', tenant: 'sly', seq: 4, hash: '0'.repeat(64), at: new Date().toISOString(), key: 1, sig: 'AAAA' })}\n`,
      );
      const findings = (await t.app.audit.verify('sly')).findings.map((f) => [f.seq, f.kind]);
      assert.deepEqual(findings, [
        [0, 'checkpoint'],
        [1, 'missing'],
      ]);
    });

    it('refuses to prune a chain with findings, and keeps what a SIEM sink has not received', async () => {
      await history('evidence', 6, 3);
      const db = await t.app.storage.tenant('evidence');
      await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = 'someone-else' WHERE seq = 3`);
      const refused = await t.app.audit.prune('evidence', operator);
      assert.deepEqual([refused.deleted, refused.refused?.map((f) => [f.seq, f.kind])], [0, [[3, 'modified']]]);
      assert.equal((await db.query(`SELECT seq FROM ${db.table('audit_events')} WHERE seq <= 7`)).length, 7, 'nothing was deleted');

      await history('shipping', 6, 3);
      const shipping = await t.app.storage.tenant('shipping');
      await shipping.execute(`INSERT INTO ${shipping.table('audit_shipped')} (sink, seq) VALUES ('syslog', 4)`);
      assert.deepEqual(await t.app.audit.prune('shipping', operator), { tenantId: 'shipping', cut: 4, deleted: 4 });
      assert.deepEqual((await t.app.audit.verify('shipping')).findings, []);
    });
  });
}
