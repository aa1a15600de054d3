import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { operatorEvent, verifyRestoredChain } from '../../../src/audit/index.js';
import { verifyChain } from '../../../src/audit/verify.js';
import { fixedClock } from '../../../src/platform/clock.js';
import type { SqlDatabase } from '../../../src/platform/db/index.js';
import { createPostgresPool, openPostgresDatabase } from '../../../src/platform/db/postgres.js';
import { openSqliteDatabase } from '../../../src/platform/db/sqlite.js';
import { engines, startTestApp, type EngineName, type TestApp } from '../../support/harness.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const day = 86_400_000;
const kinds = (findings: ReadonlyArray<{ seq: number; kind: string }>) => findings.map((f) => [f.seq, f.kind]);

/**
 * Copies and restores of a tenant's audit tables. A copy is what a backup holds: on SQLite a
 * copy of the tenant's file (VACUUM INTO, opened the way the backup verifier opens a restored
 * file), on PostgreSQL a schema of its own. A restore puts a copy's audit tables in place of the
 * live ones in one transaction, as swapping the whole data set would.
 */
function backups(t: TestApp, engine: EngineName) {
  const tables = ['audit_events', 'audit_subjects', 'audit_head', 'audit_shipped', ...(engine === 'postgres' ? ['audit_pending'] : [])];
  const pool = engine === 'postgres' ? createPostgresPool({ url: process.env['TRESOR_TEST_PG_URL'] as string, poolSize: 2, statementTimeoutMs: 30_000 }) : undefined;
  const opened: SqlDatabase[] = [];
  let copies = 0;
  return {
    async copy(tenantId: string): Promise<SqlDatabase> {
      await t.app.audit.settle(tenantId);
      copies += 1;
      let db: SqlDatabase;
      if (pool === undefined) {
        const file = join(t.dataDir, `copy-${copies}.db`);
        const source = new Database(t.app.storage.describeTenant(tenantId), { readonly: true });
        source.exec(`VACUUM INTO '${file}'`);
        source.close();
        db = openSqliteDatabase(file);
      } else {
        const schema = `${t.schemaPrefix}_copy${copies}`;
        const live = t.app.storage.describeTenant(tenantId);
        await pool.query(`CREATE SCHEMA "${schema}"`);
        for (const table of tables) {
          await pool.query(`CREATE TABLE "${schema}"."${table}" (LIKE "${live}"."${table}" INCLUDING ALL)`);
          await pool.query(`INSERT INTO "${schema}"."${table}" SELECT * FROM "${live}"."${table}"`);
        }
        db = openPostgresDatabase(pool, schema);
      }
      opened.push(db);
      return db;
    },
    async restore(tenantId: string, copy: SqlDatabase): Promise<void> {
      const live = await t.app.storage.tenant(tenantId);
      const content = await Promise.all(tables.map(async (table) => ({ table, rows: await copy.query<Record<string, string | number>>(`SELECT * FROM ${copy.table(table)}`) })));
      await live.transaction(async (tx) => {
        for (const { table, rows } of content) {
          await tx.execute(`DELETE FROM ${tx.table(table)}`);
          for (const row of rows) {
            const columns = Object.keys(row);
            await tx.execute(`INSERT INTO ${tx.table(table)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, columns.map((c) => row[c] as string | number));
          }
        }
      });
    },
    async close() {
      for (const db of opened) await db.close();
      await pool?.end();
    },
  };
}

for (const engine of engines()) {
  describe(`audit chain restored from a backup [${engine}]`, () => {
    let t: TestApp;
    let b: ReturnType<typeof backups>;

    before(async () => {
      // Checkpoints only when a test takes them (not every 60 s): the tests count log lines.
      t = await startTestApp(engine, { audit: { checkpointSeconds: 86_400 } });
      b = backups(t, engine);
    });
    after(async () => {
      await b.close();
      await t.close();
    });

    /** `n` record reads (each an event naming a patient), then the tenant's head. */
    const append = async (tenantId: string, n: number) => {
      for (let i = 0; i < n; i += 1) await t.app.audit.record(tenantId, [{ ...operatorEvent('record.read', { id: 'key-1', role: 'service', client: 'test' }, { resources: [`Patient/p${i}`], subjects: [`Patient/p${i}`] }), purpose: 'TREAT' }]);
      await t.app.audit.settle(tenantId);
      const db = await t.app.storage.tenant(tenantId);
      const rows = await db.query<{ seq: number | string }>(`SELECT seq FROM ${db.table('audit_head')}`);
      return Number(rows[0]?.seq ?? 0);
    };
    const checkpointDir = () => join(t.dataDir, 'audit-checkpoints');
    const logLines = (tenantId: string) =>
      readFileSync(join(checkpointDir(), `${tenantId}.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);

    it('verifies an old copy up to its own head while the live chain moved on; a tampered event in the copy is found', async () => {
      await t.tenant('upto');
      await append('upto', 4);
      await t.app.audit.checkpoint('upto');
      const copied = await append('upto', 3);
      assert.equal((await t.app.audit.checkpoint('upto'))?.seq, copied);
      const copy = await b.copy('upto');
      await append('upto', 5);
      await t.app.audit.checkpoint('upto');
      const live = await append('upto', 2);
      await t.app.audit.checkpoint('upto');

      const report = await t.app.audit.verifyCopy(copy, 'upto');
      assert.deepEqual([report.findings, report.lastSeq, report.checkpoints, report.cut], [[], copied, 2, 0]);
      const pk = (version: number) => t.app.keys.signingPublicKey('audit', version);
      assert.deepEqual(await verifyRestoredChain(copy, 'upto', checkpointDir(), pk), report, 'the standalone function is the same check');
      // Against every checkpoint, as the live verify checks, the copy is "truncated": that is
      // what up-to verification must not report.
      const all = logLines('upto').map((l) => ({ seq: l['seq'] as number, hash: l['hash'] as string }));
      assert.deepEqual(kinds((await verifyChain(copy, 'upto', all)).findings), [[copied + 1, 'truncated'], [copied + 1, 'truncated']]);
      assert.deepEqual((await t.app.audit.verify('upto')).findings, []);
      assert.equal((await t.app.audit.verify('upto')).lastSeq, live);

      await copy.execute(`UPDATE ${copy.table('audit_events')} SET actor_id = 'someone-else' WHERE seq = 3`);
      assert.deepEqual(kinds((await t.app.audit.verifyCopy(copy, 'upto')).findings), [[3, 'modified']]);
      // A history rewritten with fresh hashes contradicts the signed checkpoint at or below the head.
      await copy.execute(`UPDATE ${copy.table('audit_events')} SET actor_id = 'key-1' WHERE seq = 3`);
      await copy.execute(`UPDATE ${copy.table('audit_events')} SET hash = ? WHERE seq = ?`, ['f'.repeat(64), copied]);
      await copy.execute(`UPDATE ${copy.table('audit_head')} SET hash = ?`, ['f'.repeat(64)]);
      const rewritten = (await t.app.audit.verifyCopy(copy, 'upto')).findings;
      assert.ok(rewritten.some((f) => f.seq === copied && f.kind === 'modified' && /signed checkpoint/.test(f.detail)), JSON.stringify(rewritten));
    });

    it('after a restore, the restore mark makes the rolled-back history stop counting; without it the rollback is reported', async () => {
      await t.tenant('rollback');
      await append('rollback', 3);
      await t.app.audit.checkpoint('rollback');
      const snapshotHead = await append('rollback', 4);
      const snapshot = await b.copy('rollback');
      const beyond = await append('rollback', 6);
      await t.app.audit.checkpoint('rollback');
      const oldHead = await append('rollback', 5);
      assert.equal((await t.app.audit.checkpoint('rollback'))?.seq, oldHead);

      await b.restore('rollback', snapshot);
      const unmarked = await t.app.audit.verify('rollback');
      assert.ok(unmarked.findings.some((f) => f.kind === 'truncated'), JSON.stringify(unmarked.findings));

      const line = await t.app.audit.markRestored('rollback', { snapshotId: 'snap-2026-01-01', actor: operator });
      assert.deepEqual([line.format, line.seq, line.snapshot, line.parent], ['tresor-audit-restore/1', snapshotHead, 'snap-2026-01-01', 0]);
      assert.deepEqual((await t.app.audit.verify('rollback')).findings, []);
      const [event] = await t.app.audit.query('rollback', { count: 1 });
      assert.deepEqual([event?.seq, event?.action, event?.detail, event?.actor.id], [snapshotHead + 1, 'backup.restored', 'snap-2026-01-01', 'cli:test']);
      assert.deepEqual(logLines('rollback').at(-1)?.['seq'], snapshotHead + 1, 'the backup.restored event is checkpointed at once');

      // The new history passes the numbers the rolled-back history had checkpointed (with other
      // hashes) and reaches the old head exactly: this process checkpoints it anew.
      assert.ok(snapshotHead + 1 < beyond);
      assert.equal(await append('rollback', oldHead - snapshotHead - 1), oldHead);
      assert.equal((await t.app.audit.checkpoint('rollback'))?.seq, oldHead);
      await append('rollback', 2);
      await t.app.audit.checkpoint('rollback');
      const report = await t.app.audit.verify('rollback');
      assert.deepEqual(report.findings, []);
      assert.equal(report.lastSeq, oldHead + 2);

      // A restore line is signed like a checkpoint: one edited by hand does not verify.
      const genuine = logLines('rollback').find((l) => l['format'] === 'tresor-audit-restore/1') as Record<string, unknown>;
      appendFileSync(join(checkpointDir(), 'rollback.jsonl'), `${JSON.stringify({ ...genuine, parent: 1 })}\n`);
      assert.deepEqual(
        (await t.app.audit.verify('rollback')).findings.map((f) => [f.kind, f.detail]),
        [['checkpoint', `checkpoint log line ${logLines('rollback').length}: signature does not verify`]],
      );
    });

    it('a forged restore line is a finding and does not explain a rollback', async () => {
      await t.tenant('forged');
      await append('forged', 3);
      const copy = await b.copy('forged');
      await append('forged', 4);
      await t.app.audit.checkpoint('forged');
      await b.restore('forged', copy);
      const head = (await copy.query<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${copy.table('audit_head')}`))[0] as { seq: number | string; hash: string };
      appendFileSync(
        join(checkpointDir(), 'forged.jsonl'),
        `${JSON.stringify({ format: 'tresor-audit-restore/1', tenant: 'forged', seq: Number(head.seq), hash: head.hash, at: new Date().toISOString(), key: 1, snapshot: 'snap-x', parent: 0, sig: 'AAAA' })}\n`,
      );
      const findings = (await t.app.audit.verify('forged')).findings;
      assert.deepEqual(findings[0], { seq: 0, kind: 'checkpoint', detail: 'checkpoint log line 2: signature does not verify' });
      assert.ok(findings.some((f) => f.kind === 'truncated'), JSON.stringify(findings));
      assert.ok((await t.app.audit.verifyCopy(copy, 'forged')).findings.some((f) => f.kind === 'checkpoint'), 'up-to verification reports it too');
      const refused = await t.app.audit.prune('forged', operator);
      assert.equal(refused.deleted, 0);
      assert.ok((refused.refused?.length ?? 0) > 0);
    });

    it('restoring a snapshot older than an earlier restore: the history it was taken in counts, the one rolled back in between does not', async () => {
      await t.tenant('twice');
      const first = await append('twice', 5);
      const s0 = await b.copy('twice');
      await append('twice', 5);
      const s1 = await b.copy('twice');
      await append('twice', 5);
      await t.app.audit.checkpoint('twice');

      await b.restore('twice', s0);
      assert.equal((await t.app.audit.markRestored('twice', { snapshotId: 's0' })).parent, 0);
      await append('twice', 10);
      await t.app.audit.checkpoint('twice');
      const s2 = await b.copy('twice');

      // Someone restored the wrong snapshot; s1 was meant. s1 was taken before the first
      // restore: the restore line names history 0, and history 1's checkpoints stop counting.
      await b.restore('twice', s1);
      const second = await t.app.audit.markRestored('twice', { snapshotId: 's1' });
      assert.deepEqual([second.seq, second.parent], [first + 5, 0]);
      assert.deepEqual((await t.app.audit.verify('twice')).findings, []);
      await append('twice', 3);
      await t.app.audit.checkpoint('twice');
      assert.deepEqual((await t.app.audit.verify('twice')).findings, []);

      // Each copy verifies against the history it was taken in.
      for (const copy of [s0, s1, s2]) assert.deepEqual((await t.app.audit.verifyCopy(copy, 'twice')).findings, []);
      await s2.execute(`UPDATE ${s2.table('audit_events')} SET detail = 'edited' WHERE seq = ?`, [first + 1]);
      assert.deepEqual(kinds((await t.app.audit.verifyCopy(s2, 'twice')).findings), [[first + 1, 'modified']]);
    });

    it('sends restore lines to the SIEM sinks like checkpoints', async () => {
      const shipped = join(t.dataDir, 'restore-siem.jsonl');
      const { jsonLinesSink } = await import('../../../src/audit/index.js');
      await t.tenant('siem');
      const shipping = t.app.audit.ship([jsonLinesSink(shipped)], async () => ['siem'], 20);
      try {
        await append('siem', 2);
        const copy = await b.copy('siem');
        await append('siem', 2);
        await b.restore('siem', copy);
        await t.app.audit.markRestored('siem', { snapshotId: 'snap-siem' });
        const deadline = Date.now() + 10_000;
        const restoreLine = () => (existsSync(shipped) ? readFileSync(shipped, 'utf8') : '').split('\n').find((l) => l.includes('tresor-audit-restore/1'));
        while (restoreLine() === undefined && Date.now() < deadline) await sleep(20);
        assert.match(restoreLine() ?? '', /"tenant":"siem","seq":2,.*"snapshot":"snap-siem","parent":0,"sig":/);
      } finally {
        await shipping.stop();
      }
    });
  });

  describe(`audit retention across a restore [${engine}]`, () => {
    let t: TestApp;
    let b: ReturnType<typeof backups>;
    const clock = fixedClock(new Date('2020-01-01T00:00:00Z'));

    before(async () => {
      t = await startTestApp(engine, { audit: { checkpointSeconds: 86_400 } }, { clock: { now: () => (clock.advance(1), clock.now()) } });
      b = backups(t, engine);
    });
    after(async () => {
      await b.close();
      await t.close();
    });

    const reads = async (tenantId: string, n: number) => {
      for (let i = 0; i < n; i += 1) await t.app.audit.record(tenantId, [operatorEvent('record.read', operator, { subjects: [`Patient/p${i}`] })]);
      await t.app.audit.settle(tenantId);
    };

    it('prunes after a restore; a cut of the rolled-back history beyond the snapshot no longer counts', async () => {
      await t.tenant('old');
      await reads('old', 5);
      const head = (await t.app.audit.verify('old')).lastSeq;
      const snapshot = await b.copy('old');
      await reads('old', 4);
      await t.app.audit.checkpoint('old');
      clock.advance(7 * 365 * day);
      await reads('old', 3);
      const pruned = await t.app.audit.prune('old', operator);
      assert.ok(pruned.cut > head, `the rolled-back history was pruned beyond the snapshot (${pruned.cut})`);
      assert.deepEqual((await t.app.audit.verifyCopy(snapshot, 'old')).findings, [], 'a cut above the copy’s head does not apply to it');

      await b.restore('old', snapshot);
      assert.ok((await t.app.audit.verify('old')).findings.length > 0, 'unmarked, the restored chain contradicts the signed cut');
      await t.app.audit.markRestored('old', { snapshotId: 'snap-2020', actor: operator });
      const marked = await t.app.audit.verify('old');
      assert.deepEqual([marked.findings, marked.cut], [[], 0]);

      // The restored events are all older than six years, the restore event is not.
      const result = await t.app.audit.prune('old', operator);
      assert.deepEqual([result.cut, result.deleted, result.refused], [head, head, undefined]);
      const after = await t.app.audit.verify('old');
      assert.deepEqual([after.findings, after.cut], [[], head]);
      const left = await t.app.audit.query('old', { count: 100 });
      assert.deepEqual(left.map((e) => e.action).reverse(), ['backup.restored', 'audit.pruned']);
      assert.deepEqual((await t.app.audit.verifyCopy(snapshot, 'old')).findings, [], 'the snapshot still verifies, from the new cut at its head');
    });
  });
}
