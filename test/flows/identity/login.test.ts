import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const password = 'seven hungry otters swim the fjord';

for (const engine of engines()) {
  describe(`login with a password, sessions, logout (OWASP ASVS 5 V6.3, V7) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T10:00:00Z'));
    const post = (path: string, body: unknown, headers: Record<string, string> = {}, tenant = 'clinic') =>
      t.inject({ method: 'POST', url: `/tenants/${tenant}/auth/${path}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = (email: string, pw: string, tenant = 'clinic') => post('login', { email, password: pw }, {}, tenant);
    const cookieOf = (response: Awaited<ReturnType<typeof login>>) => String(response.headers['set-cookie']).split(';')[0] as string;

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'dr.berg@clinic.example', by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
      await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'not.yet@clinic.example', by: operator });
    });
    after(() => t.close());

    it('V7.2.3: a login answers with a __Host- cookie (Secure, HttpOnly, SameSite=Strict) and a CSRF token; the session lists itself', async () => {
      const ok = await login('Dr.Berg@clinic.example', password);
      assert.equal(ok.statusCode, 200, ok.body);
      assert.match(String(ok.headers['set-cookie']), /^__Host-tresor_session=clinic\.[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
      const body = json(ok);
      assert.equal(body['account']['role'], 'clinician');
      assert.equal(body['session']['secondFactor'], false);
      const listed = await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie: cookieOf(ok) } });
      assert.equal(listed.statusCode, 200);
      assert.deepEqual(
        json(listed)['sessions'].map((s: { id: string; current: boolean }) => [s.id, s.current]),
        [[body['session']['id'], true]],
      );
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions' })).statusCode, 401, 'no cookie, no session');
      const trail = await t.app.audit.query('clinic', { count: 50, actions: ['auth.login_succeeded'] });
      assert.equal(trail.length, 1);
    });

    it('V6.3.8: a wrong password, an unknown email, an account without a password and an unknown tenant get one answer and the same argon2 work', async () => {
      const answers = [];
      for (const [email, pw, tenant] of [
        ['dr.berg@clinic.example', 'seven hungry otters swim the lake', 'clinic'],
        ['nobody@clinic.example', password, 'clinic'],
        ['not.yet@clinic.example', password, 'clinic'],
        ['dr.berg@clinic.example', password, 'no-such-clinic'],
        ['not an email', password, 'clinic'],
      ] as const) {
        const before = t.app.passwords.work();
        const response = await login(email, pw, tenant);
        answers.push([response.statusCode, json(response)['code'], json(response)['title'], t.app.passwords.work() - before]);
      }
      for (const answer of answers) assert.deepEqual(answer, [401, 'login-failed', 'The email address or the password is wrong.', 1]);
      const failed = await t.app.audit.query('clinic', { count: 50, actions: ['auth.login_failed'] });
      assert.equal(failed.length, 4, 'the tenant’s four failures are in its trail');
      const trail = JSON.stringify(failed);
      assert.ok(!trail.includes('nobody@') && !trail.includes('otters'), 'neither the typed email nor the password');
    });

    it('V6.3.1: throttles an email after five failures with growing delays, before any password work, and a success starts over', async () => {
      const email = 'dr.berg@clinic.example';
      clock.advance(60 * 60_000);
      assert.equal((await login(email, password)).statusCode, 200, 'a success first: the failures before it no longer count');
      for (let i = 0; i < 5; i += 1) assert.equal((await login(email, `wrong guess number ${i} here`)).statusCode, 401);
      const before = t.app.passwords.work();
      const throttled = await login(email, password);
      assert.deepEqual([throttled.statusCode, json(throttled)['code'], throttled.headers['retry-after']], [429, 'login-throttled', '1']);
      assert.equal(t.app.passwords.work(), before, 'no argon2 work for a throttled attempt');
      clock.advance(1000);
      assert.equal((await login(email, password)).statusCode, 200, 'the right password after the wait');
      assert.equal((await login(email, 'wrong once more, that is fine')).statusCode, 401);
      assert.equal((await login(email, password)).statusCode, 200, 'counting started over');
    });

    it('V7.4.1: logout ends the session, and needs the session’s CSRF token', async () => {
      const ok = await login('dr.berg@clinic.example', password);
      const cookie = cookieOf(ok);
      const csrf = json(ok)['csrfToken'] as string;
      assert.deepEqual([(await post('logout', {}, { cookie })).statusCode], [403], 'no X-CSRF-Token');
      assert.equal(json(await post('logout', {}, { cookie, 'x-csrf-token': 'forged' }))['code'], 'csrf-invalid');
      const out = await post('logout', {}, { cookie, 'x-csrf-token': csrf });
      assert.equal(out.statusCode, 204);
      assert.match(String(out.headers['set-cookie']), /Max-Age=0/);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie } })).statusCode, 401, 'the cookie is dead');
      assert.equal((await post('logout', {}, { cookie, 'x-csrf-token': csrf })).statusCode, 401);
    });

    it('V6.2.2 / V6.2.3 / V7.4.3: a password change needs the current password and the CSRF token, ends every other session and renews this one', async () => {
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'front-desk', email: 'change.me@clinic.example', by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
      const a = await login('change.me@clinic.example', password);
      const b = await login('change.me@clinic.example', password);
      const cookie = cookieOf(a);
      const csrf = json(a)['csrfToken'] as string;
      const next = 'a brand new passphrase for the desk';
      assert.equal((await post('password', { current: password, next }, { cookie })).statusCode, 403, 'no CSRF token');
      const wrong = await post('password', { current: 'not my current password', next }, { cookie, 'x-csrf-token': csrf });
      assert.deepEqual([wrong.statusCode, json(wrong)['code']], [403, 'password-wrong']);
      const weak = await post('password', { current: password, next: 'too short' }, { cookie, 'x-csrf-token': csrf });
      assert.deepEqual([weak.statusCode, json(weak)['code']], [422, 'password-too-short']);
      const changed = await post('password', { current: password, next }, { cookie, 'x-csrf-token': csrf });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(json(changed)['otherSessionsEnded'], 1);
      const renewed = cookieOf(changed);
      assert.notEqual(renewed, cookie);
      const sessionsWith = (c: string) => t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie: c } });
      assert.equal((await sessionsWith(cookie)).statusCode, 401, 'the old token of this session');
      assert.equal((await sessionsWith(cookieOf(b))).statusCode, 401, 'the other session');
      assert.equal((await sessionsWith(renewed)).statusCode, 200, 'this session, renewed');
      assert.equal((await login('change.me@clinic.example', password)).statusCode, 401);
      assert.equal((await login('change.me@clinic.example', next)).statusCode, 200);
    });

    it('never logs or audits a password, a session token or a CSRF token', async () => {
      const ok = await login('dr.berg@clinic.example', password);
      const token = cookieOf(ok).split('=')[1] as string;
      const everything = `${t.logs.join('\n')}\n${JSON.stringify(await t.app.audit.query('clinic', { count: 1000 }))}`;
      for (const secret of [password, 'a brand new passphrase', token, json(ok)['csrfToken'] as string]) assert.ok(!everything.includes(secret));
    });
  });
}
