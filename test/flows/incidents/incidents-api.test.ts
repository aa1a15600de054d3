import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, type Person } from '../../support/people.js';

const publicUrl = 'https://vault.example';
const finding = (subject: string) => ({ subject, summary: `7 failed sign-ins within 10 minutes against ${subject}`, severity: 'high' as const });

/**
 * Incidents through the API: operators open one from a platform alert for two tenants and move
 * it through its states (forward only; closing needs a note; reopening a reason); each tenant's
 * admin sees it — only what concerns their tenant — and works on it; another tenant gets 404;
 * an auditor reads and changes nothing; a backup operator reads and changes nothing; every
 * change is in the operators' trail and each affected tenant's.
 */
for (const engine of engines()) {
  describe(`incidents API [${engine}]`, () => {
    let t: TestApp;
    let operator: Person;
    let backups: Person;
    let northAdmin: Person;
    let southAdmin: Person;
    let otherAdmin: Person;
    let auditorKey: string;
    const base = fixedClock(new Date('2026-03-02T09:00:00Z'));
    const clock = { now: () => (base.advance(1), base.now()) };
    const now = () => base.now().getTime();
    const call = (who: Person, method: string, url: string, body?: unknown) => as(t, who, { method, url, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });

    before(async () => {
      t = await startTestApp(engine, { server: { publicUrl }, identity: { sessionIdleMinutes: 24 * 60 }, detection: { walkSeconds: 3600 } }, { clock });
      await t.tenant('north');
      await t.tenant('south');
      await t.tenant('other');
      auditorKey = await t.key('north', 'auditor');
      operator = await signInOperator(t, 'operator', 'ops@hosting.example', now);
      backups = await signInOperator(t, 'backup-operator', 'backups@hosting.example', now);
      northAdmin = await signInWithTotp(t, 'north', 'tenant-admin', 'admin@north.example', now);
      southAdmin = await signInWithTotp(t, 'south', 'tenant-admin', 'admin@south.example', now);
      otherAdmin = await signInWithTotp(t, 'other', 'tenant-admin', 'admin@other.example', now);
    });
    after(async () => {
      await t.close();
    });

    it('an operator opens an incident from a platform alert for two tenants; both trails record it', async () => {
      const alert = await t.app.alerts.raise('operators', 'auth.brute-force', finding('Account/ops_1'));
      const opened = await call(operator, 'POST', '/platform/incidents', { title: 'Suspected API key leak', severity: 'high', tenants: ['north', 'south'], alerts: [`operators/${alert.id}`], note: 'key seen in a public repository' });
      assert.equal(opened.statusCode, 201, opened.body);
      const body = json(opened);
      assert.deepEqual([body.state, body.severity, body.tenants, body.owner], ['triage', 'high', ['north', 'south'], { realm: 'operators', id: operator.accountId }]);
      assert.equal(body.awareAt, body.openedAt, 'aware since opening by default');
      assert.deepEqual(body.alerts.map((a: { id: string; rule: string }) => [a.id, a.rule]), [[alert.id, 'auth.brute-force']]);
      assert.deepEqual(body.timeline.map((e: { kind: string }) => e.kind), ['opened', 'note', 'alert']);
      assert.ok(String(opened.headers['location']).endsWith(`/platform/incidents/${body.id}`));
      for (const realm of ['operators', 'north', 'south']) {
        const [event] = await t.app.audit.query(realm, { count: 1, actions: ['incident.opened'] });
        assert.deepEqual([event?.actor.id, event?.resources], [`operator:${operator.accountId}`, [`Incident/${body.id}`]], realm);
      }
      const [notOther] = await t.app.audit.query('other', { count: 1, actions: ['incident.opened'] });
      assert.equal(notOther, undefined, 'an unaffected tenant’s trail has nothing');
    });

    it('moves forward only; closing needs a note; a closed incident reopens to triage with a reason', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'States', severity: 'low', tenants: ['north'] })).id as string;
      const step = (to: string, reason?: string) => call(operator, 'POST', `/platform/incidents/${id}/state`, { to, ...(reason === undefined ? {} : { reason }) });
      assert.equal((await step('eradicated')).statusCode, 200, 'skips contained');
      const back = await step('contained', 'oops');
      assert.deepEqual([back.statusCode, errorCode(back)], [409, 'incident-state-conflict']);
      const bare = await step('closed');
      assert.deepEqual([bare.statusCode, errorCode(bare)], [409, 'incident-state-conflict']);
      const closed = await step('closed', 'key revoked, no access found');
      assert.equal(closed.statusCode, 200, closed.body);
      assert.ok(json(closed).closedAt !== null);
      assert.equal(errorCode(await step('recovered', 'x')), 'incident-state-conflict');
      const reopened = await step('triage', 'a second key was found');
      assert.equal(reopened.statusCode, 200, reopened.body);
      const b = json(reopened);
      assert.deepEqual([b.state, b.closedAt], ['triage', null]);
      const changes = b.timeline.filter((e: { kind: string }) => e.kind === 'state').map((e: { from: string; to: string; by: string }) => `${e.from}>${e.to}:${e.by}`);
      assert.deepEqual(changes, ['triage>eradicated', 'eradicated>closed', 'closed>triage'].map((c) => `${c}:operator:${operator.accountId}`));
      const [event] = await t.app.audit.query('north', { count: 1, actions: ['incident.state_changed'] });
      assert.equal(event?.detail, 'closed → triage');
      const failures = (await t.app.audit.query('operators', { count: 10, actions: ['incident.state_changed'] })).filter((e) => e.outcome === 'failure');
      assert.ok(failures.some((e) => e.detail === 'incident-state-conflict' && e.resources.includes(`Incident/${id}`)), 'a refused change is audited');
    });

    it('a tenant admin sees the incidents of their tenant with what concerns it; another tenant gets 404', async () => {
      const created = json(await call(operator, 'POST', '/platform/incidents', { title: 'Shared', severity: 'medium', tenants: ['north', 'south'], note: 'internal: south was slower to answer' }));
      await call(northAdmin, 'POST', `/tenants/north/incidents/${created.id}/notes`, { text: 'north: we rotated our keys' });
      const north = await call(northAdmin, 'GET', `/tenants/north/incidents/${created.id}`);
      assert.equal(north.statusCode, 200, north.body);
      const texts = json(north).timeline.map((e: { text: string }) => e.text);
      assert.ok(texts.includes('north: we rotated our keys'));
      assert.ok(!north.body.includes('internal: south'), 'operators’ notes stay with the operators');
      const south = await call(southAdmin, 'GET', `/tenants/south/incidents/${created.id}`);
      assert.ok(!south.body.includes('north: we rotated'), 'one tenant’s notes stay with that tenant');
      const other = await call(otherAdmin, 'GET', `/tenants/other/incidents/${created.id}`);
      assert.deepEqual([other.statusCode, errorCode(other)], [404, 'incident-not-found']);
      const list = json(await call(otherAdmin, 'GET', '/tenants/other/incidents'));
      assert.ok(!list.incidents.some((i: { id: string }) => i.id === created.id));
      const listed = json(await call(northAdmin, 'GET', '/tenants/north/incidents'));
      assert.ok(listed.incidents.some((i: { id: string }) => i.id === created.id));
      const reads = await t.app.audit.query('north', { count: 5, actions: ['audit.read'] });
      assert.ok(reads.some((e) => e.actor.id === `account:${northAdmin.accountId}` && e.resources.includes(`Incident/${created.id}`)), 'reads are audited');
      const [noted] = await t.app.audit.query('north', { count: 1, actions: ['incident.noted'] });
      assert.equal(noted?.actor.id, `account:${northAdmin.accountId}`);
      const [notInSouth] = (await t.app.audit.query('south', { count: 5, actions: ['incident.noted'] })).filter((e) => e.actor.id === `account:${northAdmin.accountId}`);
      assert.equal(notInSouth, undefined, 'a tenant admin’s act is in their own trail, not the other tenant’s');
    });

    it('a tenant admin opens an incident of their own tenant only, adds tasks and completes them', async () => {
      const refused = await call(northAdmin, 'POST', '/tenants/north/incidents', { title: 'x', tenants: ['south'] });
      assert.deepEqual([refused.statusCode, errorCode(refused)], [400, 'incident-invalid']);
      const opened = await call(northAdmin, 'POST', '/tenants/north/incidents', { title: 'Lost laptop', severity: 'medium', awareAt: '2026-03-01T18:00:00Z' });
      assert.equal(opened.statusCode, 201, opened.body);
      const body = json(opened);
      assert.deepEqual([body.tenants, body.owner, body.awareAt], [['north'], { realm: 'north', id: northAdmin.accountId }, '2026-03-01T18:00:00.000Z']);
      const task = await call(northAdmin, 'POST', `/tenants/north/incidents/${body.id}/tasks`, { title: 'Wipe the laptop remotely', due: '2026-03-03T12:00:00Z' });
      assert.equal(task.statusCode, 201, task.body);
      const taskId = json(task).tasks[0].id as string;
      const done = await call(northAdmin, 'PATCH', `/tenants/north/incidents/${body.id}/tasks/${taskId}`, { done: true });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(json(done).tasks[0].done.by, `account:${northAdmin.accountId}`);
      assert.ok(json(done).timeline.some((e: { kind: string; taskId?: string }) => e.kind === 'task' && e.taskId === taskId));
      const ops = json(await call(operator, 'GET', `/platform/incidents/${body.id}`));
      assert.equal(ops.tasks.length, 1, 'operators see every incident and its tasks');
      const update = await call(northAdmin, 'POST', `/tenants/north/incidents/${body.id}/updates`, { text: 'x' });
      assert.equal(update.statusCode, 403, 'customer updates are the operators’');
    });

    it('the awareness time changes with a reason only, and the change is in the timeline', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Aware', tenants: ['north'] })).id as string;
      const bare = await call(operator, 'PATCH', `/platform/incidents/${id}`, { awareAt: '2026-03-01T08:00:00Z' });
      assert.deepEqual([bare.statusCode, errorCode(bare)], [400, 'incident-invalid']);
      const future = await call(operator, 'PATCH', `/platform/incidents/${id}`, { awareAt: '2027-01-01T00:00:00Z', reason: 'x' });
      assert.equal(errorCode(future), 'incident-invalid');
      const changed = await call(operator, 'PATCH', `/platform/incidents/${id}`, { awareAt: '2026-03-01T08:00:00Z', reason: 'the hosting provider told us yesterday', severity: 'critical' });
      assert.equal(changed.statusCode, 200, changed.body);
      const b = json(changed);
      assert.deepEqual([b.awareAt, b.severity], ['2026-03-01T08:00:00.000Z', 'critical']);
      assert.ok(b.timeline.some((e: { kind: string; text: string }) => e.kind === 'action' && e.text.includes('the hosting provider told us yesterday')));
      const north = json(await call(northAdmin, 'GET', `/tenants/north/incidents/${id}`));
      assert.equal(north.awareAt, '2026-03-01T08:00:00.000Z', 'the tenant sees the deadlines’ start');
      const [event] = await t.app.audit.query('north', { count: 1, actions: ['incident.changed'] });
      assert.equal(event?.detail, 'severity, aware since');
    });

    it('an auditor and a backup operator read; neither changes; validation names the field', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Read only', tenants: ['north'] })).id as string;
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/north/incidents/${id}`, key: auditorKey })).statusCode, 200);
      const note = await t.inject({ method: 'POST', url: `/tenants/north/incidents/${id}/notes`, key: auditorKey, body: { text: 'x' }, headers: { 'content-type': 'application/json' } });
      assert.equal(note.statusCode, 403);
      const [denied] = await t.app.audit.query('north', { count: 1, actions: ['access.denied'] });
      assert.equal(denied?.actor.role, 'auditor');
      assert.equal((await call(backups, 'GET', `/platform/incidents/${id}`)).statusCode, 200);
      assert.equal((await call(backups, 'POST', `/platform/incidents/${id}/notes`, { text: 'x' })).statusCode, 403);
      const bad = await call(operator, 'POST', '/platform/incidents', { title: 'x', severity: 'apocalyptic' });
      assert.deepEqual([bad.statusCode, errorCode(bad)], [400, 'incident-invalid']);
      assert.match(json(bad).detail ?? json(bad).title, /severity/);
      const unknown = await call(operator, 'POST', '/platform/incidents', { title: 'x', colour: 'red' });
      assert.equal(errorCode(unknown), 'incident-invalid');
      const badFilter = await call(operator, 'GET', '/platform/incidents?colour=red');
      assert.equal(errorCode(badFilter), 'incident-invalid');
    });

    it('the owner is an active operator or an admin of an affected tenant; a tenant admin hands it within their tenant only', async () => {
      const id = json(await call(operator, 'POST', '/platform/incidents', { title: 'Owner', tenants: ['north'] })).id as string;
      const other = await call(operator, 'PATCH', `/platform/incidents/${id}`, { owner: { realm: 'south', id: southAdmin.accountId } });
      assert.deepEqual([other.statusCode, errorCode(other)], [400, 'incident-invalid'], 'south is not affected');
      const unknown = await call(operator, 'PATCH', `/platform/incidents/${id}`, { owner: { realm: 'operators', id: 'usr_nobody' } });
      assert.equal(errorCode(unknown), 'incident-invalid');
      const toAdmin = await call(operator, 'PATCH', `/platform/incidents/${id}`, { owner: { realm: 'north', id: northAdmin.accountId } });
      assert.equal(toAdmin.statusCode, 200, toAdmin.body);
      assert.deepEqual(json(toAdmin).owner, { realm: 'north', id: northAdmin.accountId });
      const handBack = await call(northAdmin, 'PATCH', `/tenants/north/incidents/${id}`, { owner: { realm: 'operators', id: operator.accountId } });
      assert.equal(errorCode(handBack), 'incident-invalid', 'a tenant admin names an admin of their own tenant');
      const tenants = await call(northAdmin, 'PATCH', `/tenants/north/incidents/${id}`, { tenants: ['north', 'south'] });
      assert.equal(tenants.statusCode, 403, 'which tenants are affected is the operators’ to say');
    });

    it('a clinic admin links their own alert, which opens an incident from its page; another tenant’s alert is not theirs to link', async () => {
      const own = await t.app.alerts.raise('north', 'auth.brute-force', finding('Account/usr_north'));
      const page = await call(northAdmin, 'GET', `/tenants/north/console/alerts/${own.id}`);
      assert.equal(page.statusCode, 200);
      assert.ok(page.body.includes(`/tenants/north/console/incidents/new?alert=north/${own.id}`), 'the alert page opens an incident from it');
      const id = json(await call(northAdmin, 'POST', '/tenants/north/incidents', { title: 'From our alert', alerts: [`north/${own.id}`] })).id as string;
      const detail = json(await call(northAdmin, 'GET', `/tenants/north/incidents/${id}`));
      assert.deepEqual(detail.alerts.map((a: { id: string }) => a.id), [own.id]);
      const south = await t.app.alerts.raise('south', 'auth.brute-force', finding('Account/usr_south'));
      const refused = await call(northAdmin, 'POST', `/tenants/north/incidents/${id}/alerts`, { alert: `south/${south.id}` });
      assert.deepEqual([refused.statusCode, errorCode(refused)], [404, 'incident-alert-not-found']);
      const notEscalated = await call(operator, 'POST', `/platform/incidents/${id}/alerts`, { alert: `south/${south.id}` });
      assert.equal(errorCode(notEscalated), 'incident-alert-not-found', 'operators link tenant alerts escalated to them only');
    });

    it('pages newest first, stable across pages', async () => {
      for (let i = 0; i < 5; i += 1) await call(operator, 'POST', '/platform/incidents', { title: `Page ${i}`, tenants: ['south'] });
      const seen: string[] = [];
      let url: string | null = '/platform/incidents?tenant=south&limit=2';
      while (url !== null) {
        const page: { incidents: Array<{ id: string }>; next: string | null } = json(await call(operator, 'GET', url));
        seen.push(...page.incidents.map((i: { id: string }) => i.id));
        url = page.next === null ? null : String(page.next).slice(publicUrl.length);
      }
      const all = json(await call(operator, 'GET', '/platform/incidents?tenant=south&limit=500')).incidents.map((i: { id: string }) => i.id);
      assert.deepEqual(seen, all);
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 6);
    });
  });
}
