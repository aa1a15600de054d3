import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chainHash, genesis, operatorEvent, type AuditEvent } from '../../../src/audit/index.js';
import { canonicalOfRow, selectLinksAfter, selectRowsBetween } from '../../../src/audit/store.js';
import { verifyChain } from '../../../src/audit/verify.js';
import type { SqlDatabase, SqlValue } from '../../../src/platform/db/index.js';
import { engines, errorCode, json, observation, patient, startTestApp, type TestApp } from '../../support/harness.js';

interface Row {
  seq: number | string;
  action: string;
  outcome: string;
  status: number;
  actor_id: string;
  actor_role: string;
  purpose: string;
  resources: string;
  subjects: string;
  classes: string;
  request_id: string;
  detail: string;
}

for (const engine of engines()) {
  describe(`audit trail [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let reader: string;
    let db: SqlDatabase;
    const base = '/tenants/clinic/fhir';
    // Written events are chained just after their commit on PostgreSQL; settle waits for that.
    const events = async (): Promise<Row[]> => (await t.app.audit.settle('clinic'), db.query<Row>(`SELECT * FROM ${db.table('audit_events')} ORDER BY seq`));
    const last = async () => (await events()).at(-1) as Row;

    before(async () => {
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      reader = await t.key('clinic', 'service-reader');
      db = await t.app.storage.tenant('clinic');
    });
    after(() => t.close());

    it('records every access: who, what, which patients, which data classes, why, outcome — and no contents', async () => {
      const created = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ name: [{ family: 'Audit-Marker-Family' }] }) });
      assert.equal(created.statusCode, 201);
      const patientId = json(created)['id'] as string;
      let event = await last();
      assert.equal(event.action, 'record.created');
      assert.equal(event.outcome, 'success');
      assert.equal(event.status, 201);
      assert.equal(event.purpose, 'TREAT', 'the service role’s default purpose');
      assert.deepEqual(JSON.parse(event.resources), [`Patient/${patientId}/_history/1`]);
      assert.deepEqual(JSON.parse(event.subjects), [`Patient/${patientId}`]);
      assert.deepEqual(JSON.parse(event.classes), ['internal', 'personal']);
      assert.equal(event.request_id, created.headers['x-request-id']);

      const obs = await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: observation(patientId, { valueQuantity: undefined, valueString: 'Audit-Marker-Value' }) });
      const obsId = json(obs)['id'] as string;
      const read = await t.inject({ method: 'GET', url: `${base}/Observation/${obsId}`, key: reader, headers: { 'x-purpose-of-use': 'etreat' } });
      assert.equal(read.statusCode, 200);
      event = await last();
      assert.equal(event.action, 'record.read');
      assert.equal(event.actor_role, 'service-reader');
      assert.equal(event.purpose, 'ETREAT');
      assert.deepEqual(JSON.parse(event.subjects), [`Patient/${patientId}`]);
      assert.deepEqual(JSON.parse(event.classes), ['health', 'internal']);
      assert.equal(event.request_id, read.headers['x-request-id'], 'the event is there when the response is');

      await t.inject({ method: 'GET', url: `${base}/Observation?patient=${patientId}`, key });
      assert.equal((await last()).action, 'record.searched');
      assert.deepEqual(JSON.parse((await last()).resources), [`Observation/${obsId}/_history/1`]);
      await t.inject({ method: 'GET', url: `${base}/Patient/${patientId}/_history`, key });
      assert.equal((await last()).action, 'record.history-read');
      await t.inject({ method: 'PUT', url: `${base}/Observation/${obsId}`, key, body: { ...observation(patientId), id: obsId } });
      assert.equal((await last()).action, 'record.updated');
      await t.inject({ method: 'DELETE', url: `${base}/Observation/${obsId}`, key });
      event = await last();
      assert.equal(event.action, 'record.deleted');
      assert.deepEqual(JSON.parse(event.subjects), [`Patient/${patientId}`]);
      const bundle = await t.inject({
        method: 'POST',
        url: base,
        key,
        body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient' }, resource: patient() }, { request: { method: 'GET', url: `Patient/${patientId}` } }] },
      });
      assert.equal(bundle.statusCode, 200, bundle.body);
      const tail = (await events()).slice(-2);
      assert.deepEqual(
        tail.map((e) => [e.action, e.request_id]),
        [
          ['record.created', bundle.headers['x-request-id']],
          ['record.read', bundle.headers['x-request-id']],
        ],
      );

      // Failures by a caller of this tenant are events too; a denied one is access.denied.
      await t.inject({ method: 'GET', url: `${base}/Patient/nobody-here`, key });
      event = await last();
      assert.deepEqual([event.action, event.outcome, event.status, event.detail], ['record.read', 'failure', 404, 'not-found']);
      await t.inject({ method: 'DELETE', url: `${base}/Patient/${patientId}`, key: reader });
      event = await last();
      assert.deepEqual([event.action, event.outcome, event.status], ['access.denied', 'failure', 403]);
      const badPurpose = await t.inject({ method: 'GET', url: `${base}/Patient/${patientId}`, key, headers: { 'x-purpose-of-use': 'because' } });
      assert.equal(badPurpose.statusCode, 400);
      assert.equal(errorCode(badPurpose), 'purpose-invalid');

      const all = JSON.stringify(await events());
      for (const marker of ['Audit-Marker-Family', 'Audit-Marker-Value', 'Müller', 'tresor_sk_']) assert.ok(!all.includes(marker), `the audit trail holds ${marker}`);
      const subjects = await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('audit_subjects')} WHERE subject = ?`, [`Patient/${patientId}`]);
      assert.ok(Number(subjects[0]?.n) >= 7, 'indexed by patient for "who saw my data"');
      assert.deepEqual((await t.app.audit.verify('clinic')).findings, []);
    });

    it('fails closed: when the audit trail cannot be written, reads return nothing and writes change nothing', async () => {
      const created = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ name: [{ family: 'Closed' }] }) });
      const id = json(created)['id'] as string;
      const before = (await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('resources')}`))[0]?.n;
      // The tables events are written to: the chain, and on PostgreSQL the writers' pending table.
      const tables = engine === 'postgres' ? ['audit_events', 'audit_pending'] : ['audit_events'];
      for (const name of tables) await db.execute(`ALTER TABLE ${db.table(name)} RENAME TO ${name}_away`);
      try {
        const read = await t.inject({ method: 'GET', url: `${base}/Patient/${id}`, key });
        assert.equal(read.statusCode, 503);
        assert.equal(errorCode(read), 'audit-unavailable');
        assert.doesNotMatch(read.body, /Closed/);
        const write = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient({ name: [{ family: 'Unaudited' }] }) });
        assert.equal(write.statusCode, 503);
        const search = await t.inject({ method: 'GET', url: `${base}/Patient?_id=${id}`, key });
        assert.equal(search.statusCode, 503);
        assert.doesNotMatch(search.body, /Closed/);
        assert.equal((await db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM ${db.table('resources')}`))[0]?.n, before, 'nothing was written');
      } finally {
        for (const name of tables) await db.execute(`ALTER TABLE ${db.table(`${name}_away`)} RENAME TO ${name}`);
      }
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Patient/${id}`, key })).statusCode, 200);
      assert.deepEqual((await t.app.audit.verify('clinic')).findings, []);
    });

    it('locates every kind of tampering: edit, delete, insert, swap, cut', async () => {
      const tampered = async (name: string, tamper: (tdb: SqlDatabase) => Promise<void>) => {
        const k = await t.tenant(name);
        for (let i = 0; i < 12; i += 1) await t.inject({ method: 'GET', url: `/tenants/${name}/fhir/Patient?_count=1`, key: k });
        const tdb = await t.app.storage.tenant(name);
        assert.deepEqual((await t.app.audit.verify(name)).findings, [], `${name} verifies before`);
        await tamper(tdb);
        return (await t.app.audit.verify(name)).findings.map((f) => [f.seq, f.kind]);
      };
      const table = (tdb: SqlDatabase) => tdb.table('audit_events');

      assert.deepEqual(
        await tampered('edit', (tdb) => tdb.execute(`UPDATE ${table(tdb)} SET actor_id = 'someone-else' WHERE seq = 5`).then(() => undefined)),
        [[5, 'modified']],
      );
      assert.deepEqual(
        await tampered('delete', (tdb) => tdb.execute(`DELETE FROM ${table(tdb)} WHERE seq = 4`).then(() => undefined)),
        [[4, 'missing']],
      );
      // Insert a forged event at 6 and renumber the rest to hide the gap.
      assert.deepEqual(
        (
          await tampered('insert', async (tdb) => {
            for (let seq = 12; seq >= 6; seq -= 1) await tdb.execute(`UPDATE ${table(tdb)} SET seq = ? WHERE seq = ?`, [seq + 1, seq]);
            await tdb.execute(
              `INSERT INTO ${table(tdb)} SELECT 6, at, action, outcome, status, 'forged', actor_role, client, purpose, resources, subjects, classes, request_id, source_ip, detail, ? FROM ${table(tdb)} WHERE seq = 5`,
              ['0'.repeat(64)],
            );
          })
        ).slice(0, 2),
        [
          [6, 'modified'],
          [7, 'moved'],
        ],
      );
      // Swap events 8 and 9 (content and hash move, the numbers stay).
      assert.deepEqual(
        await tampered('swap', async (tdb) => {
          await tdb.execute(`UPDATE ${table(tdb)} SET seq = 100 WHERE seq = 8`);
          await tdb.execute(`UPDATE ${table(tdb)} SET seq = 8 WHERE seq = 9`);
          await tdb.execute(`UPDATE ${table(tdb)} SET seq = 9 WHERE seq = 100`);
        }),
        [
          [8, 'moved'],
          [9, 'moved'],
        ],
      );
      assert.deepEqual(
        await tampered('cut', (tdb) => tdb.execute(`DELETE FROM ${table(tdb)} WHERE seq > 9`).then(() => undefined)),
        [[10, 'truncated']],
      );
    });

    it('verifies events holding any characters, renders them in SQL exactly as hashed, and finds the same at any page size', async () => {
      await t.tenant('chars');
      // What callers control (client names, request ids) may hold anything a header or body can.
      const odd = ['quote " and backslash \\', 'controls \u0001\u0008\t\n\f\r\u001f\u007f', 'unicode é 中 😀 \u2028\u2029', '</script>'];
      for (let round = 0; round < 4; round += 1) {
        await t.app.audit.record(
          'chars',
          odd.map((detail, i) => operatorEvent('record.read', { id: `actor ${detail}`, role: 'reader', client: detail }, { detail, resources: [`Patient/${detail}`], subjects: [`Patient/${i}`] })),
        );
      }
      await t.app.audit.settle('chars'); // PostgreSQL: recorded reads wait in audit_pending until chained
      const tdb = await t.app.storage.tenant('chars');
      const rows = await selectRowsBetween(tdb, 1, 1000, 1000);
      const links = await selectLinksAfter(tdb, 'chars', 0, 1000);
      assert.deepEqual(
        links.map((l) => l.text),
        rows.map((r) => canonicalOfRow('chars', r, Number(r.seq))),
        'the database renders the canonical text itself, so the fast pass needs no second look',
      );
      assert.deepEqual((await t.app.audit.verify('chars')).findings, []);

      const table = tdb.table('audit_events');
      await tdb.execute(`UPDATE ${table} SET client = 'someone else' WHERE seq = 5`);
      await tdb.execute(`UPDATE ${table} SET seq = 100 WHERE seq = 8`);
      await tdb.execute(`UPDATE ${table} SET seq = 8 WHERE seq = 9`);
      await tdb.execute(`UPDATE ${table} SET seq = 9 WHERE seq = 100`);
      await tdb.execute(`DELETE FROM ${table} WHERE seq = 12`);
      const expected = [
        [5, 'modified'],
        [8, 'moved'],
        [9, 'moved'],
        [12, 'missing'],
      ];
      for (const pageSize of [5000, 7, 3, 1]) {
        assert.deepEqual(
          (await verifyChain(tdb, 'chars', [], pageSize)).findings.map((f) => [f.seq, f.kind]),
          expected,
          `page size ${pageSize}`,
        );
      }
    });

    it('a verify that runs while the chain grows reports nothing (a live server chains as it reads)', async () => {
      await t.tenant('growing');
      const event = (detail: string) => operatorEvent('record.read', { id: 'reader', role: 'reader', client: 'test' }, { detail });
      await t.app.audit.record('growing', [event('before'), event('before')]);
      await t.app.audit.settle('growing');
      const tdb = await t.app.storage.tenant('growing');
      // Events chained between the scan's last page and its look at the head: as on a server
      // that keeps answering (PostgreSQL chains a read's event right after the answer).
      let grown = false;
      const growing: SqlDatabase = {
        ...tdb,
        async query<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
          const rows = await tdb.query<T>(sql, params);
          if (!grown && sql.includes('audit_events')) {
            grown = true;
            await t.app.audit.record('growing', [event('meanwhile'), event('meanwhile')]);
            await t.app.audit.settle('growing');
          }
          return rows;
        },
      };
      assert.deepEqual((await verifyChain(growing, 'growing')).findings, []);
      assert.ok(grown, 'the chain grew during the verify');
      assert.deepEqual((await t.app.audit.verify('growing')).findings, []);
    });

    it('signs checkpoints outside the database: a cut tail with a forged head, a rewritten history and a forged checkpoint are all caught', async () => {
      const tamperedTenant = async (name: string) => {
        const k = await t.tenant(name);
        for (let i = 0; i < 10; i += 1) await t.inject({ method: 'GET', url: `/tenants/${name}/fhir/Patient?_count=1`, key: k });
        const checkpoint = await t.app.audit.checkpoint(name);
        assert.equal(checkpoint?.seq, 10, 'the head when the checkpoint was taken');
        const log = readFileSync(join(t.dataDir, 'audit-checkpoints', `${name}.jsonl`), 'utf8');
        assert.match(log, new RegExp(`"tenant":"${name}","seq":10,`));
        return t.app.storage.tenant(name);
      };
      // Cut the last three events and make the head agree: only the signed checkpoint knows.
      const cut = await tamperedTenant('cut2');
      await cut.execute(`DELETE FROM ${cut.table('audit_events')} WHERE seq > 7`);
      const at7 = (await cut.query<{ hash: string }>(`SELECT hash FROM ${cut.table('audit_events')} WHERE seq = 7`))[0]?.hash as string;
      await cut.execute(`UPDATE ${cut.table('audit_head')} SET seq = 7, hash = ?`, [at7]);
      assert.deepEqual(
        (await t.app.audit.verify('cut2')).findings.map((f) => [f.seq, f.kind]),
        [[8, 'truncated']],
      );

      // Edit event 3 and re-compute every hash after it, head included: the links all check out,
      // the checkpoint does not.
      const rewritten = await tamperedTenant('rewrite');
      const rows = await rewritten.query<Record<string, unknown>>(`SELECT * FROM ${rewritten.table('audit_events')} ORDER BY seq`);
      let previous = genesis('rewrite');
      for (const row of rows) {
        const event = {
          tenantId: 'rewrite',
          seq: Number(row['seq']),
          at: Number(row['at']),
          action: row['action'],
          outcome: row['outcome'],
          status: Number(row['status']),
          actor: { id: Number(row['seq']) === 3 ? 'innocent' : row['actor_id'], role: row['actor_role'], client: row['client'] },
          purpose: row['purpose'],
          resources: JSON.parse(row['resources'] as string),
          subjects: JSON.parse(row['subjects'] as string),
          classes: JSON.parse(row['classes'] as string),
          requestId: row['request_id'],
          sourceIp: row['source_ip'],
          detail: row['detail'],
        } as AuditEvent;
        previous = chainHash(previous, event);
        await rewritten.execute(`UPDATE ${rewritten.table('audit_events')} SET actor_id = ?, hash = ? WHERE seq = ?`, [event.actor.id, previous, event.seq]);
      }
      await rewritten.execute(`UPDATE ${rewritten.table('audit_head')} SET hash = ?`, [previous]);
      const report = await t.app.audit.verify('rewrite');
      assert.deepEqual(
        report.findings.map((f) => [f.seq, f.kind]),
        [[10, 'modified']],
      );
      assert.match(report.findings[0]?.detail ?? '', /signed checkpoint/);

      // A checkpoint line written by someone without the signing key.
      appendFileSync(join(t.dataDir, 'audit-checkpoints', 'cut2.jsonl'), `${JSON.stringify({ format: 'tresor-audit-checkpoint/1', tenant: 'cut2', seq: 7, hash: at7, at: new Date().toISOString(), key: 1, sig: 'AAAA' })}\n`);
      assert.ok((await t.app.audit.verify('cut2')).findings.some((f) => f.kind === 'checkpoint' && /signature does not verify/.test(f.detail)));
      assert.equal((await t.app.audit.verify('clinic')).findings.length, 0);
    });

    it('serves the trail to the auditor role as FHIR AuditEvents, and each patient’s access log', async () => {
      const auditor = await t.key('clinic', 'auditor');
      const p = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: patient() });
      const patientId = json(p)['id'] as string;
      await t.inject({ method: 'GET', url: `${base}/Patient/${patientId}`, key: reader, headers: { 'x-purpose-of-use': 'TREAT' } });
      // Separation of duties: the auditor reads no records, record roles read no audit trail.
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Patient/${patientId}`, key: auditor })).statusCode, 403);
      assert.equal((await t.inject({ method: 'GET', url: `${base}/AuditEvent`, key })).statusCode, 403);

      const log = await t.inject({ method: 'GET', url: `${base}/Patient/${patientId}/$access-log`, key: auditor });
      assert.equal(log.statusCode, 200, log.body);
      const bundle = json(log);
      assert.equal(bundle['resourceType'], 'Bundle');
      const events = bundle['entry'].map((e: { resource: Record<string, any> }) => e.resource);
      assert.deepEqual(
        events.map((e: Record<string, any>) => e['subtype'].at(-1).code),
        ['record.read', 'record.created'],
        'newest first: the read, then the create',
      );
      const read = events[0];
      assert.equal(read.resourceType, 'AuditEvent');
      assert.equal(read.action, 'R');
      assert.equal(read.outcome, '0');
      assert.equal(read.purposeOfEvent[0].coding[0].code, 'TREAT');
      assert.equal(read.agent[0].role[0].text, 'service-reader');
      assert.ok(read.entity.some((e: Record<string, any>) => e.what.reference === `Patient/${patientId}` && e.role?.code === '1'));
      // Filters and paging.
      const reads = json(await t.inject({ method: 'GET', url: `${base}/AuditEvent?subtype=record.read&outcome=success&_count=1`, key: auditor }));
      assert.equal(reads['entry'].length, 1);
      const next = reads['link'].find((l: { relation: string }) => l.relation === 'next').url as string;
      const page2 = json(await t.inject({ method: 'GET', url: next.slice(next.indexOf('/tenants/')), key: auditor }));
      assert.ok(Number(page2['entry'][0].resource.id) < Number(reads['entry'][0].resource.id));
      assert.equal((await t.inject({ method: 'GET', url: `${base}/AuditEvent?date=ge2000-01-01&date=le2000-12-31`, key: auditor })).body.includes('"entry":[]'), true);
      assert.equal(errorCode(await t.inject({ method: 'GET', url: `${base}/AuditEvent?name=x`, key: auditor })), 'search-invalid');
      // Looking at the trail is on the trail.
      assert.equal((await last()).action, 'audit.read');
      assert.equal((await last()).actor_role, 'auditor');

      // The same events as plain JSON, with problem+json errors.
      const plain = await t.inject({ method: 'GET', url: `/tenants/clinic/audit?action=record.read&patient=${patientId}&limit=1`, key: auditor });
      assert.equal(plain.statusCode, 200, plain.body);
      const body = json(plain);
      assert.equal(body['events'].length, 1);
      assert.deepEqual([body['events'][0].action, body['events'][0].actor.role, body['events'][0].patients], ['record.read', 'service-reader', [`Patient/${patientId}`]]);
      assert.equal(body['next'], null, 'one read of this patient: no next page');
      const paged = json(await t.inject({ method: 'GET', url: `/tenants/clinic/audit?patient=${patientId}&limit=1`, key: auditor }));
      assert.match(paged['next'], /before=\d+/);
      const denied = await t.inject({ method: 'GET', url: '/tenants/clinic/audit', key: reader });
      assert.equal(denied.statusCode, 403);
      assert.match(String(denied.headers['content-type']), /problem\+json/);
      assert.equal((await last()).action, 'access.denied');
      const badFilter = await t.inject({ method: 'GET', url: '/tenants/clinic/audit?color=red', key: auditor });
      assert.equal(badFilter.statusCode, 400);
      assert.equal(json(badFilter)['code'], 'search-invalid');
      const since = await t.inject({ method: 'GET', url: `/tenants/clinic/audit?from=${new Date(Date.now() + 86_400_000).toISOString()}`, key: auditor });
      assert.deepEqual(json(since)['events'], [], 'nothing after tomorrow');
    });
  });
}
