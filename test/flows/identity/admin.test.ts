import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, signInWithTotp, testPassword, type Person } from '../../support/people.js';

const base = '/tenants/clinic';
const jsonBody = { 'content-type': 'application/json' };

for (const engine of engines()) {
  describe(`account administration (OWASP ASVS 5 V8.2, V7.4, V6.3) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-25T08:00:00Z'));
    let admin: Person;
    let adminKey: string;
    let serviceKey: string;
    let auditorKey: string;
    let n = 0;

    /** As this person, with the session's CSRF token (a JSON body when one is given). */
    const by = (p: Person, method: string, url: string, body?: unknown) => as(t, p, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });
    const withKey = (key: string, method: string, url: string, body?: unknown) => t.inject({ method, url, key, ...(body === undefined ? {} : { body, headers: jsonBody }) });
    const login = (email: string, password = testPassword) => t.inject({ method: 'POST', url: `${base}/auth/login`, body: { email, password }, headers: jsonBody });
    const alive = async (p: Person) => (await t.inject({ method: 'GET', url: `${base}/auth/sessions`, headers: { cookie: p.cookie } })).statusCode === 200;
    /** A new person of that role, signed in; a fresh email each time. */
    const someone = async (role: 'tenant-admin' | 'clinician' | 'front-desk' | 'patient', email = `${role}.${(n += 1)}@clinic.example`) =>
      signIn(t, 'clinic', role, email, role === 'patient' ? { patient: `Patient/p-${n}` } : {});
    const emailOf = async (p: Person) => (await t.app.accounts.get('clinic', p.accountId))?.email as string;

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      serviceKey = await t.tenant('clinic');
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      adminKey = await t.key('clinic', 'tenant-admin');
      auditorKey = await t.key('clinic', 'auditor');
      // Account administration changes need two factors (the API-key test below shows the refusal).
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'the.admin@clinic.example', () => clock.now().getTime());
    });
    after(() => t.close());

    it('V8.2.1: only accounts:manage (tenant-admin) reaches account administration: clinician and patient sessions and other keys get 403', async () => {
      const dr = await someone('clinician');
      const patient = await someone('patient');
      const target = dr.accountId;
      const calls: Array<[string, string, unknown?]> = [
        ['GET', `${base}/accounts`],
        ['GET', `${base}/accounts/${target}`],
        ['POST', `${base}/accounts`, { role: 'clinician', email: 'never.made@clinic.example' }],
        ['PATCH', `${base}/accounts/${target}`, { role: 'front-desk' }],
        ['POST', `${base}/accounts/${target}/disable`],
        ['POST', `${base}/accounts/${target}/unlock`],
        ['GET', `${base}/accounts/${target}/sessions`],
        ['PUT', `${base}/settings/mfa`, { policy: 'everyone' }],
      ];
      for (const [method, url, body] of calls) {
        for (const [who, response] of [
          ['clinician', await by(dr, method, url, body)],
          ['patient', await by(patient, method, url, body)],
          ['service key', await withKey(serviceKey, method, url, body)],
          ['auditor key', await withKey(auditorKey, method, url, body)],
        ] as const) {
          assert.deepEqual([response.statusCode, errorCode(response)], [403, 'forbidden'], `${who} ${method} ${url}`);
          assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        }
        assert.equal((await t.inject({ method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) })).statusCode, 401, `anonymous ${method} ${url}`);
      }
      assert.ok(await alive(dr), 'nothing was done to the clinician');
      assert.equal((await t.app.tenants.get('clinic'))?.mfaPolicy, 'optional');
      const denied = await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'], actor: `account:${dr.accountId}` });
      assert.equal(denied.length, calls.length, 'each refusal is audited');

      const bySession = await by(admin, 'GET', `${base}/accounts`);
      assert.equal(bySession.statusCode, 200, bySession.body);
      const listed = json(bySession)['accounts'] as Array<Record<string, unknown>>;
      const row = listed.find((a) => a['id'] === dr.accountId);
      assert.deepEqual(Object.keys(row ?? {}).sort(), ['createdAt', 'email', 'id', 'patient', 'practitioner', 'role', 'secondFactor', 'status']);
      assert.deepEqual([row?.['role'], row?.['status'], row?.['secondFactor']], ['clinician', 'active', false]);
      assert.ok(!bySession.body.includes('argon2'), 'no password hashes');
      assert.equal((await withKey(adminKey, 'GET', `${base}/accounts`)).statusCode, 200, 'a tenant-admin API key');
      assert.equal((await withKey(adminKey, 'GET', `${base}/accounts/usr_0000000000000000`)).statusCode, 404);
    });

    it('V6.4.1: an invitation sends the setup link through the notifier, never in the answer', async () => {
      // A role within the administrator's own reach: the link leaves at once (escalation.test.ts: the others wait for an operator).
      const invited = await by(admin, 'POST', `${base}/accounts`, { role: 'tenant-admin', email: 'New.Colleague@clinic.example' });
      assert.equal(invited.statusCode, 201, invited.body);
      const account = json(invited)['account'];
      assert.deepEqual([account.role, account.status, account.email, account.practitioner], ['tenant-admin', 'invited', 'new.colleague@clinic.example', null]);
      assert.equal(invited.headers['location'], `${base}/accounts/${account.id}`);
      const message = (await t.app.outbox.list('clinic')).find((m) => m.accountId === account.id);
      assert.deepEqual([message?.kind, message?.to], ['invitation', 'new.colleague@clinic.example']);
      const token = /^([A-Za-z0-9_-]{43})$/m.exec(message?.text ?? '')?.[1] as string;
      assert.ok(!invited.body.includes(token), 'the answer holds no token');
      const setup = await t.inject({ method: 'POST', url: `${base}/auth/setup`, body: { token, password: testPassword }, headers: jsonBody });
      assert.equal(setup.statusCode, 200, setup.body);
      const again = await by(admin, 'POST', `${base}/accounts`, { role: 'clinician', email: 'new.colleague@clinic.example' });
      assert.deepEqual([again.statusCode, errorCode(again)], [409, 'account-exists']);
      assert.deepEqual(errorCode(await by(admin, 'POST', `${base}/accounts`, { role: 'nurse', email: 'x@clinic.example' })), 'role-invalid');
      assert.deepEqual(errorCode(await by(admin, 'POST', `${base}/accounts`, { email: 'x@clinic.example' })), 'body-invalid');
      const created = await t.app.audit.query('clinic', { count: 10, actions: ['account.created'], actor: `account:${admin.accountId}` });
      assert.deepEqual(created.map((e) => e.resources), [[`Account/${account.id}`]]);
      // Not one more active tenant-admin for the tests below (the last one stays).
      assert.equal((await by(admin, 'POST', `${base}/accounts/${account.id}/disable`)).statusCode, 200);
    });

    it('V7.2.4: a role change ends the person’s sessions and is audited old→new; staff never become patients', async () => {
      const dr = await someone('clinician');
      // Within the administrator's own reach (wider roles and Practitioner links wait for an operator: escalation.test.ts).
      const changed = await by(admin, 'PATCH', `${base}/accounts/${dr.accountId}`, { role: 'tenant-admin' });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual([json(changed)['account']['role'], json(changed)['sessionsEnded']], ['tenant-admin', 1]);
      assert.equal(await alive(dr), false, 'the session made under the old role ended');
      const event = (await t.app.audit.query('clinic', { count: 1, actions: ['role.changed'] }))[0];
      assert.deepEqual([event?.detail, event?.resources, event?.actor.id], ['clinician→tenant-admin', [`Account/${dr.accountId}`], `account:${admin.accountId}`]);
      const relogin = await login(await emailOf(dr));
      assert.equal(json(relogin)['account']['role'], 'tenant-admin');

      assert.deepEqual(errorCode(await by(admin, 'PATCH', `${base}/accounts/${dr.accountId}`, { practitioner: 'Practitioner/pr-9' })), 'approval-required');
      assert.deepEqual(errorCode(await by(admin, 'PATCH', `${base}/accounts/${dr.accountId}`, { role: 'patient' })), 'role-invalid');
      assert.deepEqual(errorCode(await by(admin, 'PATCH', `${base}/accounts/${dr.accountId}`, { role: 'operator' })), 'role-invalid');
      const same = await by(admin, 'PATCH', `${base}/accounts/${dr.accountId}`, { role: 'tenant-admin' });
      assert.equal(json(same)['sessionsEnded'], 0, 'no change, nothing ended');
      // Back, so that this test leaves one more tenant-admin behind for nobody.
      assert.equal((await t.app.accounts.setDisabled({ tenantId: 'clinic', accountId: dr.accountId, disabled: true, context: { by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } } })).changed, true);
    });

    it('V7.4.2 / V6.3.8: disabling ends every session; a disabled login gets exactly the wrong-password answer, after the same work', async () => {
      const desk = await someone('front-desk');
      const email = await emailOf(desk);
      const second = json(await login(email));
      assert.ok(second['session']);
      const disabled = await by(admin, 'POST', `${base}/accounts/${desk.accountId}/disable`);
      assert.equal(disabled.statusCode, 200, disabled.body);
      assert.deepEqual([json(disabled)['account']['status'], json(disabled)['sessionsEnded']], ['disabled', 2]);
      assert.equal(await alive(desk), false);

      const answers: Array<[number, string, string, number]> = [];
      for (const password of [testPassword, 'not the password of anyone here']) {
        const before = t.app.passwords.work();
        const response = await login(password === testPassword ? email : await emailOf(admin), password);
        answers.push([response.statusCode, json(response)['code'], json(response)['title'], t.app.passwords.work() - before]);
      }
      assert.deepEqual(answers[0], answers[1], 'disabled with the right password = active with a wrong one');
      assert.deepEqual(answers[0], [401, 'login-failed', 'The email address or the password is wrong.', 1]);

      const enabled = await by(admin, 'POST', `${base}/accounts/${desk.accountId}/enable`);
      assert.equal(json(enabled)['account']['status'], 'active');
      assert.equal((await login(email)).statusCode, 200);
      const actions = (await t.app.audit.query('clinic', { count: 10, actions: ['account.disabled', 'account.enabled'] })).filter((e) => e.resources[0] === `Account/${desk.accountId}`).map((e) => [e.action, e.resources[0]]);
      assert.deepEqual(actions, [['account.enabled', `Account/${desk.accountId}`], ['account.disabled', `Account/${desk.accountId}`]]);
    });

    it('V8.2.1: nobody disables or demotes themself, and the last active tenant-admin stays (409)', async () => {
      const refusals: LightMyRequestResponse[] = [
        await by(admin, 'POST', `${base}/accounts/${admin.accountId}/disable`),
        await by(admin, 'PATCH', `${base}/accounts/${admin.accountId}`, { role: 'clinician' }),
        await by(admin, 'PATCH', `${base}/accounts/${admin.accountId}`, { role: 'auditor' }),
      ];
      for (const response of refusals) assert.deepEqual([response.statusCode, errorCode(response)], [409, 'account-change-refused'], response.body);
      assert.equal(json(await by(admin, 'GET', `${base}/accounts/${admin.accountId}`))['account']['role'], 'tenant-admin');

      // With a second administrator, the first may go.
      const deputy = await signInWithTotp(t, 'clinic', 'tenant-admin', `deputy.${(n += 1)}@clinic.example`, () => clock.now().getTime());
      // (Demoting to a role that reaches more than the deputy's own, auditor, needs an operator: escalation.test.ts.)
      const demoted = await by(deputy, 'POST', `${base}/accounts/${admin.accountId}/disable`);
      assert.equal(demoted.statusCode, 200, demoted.body);
      assert.equal(await alive(admin), false);
      const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
      await assert.rejects(t.app.accounts.setDisabled({ tenantId: 'clinic', accountId: deputy.accountId, disabled: true, context: { by: operator } }), (e: { code?: string }) => e.code === 'account-change-refused', 'now the deputy is the last one');
      assert.equal((await by(deputy, 'POST', `${base}/accounts/${admin.accountId}/enable`)).statusCode, 200);
      // The first admin's sessions ended; the deputy administers from here on.
      admin = deputy;
      assert.equal((await by(admin, 'GET', `${base}/accounts`)).statusCode, 200, 'an admin again');
    });

    it('V4.3.1 (ASVS 4.0.3): account-security changes need a person signed in with two factors; a tenant-admin API key or a password-only admin session is refused (403 second-factor-required), and reads still work', async () => {
      const dr = await someone('clinician');
      const passwordOnly = await someone('tenant-admin');
      const session = (json(await by(dr, 'GET', `${base}/auth/sessions`))['sessions'] as Array<{ id: string }>)[0]?.id as string;
      const calls: Array<[string, string, unknown?]> = [
        ['POST', `${base}/accounts`, { role: 'tenant-admin', email: 'key.invite@clinic.example' }],
        ['PATCH', `${base}/accounts/${dr.accountId}`, { role: 'tenant-admin' }],
        ['POST', `${base}/accounts/${dr.accountId}/disable`],
        ['POST', `${base}/accounts/${dr.accountId}/enable`],
        ['POST', `${base}/accounts/${dr.accountId}/invite`, {}],
        ['POST', `${base}/accounts/${dr.accountId}/unlock`],
        ['POST', `${base}/accounts/${dr.accountId}/second-factors/reset`, {}],
        ['DELETE', `${base}/accounts/${dr.accountId}/sessions/${session}`],
        ['PUT', `${base}/settings/mfa`, { policy: 'optional' }],
        ['POST', `${base}/apps`, { name: 'Key app', publisher: 'P', kind: 'public', scope: 'patient/Observation.rs', redirectUris: ['https://app.example/cb'] }],
      ];
      for (const [method, url, body] of calls) {
        for (const [who, response] of [
          ['tenant-admin key', await withKey(adminKey, method, url, body)],
          ['password-only session', await by(passwordOnly, method, url, body)],
        ] as const) {
          assert.deepEqual([response.statusCode, errorCode(response)], [403, 'second-factor-required'], `${who} ${method} ${url}: ${response.body}`);
          assert.match(String(response.headers['content-type']), /application\/problem\+json/);
        }
      }
      assert.ok(await alive(dr), 'nothing was done');
      assert.equal((await t.app.accounts.get('clinic', dr.accountId))?.role, 'clinician');
      const denied = await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'], actor: `account:${passwordOnly.accountId}` });
      assert.equal(denied.length, calls.length, 'each refusal is audited');
      assert.equal((await withKey(adminKey, 'GET', `${base}/accounts/${dr.accountId}`)).statusCode, 200, 'reading needs no second factor');
      const done = await by(admin, 'POST', `${base}/accounts/${dr.accountId}/unlock`);
      assert.equal(done.statusCode, 200, 'a two-factor session does it');
    });

    it('V6.3.1: an administrator unlocks a locked sign-in (auth.unlocked)', async () => {
      const dr = await someone('clinician');
      const email = await emailOf(dr);
      const db = t.app.storage.platform;
      const table = db.table('login_throttle');
      const known = new Set((await db.query<{ subject: string }>(`SELECT subject FROM ${table}`)).map((r) => r.subject));
      assert.equal((await login(email, 'not the password of this person')).statusCode, 401);
      const subject = (await db.query<{ subject: string }>(`SELECT subject FROM ${table}`)).map((r) => r.subject).find((s) => !known.has(s)) as string;
      // A hundred consecutive failures, as the throttle counts them.
      await db.execute(`UPDATE ${table} SET failures = 100, locked = 1 WHERE subject = ?`, [subject]);
      assert.equal(errorCode(await login(email)), 'account-locked');
      const unlocked = await by(admin, 'POST', `${base}/accounts/${dr.accountId}/unlock`);
      assert.equal(unlocked.statusCode, 200, unlocked.body);
      assert.equal((await login(email)).statusCode, 200);
      const event = (await t.app.audit.query('clinic', { count: 1, actions: ['auth.unlocked'] }))[0];
      assert.deepEqual([event?.resources, event?.actor.id], [[`Account/${dr.accountId}`], `account:${admin.accountId}`]);
      assert.ok(!JSON.stringify(event).includes(email));
    });

    it('V7.4.5: an administrator lists a person’s sessions and ends one; a person ends one of their own other sessions', async () => {
      const dr = await someone('clinician');
      const email = await emailOf(dr);
      const other = json(await login(email));
      const listed = json(await by(admin, 'GET', `${base}/accounts/${dr.accountId}/sessions`))['sessions'] as Array<{ id: string }>;
      assert.equal(listed.length, 2);
      const ended = await by(admin, 'DELETE', `${base}/accounts/${dr.accountId}/sessions/${other['session']['id']}`);
      assert.equal(ended.statusCode, 204, ended.body);
      assert.equal((await by(admin, 'GET', `${base}/accounts/${dr.accountId}/sessions`)).body.includes(other['session']['id']), false);
      assert.equal((await by(admin, 'DELETE', `${base}/accounts/${dr.accountId}/sessions/${other['session']['id']}`)).statusCode, 404, 'ended already');
      assert.equal((await by(admin, 'DELETE', `${base}/accounts/${admin.accountId}/sessions/${listed[0]?.id}`)).statusCode, 404, 'not that account’s session');
      assert.ok(await alive(dr));

      // One's own: the CSRF token is required, and only one's own sessions can be named.
      const third = await login(email);
      const thirdId = json(third)['session']['id'] as string;
      const bare = await t.inject({ method: 'DELETE', url: `${base}/auth/sessions/${thirdId}`, headers: { cookie: dr.cookie } });
      assert.deepEqual([bare.statusCode, errorCode(bare)], [403, 'csrf-invalid']);
      const adminSession = (json(await by(admin, 'GET', `${base}/auth/sessions`))['sessions'] as Array<{ id: string }>)[0]?.id as string;
      assert.equal((await by(dr, 'DELETE', `${base}/auth/sessions/${adminSession}`)).statusCode, 404, 'someone else’s session');
      assert.ok(await alive(admin));
      assert.equal((await by(dr, 'DELETE', `${base}/auth/sessions/${thirdId}`)).statusCode, 204);
      assert.equal((await t.inject({ method: 'GET', url: `${base}/auth/sessions`, headers: { cookie: String(third.headers['set-cookie']).split(';')[0] as string } })).statusCode, 401);
      assert.ok(await alive(dr), 'the session that asked goes on');
      const revoked = (await t.app.audit.query('clinic', { count: 5, actions: ['session.revoked'] })).map((e) => e.detail);
      assert.deepEqual(revoked.slice(0, 2), ['by-owner', 'by-administrator']);
    });

    it('V3.5.1: every cookie-authenticated change of account administration needs the session’s X-CSRF-Token', async () => {
      const dr = await someone('clinician');
      for (const [method, url, body] of [
        ['POST', `${base}/accounts`, { role: 'clinician', email: 'forged.invite@clinic.example' }],
        ['PATCH', `${base}/accounts/${dr.accountId}`, { role: 'billing' }],
        ['POST', `${base}/accounts/${dr.accountId}/disable`, undefined],
        ['POST', `${base}/accounts/${dr.accountId}/unlock`, undefined],
        ['PUT', `${base}/settings/mfa`, { policy: 'optional' }],
      ] as const) {
        const headers = { cookie: admin.cookie, ...(body === undefined ? {} : jsonBody) };
        const bare = await t.inject({ method, url, headers, ...(body === undefined ? {} : { body }) });
        const forged = await t.inject({ method, url, headers: { ...headers, 'x-csrf-token': dr.csrf }, ...(body === undefined ? {} : { body }) });
        for (const response of [bare, forged]) assert.deepEqual([response.statusCode, errorCode(response)], [403, 'csrf-invalid'], `${method} ${url}`);
      }
      assert.equal((await t.inject({ method: 'GET', url: `${base}/accounts`, headers: { cookie: admin.cookie } })).statusCode, 200, 'reads need no CSRF token');
      assert.equal(json(await by(admin, 'GET', `${base}/accounts/${dr.accountId}`))['account']['role'], 'clinician', 'nothing changed');
    });

    it('V6.4.1: an administrator sends a new invitation to an account still invited; the old link stops working, and an active account is refused', async () => {
      const invited = json(await by(admin, 'POST', `${base}/accounts`, { role: 'tenant-admin', email: 'late.starter@clinic.example' }))['account'];
      const tokensOf = async () =>
        (await t.app.outbox.list('clinic')).filter((m) => m.accountId === invited.id).map((m) => /^([A-Za-z0-9_-]{43})$/m.exec(m.text)?.[1] as string);
      const [first] = await tokensOf();
      const again = await by(admin, 'POST', `${base}/accounts/${invited.id}/invite`, {});
      assert.equal(again.statusCode, 200, again.body);
      assert.ok(!again.body.includes(first as string));
      const second = (await tokensOf()).find((x) => x !== first) as string;
      const stale = await t.inject({ method: 'POST', url: `${base}/auth/setup`, body: { token: first, password: testPassword }, headers: jsonBody });
      assert.equal(errorCode(stale), 'token-invalid', 'the first link stopped working');
      const setup = await t.inject({ method: 'POST', url: `${base}/auth/setup`, body: { token: second, password: testPassword }, headers: jsonBody });
      assert.equal(setup.statusCode, 200, setup.body);
      assert.equal((await by(admin, 'POST', `${base}/accounts/${invited.id}/invite`, {})).statusCode, 409, 'it has a password now');
      assert.equal((await t.app.audit.query('clinic', { count: 1, actions: ['account.reinvited'] }))[0]?.resources[0], `Account/${invited.id}`);
    });

    it('V6.4.4: an administrator removes the second factors of a person who lost them; the sessions end and the next sign-in starts without', async () => {
      let dr = await someone('clinician');
      const offered = await by(dr, 'POST', `${base}/auth/totp`, { password: testPassword });
      const code = await generate({ secret: json(offered)['secret'] as string, epoch: Math.floor(clock.now().getTime() / 1000) });
      const confirmed = await by(dr, 'POST', `${base}/auth/totp/confirm`, { code });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      dr = { ...dr, cookie: String(confirmed.headers['set-cookie']).split(';')[0] as string, csrf: json(confirmed)['csrfToken'] };
      const email = await emailOf(dr);
      assert.equal(json(await login(email))['secondFactorRequired'], true);

      assert.equal((await by(admin, 'POST', `${base}/accounts/${admin.accountId}/second-factors/reset`, {})).statusCode, 409, 'not one’s own');
      assert.equal((await withKey(auditorKey, 'POST', `${base}/accounts/${dr.accountId}/second-factors/reset`, {})).statusCode, 403);
      const reset = await by(admin, 'POST', `${base}/accounts/${dr.accountId}/second-factors/reset`, {});
      assert.equal(reset.statusCode, 200, reset.body);
      assert.equal(json(reset)['account']['secondFactor'], false);
      assert.ok(json(reset)['sessionsEnded'] >= 1);
      assert.equal(await alive(dr), false);
      const again = await login(email);
      assert.equal(again.statusCode, 200);
      assert.equal(json(again)['secondFactorRequired'], undefined, 'a session from the password: the policy decides whether one must be enrolled now');
      const event = (await t.app.audit.query('clinic', { count: 1, actions: ['auth.mfa_removed'] }))[0];
      assert.deepEqual([event?.detail, event?.resources], ['by-administrator', [`Account/${dr.accountId}`]]);
    });

    it('V6.3.3: under the policy "staff" a clinician without a second factor is told to enrol at login, is refused beyond /auth, enrols TOTP and gets through', async () => {
      const set = await by(admin, 'PUT', `${base}/settings/mfa`, { policy: 'staff' });
      assert.deepEqual([set.statusCode, json(set)], [200, { policy: 'staff' }]);
      assert.equal((await t.app.audit.query('clinic', { count: 1, actions: ['tenant.settings_changed'] }))[0]?.detail, 'mfa staff');
      assert.equal(errorCode(await by(admin, 'PUT', `${base}/settings/mfa`, { policy: 'sometimes' })), 'setting-invalid');
      try {
        const email = `enrol.me.${(n += 1)}@clinic.example`;
        const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
        await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
        const signedIn = await login(email);
        assert.equal(signedIn.statusCode, 200);
        assert.equal(json(signedIn)['secondFactorEnrolmentRequired'], true);
        let dr: Person = { accountId: json(signedIn)['account']['id'], cookie: String(signedIn.headers['set-cookie']).split(';')[0] as string, csrf: json(signedIn)['csrfToken'] };
        for (const url of [`${base}/accounts`, `${base}/fhir/Patient`]) {
          const refused = await by(dr, 'GET', url);
          assert.deepEqual([refused.statusCode, errorCode(refused)], [403, 'second-factor-required'], url);
        }
        const offered = await by(dr, 'POST', `${base}/auth/totp`, { password: testPassword });
        assert.equal(offered.statusCode, 200, offered.body);
        const code = await generate({ secret: json(offered)['secret'] as string, epoch: Math.floor(clock.now().getTime() / 1000) });
        const confirmed = await by(dr, 'POST', `${base}/auth/totp/confirm`, { code });
        assert.equal(confirmed.statusCode, 200, confirmed.body);
        dr = { ...dr, cookie: String(confirmed.headers['set-cookie']).split(';')[0] as string, csrf: json(confirmed)['csrfToken'] };
        assert.equal((await by(dr, 'GET', `${base}/fhir/Patient`)).statusCode, 200, 'through to the records');
        assert.deepEqual(errorCode(await by(dr, 'GET', `${base}/accounts`)), 'forbidden', 'through the second-factor check, stopped by the permission');

        const patientEmail = `patient.${n}@clinic.example`;
        const invited = await t.app.accounts.invite({ tenantId: 'clinic', role: 'patient', patient: 'Patient/p-enrol', email: patientEmail, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
        await t.app.accounts.completeSetup({ tenantId: 'clinic', token: invited.setupToken, password: testPassword, sourceIp: '127.0.0.1' });
        const patient = await login(patientEmail);
        assert.equal(json(patient)['secondFactorEnrolmentRequired'], false, 'patients are not staff');
      } finally {
        await t.app.tenants.setMfaPolicy('clinic', 'optional');
      }
    });
  });
}
