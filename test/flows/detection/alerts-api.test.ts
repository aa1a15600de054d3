import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, signInWithTotp, testPassword, type Person } from '../../support/people.js';

/**
 * The alerts API: `…/tenants/{t}/alerts…` for the roles with `alerts:read` / `alerts:manage`
 * (tenant-admin, auditor; people and API keys alike), `/platform/alerts…` for operators. Reads
 * are `audit.read` events, changes `alert.*` events, refusals `access.denied` — all in the
 * realm's own trail.
 */
const now = () => new Date('2026-01-01T00:00:00Z').getTime();

for (const engine of engines()) {
  describe(`alerts API [${engine}]`, () => {
    let t: TestApp;
    let admin: Person;
    let auditor: Person;
    let clinician: Person;
    let frontDesk: Person;
    let keys: Record<'tenant-admin' | 'auditor' | 'service' | 'service-reader' | 'front-desk', string>;
    let otherAdminKey: string;
    let bruteForceId: string;
    let emergencyId: string;

    const login = (email: string, password: string) =>
      t.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password }) });
    const post = (who: Person | string, url: string, body?: unknown): Promise<LightMyRequestResponse> =>
      typeof who === 'string'
        ? t.inject({ method: 'POST', url, key: who, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) })
        : as(t, who, { method: 'POST', url, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
    const get = (who: Person | string, url: string): Promise<LightMyRequestResponse> => (typeof who === 'string' ? t.inject({ method: 'GET', url, key: who }) : as(t, who, { method: 'GET', url }));

    before(async () => {
      t = await startTestApp(engine, { detection: { walkSeconds: 3600, rules: { 'auth.brute-force': { failures: 3 } } } });
      await t.tenant('clinic');
      otherAdminKey = await t.tenant('other', 'tenant-admin');
      keys = {
        'tenant-admin': await t.key('clinic', 'tenant-admin'),
        auditor: await t.key('clinic', 'auditor'),
        service: await t.key('clinic', 'service'),
        'service-reader': await t.key('clinic', 'service-reader'),
        'front-desk': await t.key('clinic', 'front-desk'),
      };
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', now);
      auditor = await signInWithTotp(t, 'clinic', 'auditor', 'audit@clinic.example', now);
      clinician = await signInWithTotp(t, 'clinic', 'clinician', 'doc@clinic.example', now);
      frontDesk = await signInWithTotp(t, 'clinic', 'front-desk', 'desk@clinic.example', now);
      // A real alert: failed sign-ins past the (lowered) threshold, evaluated by the engine.
      for (let i = 0; i < 4; i += 1) assert.equal((await login('doc@clinic.example', `wrong guess number ${i}`)).statusCode, 401);
      await t.app.detection?.evaluate('clinic');
      const [raised] = await t.app.alerts.list('clinic', { rule: 'auth.brute-force' });
      assert.ok(raised !== undefined, 'the failed sign-ins raised an alert');
      bruteForceId = raised.id;
      emergencyId = (await t.app.alerts.raise('clinic', 'access.emergency', { subject: 'Account/usr_0000000000000001', summary: 'Break-the-glass access to 1 patient.', severity: 'critical' })).id;
    });
    after(() => t.close());

    it('answers every role with alerts:read — people and API keys — and refuses the others (403, audited as access.denied)', async () => {
      for (const who of [admin, auditor, keys['tenant-admin'], keys.auditor]) {
        const list = await get(who, '/tenants/clinic/alerts');
        assert.equal(list.statusCode, 200, list.body);
        assert.deepEqual(json(list).alerts.map((a: { id: string }) => a.id).sort(), [bruteForceId, emergencyId].sort());
      }
      const deniedBefore = (await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'] })).length;
      for (const who of [clinician, frontDesk, keys.service, keys['service-reader'], keys['front-desk']]) {
        const refused = await get(who, '/tenants/clinic/alerts');
        assert.equal(refused.statusCode, 403, refused.body);
        assert.equal(errorCode(refused), 'forbidden');
        assert.equal((await get(who, `/tenants/clinic/alerts/${bruteForceId}`)).statusCode, 403);
        assert.equal((await post(who, `/tenants/clinic/alerts/${bruteForceId}/acknowledge`)).statusCode, 403);
        assert.equal((await get(who, '/tenants/clinic/alerts/settings')).statusCode, 403);
      }
      const deniedAfter = (await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'] })).length;
      assert.equal(deniedAfter - deniedBefore, 20, 'every refusal is in the trail');
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/alerts' })).statusCode, 401, 'no credential');
    });

    it('filters by state, severity and rule, newest first, pages with before/limit, and counts unresolved alerts per severity', async () => {
      const critical = json(await get(keys.auditor, '/tenants/clinic/alerts?severity=critical'));
      assert.deepEqual(critical.alerts.map((a: { id: string }) => a.id), [emergencyId]);
      assert.deepEqual(critical.counts, { low: 0, medium: 0, high: 1, critical: 1 });
      const byRule = json(await get(keys.auditor, '/tenants/clinic/alerts?rule=auth.brute-force&state=open'));
      assert.deepEqual(byRule.alerts.map((a: { id: string }) => a.id), [bruteForceId]);
      const first = json(await get(keys.auditor, '/tenants/clinic/alerts?limit=1'));
      assert.deepEqual(first.alerts.map((a: { id: string }) => a.id), [emergencyId], 'newest first');
      assert.ok(typeof first.next === 'string');
      const second = json(await get(keys.auditor, new URL(first.next as string, 'http://x').pathname + new URL(first.next as string, 'http://x').search));
      assert.deepEqual(second.alerts.map((a: { id: string }) => a.id), [bruteForceId]);
      assert.equal(second.next, null);
      assert.equal(first.alerts[0].runbook, '/runbooks/access.emergency');
    });

    it('refuses bad filters with 400 and the code alert-invalid', async () => {
      for (const query of ['state=closed', 'severity=urgent', 'rule=no.such-rule', 'before=yesterday', 'limit=0', 'limit=501', 'colour=red', 'state=open&state=resolved']) {
        const refused = await get(admin, `/tenants/clinic/alerts?${query}`);
        assert.equal(refused.statusCode, 400, query);
        assert.equal(errorCode(refused), 'alert-invalid', query);
        assert.match(String(refused.headers['content-type']), /problem\+json/);
      }
    });

    it('shows one alert with its rule, its events as the audit API renders them and the runbook; the read is audited', async () => {
      const detail = await get(auditor, `/tenants/clinic/alerts/${bruteForceId}`);
      assert.equal(detail.statusCode, 200, detail.body);
      const body = json(detail);
      assert.equal(body.rule, 'auth.brute-force');
      assert.ok(body.ruleTitle.length > 0 && body.ruleDescription.length > 0);
      assert.equal(body.runbook, '/runbooks/auth.brute-force');
      assert.ok(body.events.length >= 3);
      assert.ok(body.events.every((e: { action: string; id: number; hash: string }) => e.action === 'auth.login_failed' && Number.isInteger(e.id) && typeof e.hash === 'string'));
      assert.ok(!detail.body.includes('wrong guess') && !detail.body.includes(testPassword) && !detail.body.includes('doc@clinic.example'), 'no typed password, no address');
      const [read] = await t.app.audit.query('clinic', { count: 1, actions: ['audit.read'] });
      assert.deepEqual(read?.resources, [`Alert/${bruteForceId}`]);
      assert.equal(read?.actor.id, `account:${auditor.accountId}`);
      assert.equal((await get(admin, '/tenants/clinic/alerts/00000000-0000-0000-0000-000000000000')).statusCode, 404);
      assert.equal(errorCode(await get(admin, '/tenants/clinic/alerts/not-an-id')), 'alert-not-found');
    });

    it('keeps tenants apart: another tenant’s alert id is 404 there, and a key of one tenant is refused at the other', async () => {
      const elsewhere = await get(otherAdminKey, `/tenants/other/alerts/${bruteForceId}`);
      assert.equal(elsewhere.statusCode, 404);
      assert.equal((await post(otherAdminKey, `/tenants/other/alerts/${bruteForceId}/acknowledge`)).statusCode, 404);
      assert.deepEqual(json(await get(otherAdminKey, '/tenants/other/alerts')).alerts, []);
      assert.equal((await get(keys['tenant-admin'], '/tenants/other/alerts')).statusCode, 403);
      assert.equal((await get(otherAdminKey, '/tenants/clinic/alerts')).statusCode, 403);
    });

    it('acknowledges and resolves with a note (who and when), audited; a second acknowledge or resolve is 409', async () => {
      const acked = await post(admin, `/tenants/clinic/alerts/${bruteForceId}/acknowledge`);
      assert.equal(acked.statusCode, 200, acked.body);
      assert.equal(json(acked).state, 'acknowledged');
      assert.equal(json(acked).acknowledged.by, `account:${admin.accountId}`);
      const again = await post(keys.auditor, `/tenants/clinic/alerts/${bruteForceId}/acknowledge`);
      assert.equal(again.statusCode, 409);
      assert.equal(errorCode(again), 'alert-state-conflict');
      for (const body of [{}, { note: '   ' }, { note: 42 }, { note: 'x'.repeat(2001) }]) {
        const refused = await post(auditor, `/tenants/clinic/alerts/${bruteForceId}/resolve`, body);
        assert.equal(refused.statusCode, 400, JSON.stringify(body));
        assert.equal(errorCode(refused), 'alert-invalid');
      }
      const resolved = await post(auditor, `/tenants/clinic/alerts/${bruteForceId}/resolve`, { note: 'The clinician forgot the password after leave; reset by the admin.' });
      assert.equal(resolved.statusCode, 200, resolved.body);
      assert.equal(json(resolved).state, 'resolved');
      assert.deepEqual({ by: json(resolved).resolved.by, note: json(resolved).resolved.note }, { by: `account:${auditor.accountId}`, note: 'The clinician forgot the password after leave; reset by the admin.' });
      assert.equal((await post(admin, `/tenants/clinic/alerts/${bruteForceId}/resolve`, { note: 'again' })).statusCode, 409);
      // An API key of an admin may acknowledge too (an incident tool acting for the clinic).
      assert.equal((await post(keys['tenant-admin'], `/tenants/clinic/alerts/${emergencyId}/acknowledge`)).statusCode, 200);
      const changes = await t.app.audit.query('clinic', { count: 20, actions: ['alert.acknowledged', 'alert.resolved'] });
      const ok = changes.filter((e) => e.outcome === 'success').map((e) => `${e.action} ${e.actor.id}`);
      assert.ok(ok.includes(`alert.acknowledged account:${admin.accountId}`) && ok.includes(`alert.resolved account:${auditor.accountId}`), ok.join('; '));
      const failures = changes.filter((e) => e.outcome === 'failure');
      assert.ok(failures.some((e) => e.action === 'alert.acknowledged' && e.status === 409), 'the conflict is audited');
      assert.ok(failures.some((e) => e.action === 'alert.resolved' && e.status === 400), 'a refused note is audited');
      const list = json(await get(admin, '/tenants/clinic/alerts?state=resolved'));
      assert.deepEqual(list.alerts.map((a: { id: string }) => a.id), [bruteForceId]);
    });

    it('a session’s change needs its CSRF token (the cookie alone is refused)', async () => {
      const [open] = await t.app.alerts.list('clinic', { state: 'open' });
      const id = open?.id ?? emergencyId;
      const cookieOnly = await t.inject({ method: 'POST', url: `/tenants/clinic/alerts/${id}/acknowledge`, headers: { cookie: admin.cookie } });
      assert.equal(cookieOnly.statusCode, 403);
      const settings = await t.inject({ method: 'PUT', url: '/tenants/clinic/alerts/settings', body: {}, headers: { cookie: admin.cookie, 'content-type': 'application/json' } });
      assert.equal(settings.statusCode, 403);
    });

    it('reads and replaces the alert settings; invalid ones are 400 settings-invalid', async () => {
      const read = await get(auditor, '/tenants/clinic/alerts/settings');
      assert.equal(read.statusCode, 200);
      assert.equal(json(read).timeZone, 'UTC');
      const wanted = { timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '07:30', end: '18:00' }, securityContact: 'security@clinic.example', quietHours: { start: '22:00', end: '06:00' } };
      const put = await as(t, admin, { method: 'PUT', url: '/tenants/clinic/alerts/settings', body: wanted, headers: { 'content-type': 'application/json' } });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual(json(await get(keys.auditor, '/tenants/clinic/alerts/settings')), wanted);
      const bad = await t.inject({ method: 'PUT', url: '/tenants/clinic/alerts/settings', key: keys['tenant-admin'], body: { timeZone: 'Mars/Olympus' }, headers: { 'content-type': 'application/json' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(errorCode(bad), 'settings-invalid');
      assert.equal((await as(t, clinician, { method: 'PUT', url: '/tenants/clinic/alerts/settings', body: wanted, headers: { 'content-type': 'application/json' } })).statusCode, 403);
      const changes = await t.app.audit.query('clinic', { count: 5, actions: ['alert.settings_changed'] });
      assert.deepEqual(changes.map((e) => `${e.actor.role} ${e.outcome} ${e.status}`), ['tenant-admin failure 400', 'tenant-admin success 200'], 'the refused change by the key, the change by the admin');
      assert.equal(changes[1]?.actor.id, `account:${admin.accountId}`);
    });

    it('platform alerts: the operator reads, acknowledges and resolves them; a backup operator and tenant people are refused', async () => {
      const operator = await signInOperator(t, 'operator', 'ops@tresor-hosting.example', now);
      const backups = await signInOperator(t, 'backup-operator', 'backups@tresor-hosting.example', now);
      const platformAlert = await t.app.alerts.raise('operators', 'auth.brute-force', { subject: 'Account/usr_00000000000000aa', summary: '5 failed sign-ins in 15 minutes.' });
      const list = await get(operator, '/platform/alerts');
      assert.equal(list.statusCode, 200, list.body);
      const listed = json(list).alerts as Array<{ id: string; realm: string }>;
      assert.ok(listed.some((a) => a.id === platformAlert.id), 'the platform alert is listed');
      assert.ok(listed.every((a) => a.realm === 'operators' && a.id !== bruteForceId && a.id !== emergencyId), 'the operators’ realm only, no tenant alert');
      assert.equal((await get(operator, `/platform/alerts/${platformAlert.id}`)).statusCode, 200);
      assert.equal((await get(operator, `/platform/alerts/${emergencyId}`)).statusCode, 404, 'a tenant alert is not a platform alert');
      assert.equal((await get(operator, '/platform/alerts?severity=bad')).statusCode, 400);
      assert.equal((await get(backups, '/platform/alerts')).statusCode, 403);
      assert.equal((await post(backups, `/platform/alerts/${platformAlert.id}/acknowledge`)).statusCode, 403);
      assert.equal((await get(admin, '/platform/alerts')).statusCode, 401, 'a tenant session is no operator');
      assert.equal((await get(keys['tenant-admin'], '/platform/alerts')).statusCode, 401);
      assert.equal((await post(operator, `/platform/alerts/${platformAlert.id}/acknowledge`)).statusCode, 200);
      const resolved = await post(operator, `/platform/alerts/${platformAlert.id}/resolve`, { note: 'Load test from our own monitoring host.' });
      assert.equal(resolved.statusCode, 200, resolved.body);
      assert.equal(json(resolved).resolved.by, `operator:${operator.accountId}`);
      assert.equal((await post(operator, `/platform/alerts/${platformAlert.id}/acknowledge`)).statusCode, 409);
      assert.equal((await get(operator, '/platform/alerts/settings')).statusCode, 200);
      const trail = await t.app.audit.query('operators', { count: 50, actions: ['audit.read', 'alert.acknowledged', 'alert.resolved'] });
      const seen = new Set(trail.filter((e) => e.actor.id === `operator:${operator.accountId}`).map((e) => `${e.action} ${e.outcome}`));
      for (const expected of ['audit.read success', 'alert.acknowledged success', 'alert.resolved success', 'alert.acknowledged failure']) assert.ok(seen.has(expected), expected);
    });
  });
}
