import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { loadConfig } from '../../../src/config/index.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { SoftAuthenticator } from '../../support/webauthn.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const password = 'seven hungry otters swim the fjord';
const email = 'dr.lind@clinic.example';
// identity.webauthn defaults from server.publicUrl: its host is the rpId, its origin the origin.
const publicUrl = 'https://vault.clinic.example';
const origin = 'https://vault.clinic.example';
const rpId = 'vault.clinic.example';

for (const engine of engines()) {
  describe(`second factor: WebAuthn passkeys (OWASP ASVS 5 V6.5, V6.6, V7.5.1) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T12:00:00Z'));
    const laptop = new SoftAuthenticator();
    // A synced passkey: reports no signature counter (always 0).
    const phone = new SoftAuthenticator({ keepsCounter: false });
    let recoveryCodes: string[] = [];
    const challenges: string[] = [];
    type Response = Awaited<ReturnType<TestApp['inject']>>;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}, tenant = 'clinic') =>
      t.inject({ method: 'POST', url: `/tenants/${tenant}/auth/${path}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const get = (path: string, headers: Record<string, string>) => t.inject({ method: 'GET', url: `/tenants/clinic/auth/${path}`, headers });
    const cookieOf = (response: Response) => String(response.headers['set-cookie']).split(';')[0] as string;
    const headersOf = (response: Response) => ({ cookie: cookieOf(response), 'x-csrf-token': json(response)['csrfToken'] as string });
    const ticket = async () => {
      const first = await post('login', { email, password });
      assert.equal(first.statusCode, 200, first.body);
      return json(first)['ticket'] as string;
    };
    const loginOptions = async (forTicket: string, tenant = 'clinic') => {
      const offered = await post('second-factor/passkey/options', { ticket: forTicket }, {}, tenant);
      assert.equal(offered.statusCode, 200, offered.body);
      return json(offered) as { challenge: string; rpId: string; allowCredentials: Array<{ id: string }>; userVerification: string };
    };
    /** Password, then the passkey: a session with both factors. */
    const signIn = async (authenticator: SoftAuthenticator) => {
      const forTicket = await ticket();
      const response = await post('second-factor', { ticket: forTicket, passkey: authenticator.assert(await loginOptions(forTicket), { origin }) });
      assert.equal(response.statusCode, 200, response.body);
      return response;
    };
    const failures = async () => (await t.app.audit.query('clinic', { count: 1000, actions: ['auth.mfa_failed'] })).map((e) => e.detail ?? '');

    before(async () => {
      t = await startTestApp(engine, { server: { publicUrl } }, { clock });
      await t.tenant('clinic');
      await t.tenant('other');
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email, by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
    });
    after(() => t.close());

    it('V7.5.1, V6.5.x: registering a passkey needs the password again and a challenge this server gave this session, from the configured origin; the first one brings ten recovery codes and renews the session', async () => {
      const login = await post('login', { email, password });
      assert.equal(json(login)['session']['secondFactor'], false);
      const headers = headersOf(login);
      assert.equal((await post('passkeys/options', { password }, { cookie: headers.cookie })).statusCode, 403, 'no CSRF token');
      const wrong = await post('passkeys/options', { password: 'not my password at all' }, headers);
      assert.deepEqual([wrong.statusCode, json(wrong)['code']], [403, 'password-wrong']);

      const offered = await post('passkeys/options', { password }, headers);
      assert.equal(offered.statusCode, 200, offered.body);
      const options = json(offered);
      challenges.push(options['challenge'] as string);
      assert.equal(options['rp']['id'], rpId);
      assert.equal(options['attestation'], 'none');
      assert.deepEqual([options['authenticatorSelection']['userVerification'], options['authenticatorSelection']['residentKey']], ['preferred', 'preferred']);
      assert.deepEqual(options['excludeCredentials'], []);
      assert.equal(options['timeout'], 300_000);

      const elsewhere = await post('passkeys', { name: 'Laptop', response: laptop.register(options as never, { origin: 'https://vault.clinic.example.evil.test' }) }, headers);
      assert.deepEqual([elsewhere.statusCode, json(elsewhere)['code']], [400, 'second-factor-failed'], 'another origin');
      const again = await post('passkeys', { name: 'Laptop', response: laptop.register(options as never, { origin }) }, headers);
      assert.equal(again.statusCode, 400, 'the challenge was spent by the first answer');
      const forged = await post('passkeys', { name: 'Laptop', response: laptop.register(options as never, { origin, challenge: randomBytes(32).toString('base64url') }) }, headers);
      assert.equal(forged.statusCode, 400, 'a challenge the server never gave');

      const fresh = json(await post('passkeys/options', { password }, headers));
      assert.equal((await post('passkeys', { name: '', response: laptop.register(fresh as never, { origin }) }, headers)).statusCode, 400, 'a name is required');
      assert.equal((await post('passkeys', { name: 'Lap\u0007top', response: laptop.register(fresh as never, { origin }) }, headers)).statusCode, 400, 'printable characters only');
      const registered = await post('passkeys', { name: 'Laptop', response: laptop.register(json(await post('passkeys/options', { password }, headers)) as never, { origin }) }, headers);
      assert.equal(registered.statusCode, 201, registered.body);
      assert.equal(json(registered)['passkey']['id'], laptop.id);
      recoveryCodes = json(registered)['recoveryCodes'] as string[];
      assert.equal(recoveryCodes.length, 10);
      assert.notEqual(cookieOf(registered), headers.cookie, 'a new session token');
      assert.equal((await get('sessions', { cookie: headers.cookie })).statusCode, 401, 'the old token stopped');
      const sessions = json(await get('sessions', { cookie: cookieOf(registered) }))['sessions'];
      assert.equal(sessions.find((s: { current: boolean }) => s.current).secondFactor, true);

      // A second passkey: the first is excluded, no new recovery codes.
      const renewed = headersOf(registered);
      clock.advance(1000);
      const second = json(await post('passkeys/options', { password }, renewed));
      assert.deepEqual(second['excludeCredentials'].map((c: { id: string }) => c.id), [laptop.id]);
      assert.equal((await post('passkeys', { name: 'Laptop again', response: laptop.register(second as never, { origin }) }, renewed)).statusCode, 409, 'the same credential twice');
      const phoneAdded = await post('passkeys', { name: 'Phone  📱', response: phone.register(json(await post('passkeys/options', { password }, renewed)) as never, { origin }) }, renewed);
      assert.equal(phoneAdded.statusCode, 201, phoneAdded.body);
      assert.equal(json(phoneAdded)['recoveryCodes'], undefined, 'recovery codes only with the first factor');

      const listed = json(await get('passkeys', { cookie: cookieOf(phoneAdded) }))['passkeys'];
      assert.deepEqual(
        listed.map((p: Record<string, unknown>) => [p['id'], p['name'], p['lastUsedAt']]),
        [
          [laptop.id, 'Laptop', null],
          [phone.id, 'Phone  📱', null],
        ],
      );
      assert.deepEqual(Object.keys(listed[0]).sort(), ['createdAt', 'id', 'lastUsedAt', 'name']);
      const enrolled = await t.app.audit.query('clinic', { count: 10, actions: ['auth.mfa_enrolled'] });
      assert.deepEqual(enrolled.map((e) => e.detail), ['passkey', 'passkey']);
    });

    it('V6.6.x: with a passkey the password alone gets a ticket, never a session; the passkey\'s assertion gives a session that passed both factors', async () => {
      clock.advance(1000);
      const first = await post('login', { email, password });
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['set-cookie'], undefined, 'no cookie for the password alone');
      assert.deepEqual([json(first)['secondFactorRequired'], json(first)['methods']], [true, ['passkey', 'recovery-code']]);
      const forTicket = json(first)['ticket'] as string;
      const options = await loginOptions(forTicket);
      challenges.push(options.challenge);
      assert.equal(options.rpId, rpId);
      assert.equal(options.userVerification, 'preferred');
      assert.deepEqual(options.allowCredentials.map((c) => c.id).sort(), [laptop.id, phone.id].sort());

      const ok = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(options, { origin }) });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(json(ok)['session']['secondFactor'], true);
      assert.match(String(ok.headers['set-cookie']), /^__Host-tresor_session=/);
      const again = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(options, { origin }) });
      assert.equal(again.statusCode, 401, 'the ticket worked once');

      const used = json(await get('passkeys', { cookie: cookieOf(ok) }))['passkeys'].find((p: { id: string }) => p.id === laptop.id);
      assert.equal(used.lastUsedAt, clock.now().toISOString());
      // An authenticator that keeps no counter (always 0) signs in again and again.
      await signIn(phone);
      await signIn(phone);
      // A recovery code also passes the second step of a passkey-only account, once.
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recoveryCodes[0] as string })).statusCode, 200);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recoveryCodes[0] as string })).statusCode, 401);
      const successes = await t.app.audit.query('clinic', { count: 100, actions: ['auth.login_succeeded'] });
      // Newest first.
      assert.deepEqual(successes.map((e) => e.detail).filter((d) => d !== '' && d !== undefined), ['recovery-code', 'passkey', 'passkey', 'passkey']);
    });

    it('V6.6.x: a replayed assertion, a challenge given for another ticket or for registration, and a made-up challenge are refused', async () => {
      clock.advance(1000);
      const before = (await failures()).length;
      const first = await ticket();
      const options = await loginOptions(first);
      const assertion = laptop.assert(options, { origin });
      assert.equal((await post('second-factor', { ticket: first, passkey: assertion })).statusCode, 200);
      const replayed = await post('second-factor', { ticket: await ticket(), passkey: assertion });
      assert.deepEqual([replayed.statusCode, json(replayed)['code']], [401, 'second-factor-failed'], 'replayed with a new ticket');

      const mine = await ticket();
      const theirs = await ticket();
      const forTheirs = await loginOptions(theirs);
      assert.equal((await post('second-factor', { ticket: mine, passkey: laptop.assert(forTheirs, { origin }) })).statusCode, 401, 'a challenge bound to another ticket');
      const session = await post('second-factor', { ticket: theirs, passkey: laptop.assert(forTheirs, { origin }) });
      assert.equal(session.statusCode, 200, 'the challenge still works for its own ticket');

      const registration = json(await post('passkeys/options', { password }, headersOf(session)));
      const withRegistrationChallenge = await ticket();
      await loginOptions(withRegistrationChallenge);
      assert.equal((await post('second-factor', { ticket: withRegistrationChallenge, passkey: laptop.assert({ challenge: registration['challenge'] as string, rpId }, { origin }) })).statusCode, 401, 'a registration challenge');
      const madeUp = await ticket();
      await loginOptions(madeUp);
      assert.equal((await post('second-factor', { ticket: madeUp, passkey: laptop.assert({ challenge: randomBytes(32).toString('base64url'), rpId }, { origin }) })).statusCode, 401, 'a challenge the server never gave');
      assert.equal((await failures()).length - before, 4);
    });

    it('V6.6.x: another origin, another relying party id, a signature from another key, and a credential of another account are refused', async () => {
      clock.advance(5000);
      const attempt = async (make: (options: { challenge: string; rpId: string }) => Record<string, unknown>) => {
        const forTicket = await ticket();
        const response = await post('second-factor', { ticket: forTicket, passkey: make(await loginOptions(forTicket)) });
        clock.advance(60_000); // past the throttle's delays
        return response.statusCode;
      };
      assert.equal(await attempt((o) => laptop.assert(o, { origin: 'https://phish.example' })), 401, 'another origin');
      assert.equal(await attempt((o) => laptop.assert(o, { origin: 'http://vault.clinic.example' })), 401, 'plain http');
      assert.equal(await attempt((o) => laptop.assert(o, { origin, rpId: 'clinic.example' })), 401, 'another rpId');
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      assert.equal(await attempt((o) => laptop.assert(o, { origin, signWith: privateKey })), 401, 'another key');
      const stranger = new SoftAuthenticator();
      assert.equal(await attempt((o) => stranger.assert(o, { origin })), 401, 'a credential this account does not have');
      assert.equal(await attempt((o) => laptop.assert(o, { origin, flags: 0x04 })), 401, 'no user presence');
      assert.equal((await signIn(laptop)).statusCode, 200, 'the real one still works');
    });

    it('V6.6.x: a signature counter that does not go up is refused as a cloned authenticator and audited', async () => {
      clock.advance(1000);
      const before = laptop.counter;
      const forTicket = await ticket();
      const stale = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(await loginOptions(forTicket), { origin, counter: before }) });
      assert.deepEqual([stale.statusCode, json(stale)['code']], [401, 'second-factor-failed'], 'the same counter again');
      const lower = await ticket();
      assert.equal((await post('second-factor', { ticket: lower, passkey: laptop.assert(await loginOptions(lower), { origin, counter: before - 1 }) })).statusCode, 401, 'a lower counter');
      assert.deepEqual((await failures()).slice(0, 2), ['passkey-counter', 'passkey-counter']);
      assert.equal((await signIn(laptop)).statusCode, 200, 'a higher counter passes');
    });

    it('V6.6.x: wrong assertions count on the second factor\'s throttle, like wrong codes', async () => {
      clock.advance(60_000);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      for (let i = 0; i < 3; i += 1) {
        const forTicket = await ticket();
        assert.equal((await post('second-factor', { ticket: forTicket, passkey: laptop.assert(await loginOptions(forTicket), { origin, signWith: privateKey }) })).statusCode, 401);
      }
      for (let i = 0; i < 2; i += 1) assert.equal((await post('second-factor', { ticket: await ticket(), code: '000000' })).statusCode, 401);
      const forTicket = await ticket();
      const throttled = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(await loginOptions(forTicket), { origin }) });
      assert.deepEqual([throttled.statusCode, json(throttled)['code']], [429, 'login-throttled'], 'five failures, then a wait even for the right passkey');
      clock.advance(2000);
      assert.equal((await signIn(laptop)).statusCode, 200);
    });

    it('another tenant\'s ticket opens nothing here', async () => {
      clock.advance(1000);
      const forTicket = await ticket();
      const options = await loginOptions(forTicket);
      assert.equal((await post('second-factor/passkey/options', { ticket: forTicket }, {}, 'other')).statusCode, 401);
      const there = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(options, { origin }) }, {}, 'other');
      assert.deepEqual([there.statusCode, json(there)['code']], [401, 'second-factor-failed']);
      assert.equal((await post('second-factor/passkey/options', { ticket: forTicket }, {}, 'nowhere')).statusCode, 401, 'an unknown tenant');
    });

    it('with TOTP and a passkey both are offered; removing TOTP keeps the passkey and the recovery codes', async () => {
      clock.advance(1000);
      const headers = headersOf(await signIn(laptop));
      const secret = json(await post('totp', { password }, headers))['secret'] as string;
      const code = () => generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) });
      const confirmed = await post('totp/confirm', { code: await code() }, headers);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      recoveryCodes = json(confirmed)['recoveryCodes'] as string[];
      assert.deepEqual(json(await post('login', { email, password }))['methods'], ['totp', 'passkey', 'recovery-code']);
      clock.advance(30_000);
      const session = headersOf(await signIn(laptop));
      const removed = await post('totp/remove', { password, code: await code() }, session);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(json(await post('login', { email, password }))['methods'], ['passkey', 'recovery-code']);
      assert.equal((await post('second-factor', { ticket: await ticket(), code: recoveryCodes[1] as string })).statusCode, 200, 'the recovery codes stayed');
    });

    it('V7.5.1: removing a passkey needs the password and ends every other session; without a factor left the password alone signs in again', async () => {
      clock.advance(1000);
      const other = await signIn(phone);
      const mine = headersOf(await signIn(laptop));
      const wrong = await post(`passkeys/${laptop.id}/remove`, { password: 'not my password at all' }, mine);
      assert.deepEqual([wrong.statusCode, json(wrong)['code']], [403, 'password-wrong']);
      assert.equal((await post(`passkeys/${laptop.id}/remove`, { password }, { cookie: mine.cookie })).statusCode, 403, 'no CSRF token');
      assert.equal((await post(`passkeys/${randomBytes(300).toString('base64url')}/remove`, { password }, mine)).statusCode, 404, 'no such passkey (a long id)');

      const removed = await post(`passkeys/${laptop.id}/remove`, { password }, mine);
      assert.equal(removed.statusCode, 200, removed.body);
      assert.ok((json(removed)['otherSessionsEnded'] as number) >= 1);
      assert.equal((await get('sessions', { cookie: cookieOf(other) })).statusCode, 401, 'the other session ended');
      const renewed = headersOf(removed);
      assert.deepEqual(json(await get('passkeys', { cookie: renewed.cookie }))['passkeys'].map((p: { id: string }) => p.id), [phone.id]);
      const forTicket = await ticket();
      const gone = await post('second-factor', { ticket: forTicket, passkey: laptop.assert(await loginOptions(forTicket), { origin }) });
      assert.equal(gone.statusCode, 401, 'a removed passkey signs in no more');

      clock.advance(60_000);
      const last = await post(`passkeys/${phone.id}/remove`, { password }, renewed);
      assert.equal(last.statusCode, 200, last.body);
      const plain = await post('login', { email, password });
      assert.equal(json(plain)['secondFactorRequired'], undefined, 'no second factor left');
      assert.equal(json(plain)['session']['secondFactor'], false);
      const removedEvents = await t.app.audit.query('clinic', { count: 10, actions: ['auth.mfa_removed'] });
      assert.deepEqual(removedEvents.map((e) => e.detail), ['passkey', 'passkey', 'totp']);
      const trail = JSON.stringify(await t.app.audit.query('clinic', { count: 5000 }));
      assert.ok(!trail.includes(recoveryCodes[2] as string), 'no recovery code in the trail');
      for (const challenge of challenges) assert.ok(!trail.includes(challenge) && !t.logs.join('\n').includes(challenge), 'no challenge in the trail or the logs');
    });
  });
}

describe('identity.webauthn: the relying party (config)', () => {
  it('defaults from server.publicUrl, else localhost; env TRESOR_WEBAUTHN_RP_ID and TRESOR_WEBAUTHN_ORIGINS (comma-separated) set it', () => {
    assert.deepEqual(loadConfig({ env: {} }).identity.webauthn, { rpId: 'localhost', origins: ['https://localhost:8443'] });
    assert.deepEqual(loadConfig({ env: { TRESOR_PUBLIC_URL: 'https://vault.clinic.example:9443/base' } }).identity.webauthn, { rpId: 'vault.clinic.example', origins: ['https://vault.clinic.example:9443'] });
    assert.deepEqual(loadConfig({ env: { TRESOR_WEBAUTHN_RP_ID: 'clinic.example', TRESOR_WEBAUTHN_ORIGINS: 'https://vault.clinic.example, https://clinic.example:443' } }).identity.webauthn, {
      rpId: 'clinic.example',
      origins: ['https://vault.clinic.example', 'https://clinic.example'],
    });
  });

  it('refuses an origin outside the rpId, a plain-http origin, and an rpId with a scheme', () => {
    assert.throws(() => loadConfig({ env: { TRESOR_WEBAUTHN_RP_ID: 'clinic.example', TRESOR_WEBAUTHN_ORIGINS: 'https://clinic.example.evil.test' } }), /config\.identity\.webauthn\.origins \(from TRESOR_WEBAUTHN_ORIGINS\): .*not on the relying party id/);
    assert.throws(() => loadConfig({ env: { TRESOR_WEBAUTHN_RP_ID: 'clinic.example', TRESOR_WEBAUTHN_ORIGINS: 'http://clinic.example' } }), /https:\/\/ origins/);
    assert.throws(() => loadConfig({ env: { TRESOR_WEBAUTHN_RP_ID: 'https://clinic.example' } }), /config\.identity\.webauthn\.rpId \(from TRESOR_WEBAUTHN_RP_ID\)/);
  });
});
