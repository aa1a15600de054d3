import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const password = 'seven hungry otters swim the fjord';
const email = 'dr.vik@clinic.example';

for (const engine of engines()) {
  describe(`second factor: TOTP enrolment and step-up at login (OWASP ASVS 5 V6.5, V7.5.1) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T11:00:10Z'));
    let secret = '';
    let recoveryCodes: string[] = [];
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      t.inject({ method: 'POST', url: `/tenants/clinic/auth/${path}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const cookieOf = (response: Awaited<ReturnType<typeof post>>) => String(response.headers['set-cookie']).split(';')[0] as string;
    const code = (offsetMs = 0) => generate({ secret, epoch: Math.floor((clock.now().getTime() + offsetMs) / 1000) });

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email, by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
    });
    after(() => t.close());

    it('V7.5.1: enrolling TOTP needs the password again, then a code from the new secret; it returns ten recovery codes once and renews the session', async () => {
      const login = await post('login', { email, password });
      const cookie = cookieOf(login);
      const csrf = json(login)['csrfToken'] as string;
      assert.equal(json(login)['session']['secondFactor'], false);
      assert.equal((await post('totp', { password: 'not my password at all' }, { cookie, 'x-csrf-token': csrf })).statusCode, 403);
      const offered = await post('totp', { password }, { cookie, 'x-csrf-token': csrf });
      assert.equal(offered.statusCode, 200, offered.body);
      secret = json(offered)['secret'] as string;
      assert.match(secret, /^[A-Z2-7]{32}$/);
      assert.match(json(offered)['uri'], /^otpauth:\/\/totp\//);
      assert.match(json(offered)['qrSvg'], /^<svg/);
      assert.equal((await post('totp/confirm', { code: '000000' }, { cookie, 'x-csrf-token': csrf })).statusCode, 401, 'a wrong code does not enrol');
      const confirmed = await post('totp/confirm', { code: await code() }, { cookie, 'x-csrf-token': csrf });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      recoveryCodes = json(confirmed)['recoveryCodes'] as string[];
      assert.equal(recoveryCodes.length, 10);
      const renewed = cookieOf(confirmed);
      assert.notEqual(renewed, cookie);
      const sessions = json(await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie: renewed } }))['sessions'];
      assert.equal(sessions.find((s: { current: boolean }) => s.current).secondFactor, true);
      const enrolled = await t.app.audit.query('clinic', { count: 10, actions: ['auth.mfa_enrolled'] });
      assert.equal(enrolled.length, 1);
      assert.ok(!JSON.stringify(await t.app.audit.query('clinic', { count: 1000 })).includes(secret), 'the secret is not in the trail');
    });

    it('with a second factor, a password alone gets a five-minute single-use ticket, never a session', async () => {
      clock.advance(30_000);
      const first = await post('login', { email, password });
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['set-cookie'], undefined, 'no cookie');
      assert.deepEqual([json(first)['secondFactorRequired'], json(first)['methods']], [true, ['totp', 'recovery-code']]);
      const ticket = json(first)['ticket'] as string;
      const wrong = await post('second-factor', { ticket, code: '123456' });
      assert.deepEqual([wrong.statusCode, json(wrong)['code']], [401, 'second-factor-failed']);
      const ok = await post('second-factor', { ticket, code: await code() });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(json(ok)['session']['secondFactor'], true);
      assert.match(String(ok.headers['set-cookie']), /^__Host-tresor_session=/);
      assert.equal((await post('second-factor', { ticket, code: await code(30_000) })).statusCode, 401, 'the ticket worked once');

      const late = json(await post('login', { email, password }))['ticket'] as string;
      clock.advance(5 * 60_000 + 1);
      assert.equal((await post('second-factor', { ticket: late, code: await code() })).statusCode, 401, 'the ticket expired');
      assert.equal((await t.app.audit.query('clinic', { count: 10, actions: ['auth.mfa_failed'] })).length, 1, 'the wrong code (an expired ticket names no account)');
    });

    it('V6.5.1: a TOTP code works once, and so does each recovery code', async () => {
      clock.advance(30_000);
      const used = await code();
      const ticket = () => post('login', { email, password }).then((r) => json(r)['ticket'] as string);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: used })).statusCode, 200);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: used })).statusCode, 401, 'replayed in its time step');
      const recovery = recoveryCodes[4] as string;
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recovery.toUpperCase() })).statusCode, 200);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recovery })).statusCode, 401, 'a recovery code works once');
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recoveryCodes[5] as string })).statusCode, 200, 'the others still work');
    });

    it('with a second factor the password may be as short as 8 characters (NIST SP 800-63B-4)', async () => {
      clock.advance(30_000);
      const ticket = json(await post('login', { email, password }))['ticket'] as string;
      const session = await post('second-factor', { ticket, code: await code() });
      const changed = await post('password', { current: password, next: 'otter 42' }, { cookie: cookieOf(session), 'x-csrf-token': json(session)['csrfToken'] as string });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(json(await post('login', { email, password: 'otter 42' }))['secondFactorRequired'], true);
    });

    it('renews recovery codes with the password (the old ones stop), and removes the factor only with the password and a code', async () => {
      const password = 'otter 42'; // since the test before
      clock.advance(30_000);
      const signIn = async () => {
        const ticket = json(await post('login', { email, password }))['ticket'] as string;
        clock.advance(30_000);
        return post('second-factor', { ticket, code: await code() });
      };
      const session = await signIn();
      const headers = { cookie: cookieOf(session), 'x-csrf-token': json(session)['csrfToken'] as string };
      assert.equal((await post('recovery-codes', { password: 'not my password at all' }, headers)).statusCode, 403);
      const renewed = await post('recovery-codes', { password }, headers);
      assert.equal(renewed.statusCode, 200, renewed.body);
      const fresh = json(renewed)['recoveryCodes'] as string[];
      assert.equal(fresh.length, 10);
      const ticket = () => post('login', { email, password }).then((r) => json(r)['ticket'] as string);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recoveryCodes[7] as string })).statusCode, 401, 'an old recovery code');
      recoveryCodes = fresh;

      const other = await signIn();
      assert.equal((await post('totp/remove', { password, code: '000000' }, headers)).statusCode, 401, 'a wrong code');
      clock.advance(30_000);
      const removed = await post('totp/remove', { password, code: await code() }, headers);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.ok((json(removed)['otherSessionsEnded'] as number) >= 1);
      assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie: cookieOf(other) } })).statusCode, 401, 'the other session ended');
      const plain = await post('login', { email, password });
      assert.equal(json(plain)['secondFactorRequired'], undefined, 'a password alone signs in again');
      assert.equal(json(plain)['session']['secondFactor'], false);
      const actions = (await t.app.audit.query('clinic', { count: 20, actions: ['auth.mfa_removed', 'auth.recovery_codes_renewed'] })).map((e) => e.action).sort();
      assert.deepEqual(actions, ['auth.mfa_removed', 'auth.recovery_codes_renewed']);
    });
  });
}
