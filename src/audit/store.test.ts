import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteDatabase } from '../platform/db/sqlite.js';
import { canonical, canonicalText, chainHash, genesis, type AuditEvent, type AuditEventInput } from './events.js';
import { auditMigrations } from './migrations.js';
import { appendEvents, canonicalOfRow, parseList, selectEventsAfter, selectEventsToEvaluate, selectHead, toEvent, type EventRow } from './store.js';

const columns = 'seq, at, action, outcome, status, actor_id, actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail, hash';

// Values JSON escapes (quotes, backslashes, control characters, non-ASCII), so any difference
// between the stored text and the hashed text shows.
const awkward = ['Ünïcode "label" \\ key\n', '\u2028\u0000\t', 'emoji 🩺', ''];

function input(n: number): AuditEventInput {
  const text = awkward[n % awkward.length] as string;
  return {
    action: n % 2 === 0 ? 'record.read' : 'record.searched',
    outcome: n % 3 === 0 ? 'failure' : 'success',
    status: n % 3 === 0 ? 404 : 200,
    actor: { id: `key-${n}`, role: 'service', client: text },
    purpose: 'TREAT',
    resources: n % 4 === 0 ? [] : [`Observation/o${n}/_history/1`, `Observation/${text}`],
    subjects: n % 5 === 0 ? [] : ['Patient/p1', `Patient/p${n}`, 'Patient/p1'],
    classes: ['internal', 'vital-signs'],
    requestId: `req-${n}`,
    sourceIp: '::1',
    detail: n % 3 === 0 ? 'not-found' : text,
  };
}

describe('audit chain: canonical form and append', () => {
  it('hashes an event exactly as chains written before stay verifiable (fixed vector)', () => {
    const event: AuditEvent = {
      seq: 41,
      at: 1796601600123,
      tenantId: 'clinic-7',
      action: 'record.read',
      outcome: 'success',
      status: 200,
      actor: { id: 'k0f3', role: 'service', client: 'Ünïcode "label" \\ key\n' },
      purpose: 'TREAT',
      resources: ['Observation/abc/_history/2'],
      subjects: ['Patient/p1'],
      classes: ['internal', 'vital-signs'],
      requestId: 'req-9',
      sourceIp: '::1',
      detail: '',
    };
    // Computed with the canonical form as it has been since the first chain: a change of the
    // serialisation breaks every stored chain, and must come as a new, versioned form instead.
    assert.equal(chainHash(genesis('clinic-7'), event), '38c749421774ae23245525afe14591c110f1c7330dfeacc7bba3d841766c11a4');
  });

  it('canonicalText with the arrays as stored gives the bytes of canonical(event)', () => {
    for (let n = 0; n < 40; n += 1) {
      const event: AuditEvent = { ...input(n), tenantId: 't-1', seq: n + 1, at: 1_700_000_000_000 + n };
      const { actor } = event;
      const text = canonicalText(event.seq, event.at, event.tenantId, event.action, event.outcome, event.status, actor.id, actor.role, actor.client, event.purpose, JSON.stringify(event.resources), JSON.stringify(event.subjects), JSON.stringify(event.classes), event.requestId, event.sourceIp, event.detail);
      assert.equal(text, canonical(event));
    }
  });

  it('appends a batch longer than one INSERT: every stored row chains from the one before, with the head and patient index in step', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tresor-audit-store-'));
    const db = openSqliteDatabase(join(dir, 'tenant.sqlite'));
    try {
      for (const migration of auditMigrations) for (const sql of migration.up.sqlite(db.table)) await db.execute(sql);
      const first = Array.from({ length: 45 }, (_, n) => input(n));
      const second = Array.from({ length: 3 }, (_, n) => input(100 + n));
      await db.transaction((tx) => appendEvents(tx, 't-1', first, 1_700_000_000_000));
      const { events } = await db.transaction((tx) => appendEvents(tx, 't-1', second, 1_700_000_000_999));
      assert.deepEqual(
        events.map((e) => e.seq),
        [46, 47, 48],
      );

      const rows = await db.query<EventRow>(`SELECT ${columns} FROM audit_events ORDER BY seq`);
      assert.equal(rows.length, 48);
      let previous = genesis('t-1');
      for (const row of rows) {
        const event = toEvent('t-1', row);
        assert.equal(row.hash, chainHash(previous, event), `hash of event ${event.seq}`);
        assert.equal(canonicalOfRow('t-1', row, event.seq), canonical(event));
        previous = row.hash;
      }
      const expected = [...first, ...second];
      rows.forEach((row, n) => {
        const { hash: _hash, tenantId: _tenant, seq: _seq, at: _at, ...stored } = toEvent('t-1', row);
        assert.deepEqual(stored, expected[n]);
      });
      assert.deepEqual(await selectHead(db), { seq: 48, hash: previous });
      const indexed = await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_subjects`);
      const distinct = expected.reduce((sum, e) => sum + new Set(e.subjects).size, 0);
      assert.equal(Number(indexed[0]?.n), distinct);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the rules read every field but the hash, lists included, as the chain holds them (awkward values and list layouts)', async () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'tresor-audit-store-'));
    const db = openSqliteDatabase(join(dir, 'tenant.sqlite'));
    try {
      for (const migration of auditMigrations) for (const sql of migration.up.sqlite(db.table)) await db.execute(sql);
      await db.transaction((tx) => appendEvents(tx, 't-1', Array.from({ length: 12 }, (_, n) => input(n)), 1_700_000_000_000));
      const full = await selectEventsAfter(db, 't-1', 2, 8);
      const read = await selectEventsToEvaluate(db, 't-1', 2, 8);
      assert.equal(read.length, 8);
      // Raw rows (SQLite) and objects (where an engine has no raw rows: PostgreSQL) alike.
      const { queryArrays: _raw, ...withoutRaw } = db;
      const fromObjects = await selectEventsToEvaluate(withoutRaw, 't-1', 2, 8);
      [...read, ...fromObjects].forEach((event, i) => {
        const n = i % 8;
        const { hash: _hash, ...expected } = full[n] as (typeof full)[number];
        const { resources, subjects, classes, tenantId, seq, at, action, outcome, status, actor, purpose, requestId, sourceIp, detail } = event;
        assert.deepEqual({ resources, subjects, classes, tenantId, seq, at, action, outcome, status, actor, purpose, requestId, sourceIp, detail }, expected);
      });
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parseList splits what JSON.stringify wrote and leaves every other layout to JSON.parse', () => {
    for (const list of [[], [''], ['Patient/p1'], ['a', 'b', ''], ['quote " inside', 'x'], ['back\\slash', '","'], ['Ünï', '🩺'], ['\u2028\u0000']]) {
      assert.deepEqual(parseList(JSON.stringify(list)), list);
    }
    assert.deepEqual(parseList('[ "a", "b" ]'), ['a', 'b']);
    assert.deepEqual(parseList('["a", "b"]'), ['a', 'b']);
    assert.deepEqual(parseList('["a",1]'), ['a', 1]);
    assert.throws(() => parseList('["a"'));
  });
});
