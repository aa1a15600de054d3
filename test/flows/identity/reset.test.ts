import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { resetRequestLimit } from '../../../src/identity/notifier.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { tresor } from '../../support/cli.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const password = 'seven hungry otters swim the fjord';
const next = 'a lighthouse keeper counts gulls';

for (const engine of engines()) {
  describe(`password reset by email (OWASP ASVS 5 V6.4, V6.3.8, V7.4.3) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-24T08:00:00Z'));
    const post = (path: string, body: unknown, headers: Record<string, string> = {}, tenant = 'clinic') =>
      t.inject({ method: 'POST', url: `/tenants/${tenant}/auth/${path}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = (email: string, pw: string) => post('login', { email, password: pw });
    const cookieOf = (response: Awaited<ReturnType<typeof post>>) => String(response.headers['set-cookie']).split(';')[0] as string;
    const sessionsWith = (cookie: string) => t.inject({ method: 'GET', url: '/tenants/clinic/auth/sessions', headers: { cookie } });
    /** Asks for a reset and waits until the work after the answer is done. */
    const askReset = async (email: string, tenant = 'clinic') => {
      const response = await post('password-reset', { email }, {}, tenant);
      await t.app.passwordResets.settled();
      return response;
    };
    /** The reset code of the account's message not read yet (what the person would read in the mail). */
    const read = new Set<string>();
    const mailedToken = async (accountId: string) => {
      const fresh = (await t.app.outbox.list('clinic')).filter((m) => m.accountId === accountId && m.kind === 'password-reset' && !read.has(m.id));
      assert.equal(fresh.length, 1, 'one new message');
      read.add(fresh[0]?.id as string);
      return /^([A-Za-z0-9_-]{43})$/m.exec(fresh[0]?.text ?? '')?.[1] as string;
    };
    const person = async (email: string, role: 'clinician' | 'front-desk' = 'clinician') => {
      const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role, email, by: operator });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
      return account.id;
    };
    /** A hundred consecutive failures, as the throttle would have counted them (one real failure finds the row). */
    const lockOut = async (email: string) => {
      const db = t.app.storage.platform;
      const table = db.table('login_throttle');
      const before = new Set((await db.query<{ subject: string }>(`SELECT subject FROM ${table}`)).map((r) => r.subject));
      assert.equal((await login(email, 'not the password of this person')).statusCode, 401);
      const subject = (await db.query<{ subject: string }>(`SELECT subject FROM ${table}`)).map((r) => r.subject).find((s) => !before.has(s)) as string;
      await db.execute(`UPDATE ${table} SET failures = 100, locked = 1 WHERE subject = ?`, [subject]);
    };
    // Each test starts with a fresh per-address window for reset requests.
    const freshWindow = () => clock.advance(resetRequestLimit.windowMs);

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      await t.tenant('closed-clinic');
      await t.app.tenants.disable('closed-clinic');
    });
    after(() => t.close());

    it('V6.4.1: the reset code reaches the person through the notifier, works once, and not after 30 minutes', async () => {
      freshWindow();
      const id = await person('dr.berg@clinic.example');
      const asked = await askReset('Dr.Berg@clinic.example');
      assert.deepEqual([asked.statusCode, json(asked)], [202, { status: 'sent-if-known' }]);
      const token = await mailedToken(id);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/, '256 bits');
      const message = (await t.app.outbox.list('clinic')).find((m) => m.accountId === id);
      assert.deepEqual([message?.kind, message?.to, message?.subject], ['password-reset', 'dr.berg@clinic.example', 'Tresor-Passwort zurücksetzen / Reset your Tresor password']);

      // The policy applies, and a refused password leaves the code usable.
      const weak = await post('password-reset/confirm', { token, password: 'too short' });
      assert.deepEqual([weak.statusCode, json(weak)['code']], [422, 'password-too-short']);
      const context = await post('password-reset/confirm', { token, password: 'dr.berg@clinic.example' });
      assert.deepEqual([context.statusCode, json(context)['code']], [422, 'password-context']);
      const done = await post('password-reset/confirm', { token, password: next });
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual(json(done)['account'], { id, role: 'clinician', status: 'active' });
      const again = await post('password-reset/confirm', { token, password: next });
      assert.deepEqual([again.statusCode, json(again)['code']], [400, 'token-invalid'], 'the code works once');
      assert.equal((await login('dr.berg@clinic.example', password)).statusCode, 401, 'the old password is gone');
      assert.equal((await login('dr.berg@clinic.example', next)).statusCode, 200);

      await askReset('dr.berg@clinic.example');
      const late = await mailedToken(id);
      clock.advance(30 * 60_000 + 1);
      const expired = await post('password-reset/confirm', { token: late, password });
      assert.deepEqual([expired.statusCode, json(expired)['code']], [400, 'token-invalid'], 'expired after 30 minutes');

      const unknown = await post('password-reset/confirm', { token: 'x'.repeat(43), password });
      const elsewhere = await post('password-reset/confirm', { token: late, password }, {}, 'no-such-clinic');
      assert.deepEqual([unknown, elsewhere].map((r) => [r.statusCode, json(r)['code']]), [[400, 'token-invalid'], [400, 'token-invalid']]);
      const trail = await t.app.audit.query('clinic', { count: 20, actions: ['auth.password_reset_requested', 'auth.password_reset'], actor: `account:${id}` });
      assert.deepEqual(trail.map((e) => e.action), ['auth.password_reset'], 'the reset itself, by the account');
    });

    it('V6.4.1: using one reset code ends the account’s other codes, and at most three are issued an hour', async () => {
      freshWindow();
      const id = await person('front.desk@clinic.example', 'front-desk');
      await askReset('front.desk@clinic.example');
      const first = await mailedToken(id);
      await askReset('front.desk@clinic.example');
      const second = await mailedToken(id);
      assert.notEqual(first, second);
      assert.equal((await post('password-reset/confirm', { token: second, password: next })).statusCode, 200);
      assert.equal((await post('password-reset/confirm', { token: first, password: 'yet another long passphrase here' })).statusCode, 400, 'the earlier code stopped working');

      await askReset('front.desk@clinic.example');
      const count = async () => (await t.app.outbox.list('clinic')).filter((m) => m.accountId === id).length;
      assert.equal(await count(), 3, 'three this hour');
      const flood = await askReset('front.desk@clinic.example');
      assert.deepEqual([flood.statusCode, json(flood)], [202, { status: 'sent-if-known' }], 'the same answer');
      assert.equal(await count(), 3, 'no fourth message');
      const refused = await t.app.audit.query('clinic', { count: 10, actions: ['auth.password_reset_requested'], outcome: 'failure' });
      assert.deepEqual(
        refused.map((e) => [e.resources, e.detail]),
        [[[`Account/${id}`], 'too-many-requests']],
      );
      clock.advance(60 * 60_000);
      await askReset('front.desk@clinic.example');
      assert.equal(await count(), 4, 'an hour later, one more');
    });

    it('V6.3.8: no enumeration — a known account, an unknown email, an invited or disabled account, a malformed email and an unknown or disabled tenant get the same answer after the same work', async () => {
      freshWindow();
      const known = await person('known.person@clinic.example');
      await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'only.invited@clinic.example', by: operator });
      const gone = await person('gone.person@clinic.example');
      await t.app.accounts.setDisabled({ tenantId: 'clinic', accountId: gone, disabled: true, context: { by: operator } });
      const outboxBefore = new Set((await t.app.outbox.list('clinic')).map((m) => m.id));
      const answers = [];
      for (const [email, tenant] of [
        ['known.person@clinic.example', 'clinic'],
        ['nobody@clinic.example', 'clinic'],
        ['only.invited@clinic.example', 'clinic'],
        ['gone.person@clinic.example', 'clinic'],
        ['not an email', 'clinic'],
        ['known.person@clinic.example', 'no-such-clinic'],
        ['known.person@clinic.example', 'closed-clinic'],
      ] as const) {
        const work = t.app.passwords.work();
        const taken = t.app.passwordResets.taken();
        const response = await post('password-reset', { email }, {}, tenant);
        // The work before the answer: no password hashing, one request taken for later.
        answers.push([response.statusCode, response.headers['content-type'], response.body, t.app.passwords.work() - work, t.app.passwordResets.taken() - taken]);
      }
      for (const answer of answers) assert.deepEqual(answer, [202, 'application/json; charset=utf-8', '{"status":"sent-if-known"}', 0, 1]);
      await t.app.passwordResets.settled();
      const sent = (await t.app.outbox.list('clinic')).filter((m) => !outboxBefore.has(m.id));
      assert.deepEqual(sent.map((m) => m.accountId), [known], 'only the known, active account got a message');
      const requested = await t.app.audit.query('clinic', { count: 50, actions: ['auth.password_reset_requested'], outcome: 'success' });
      assert.ok(requested.some((e) => e.resources.includes(`Account/${known}`)));
      assert.ok(!requested.some((e) => e.resources.includes(`Account/${gone}`)));
      assert.ok(!JSON.stringify(await t.app.audit.query('clinic', { count: 1000 })).includes('known.person'), 'no email in the trail');
    });

    it('V6.3.1: reset requests are limited per source address, whatever they ask for', async () => {
      freshWindow();
      for (let i = 0; i < resetRequestLimit.max; i += 1) assert.equal((await post('password-reset', { email: `someone${i}@clinic.example` })).statusCode, 202);
      const refused = await post('password-reset', { email: 'someone.else@clinic.example' });
      assert.deepEqual([refused.statusCode, json(refused)['code'], refused.headers['retry-after']], [429, 'reset-throttled', String(resetRequestLimit.windowMs / 1000)]);
      assert.equal((await post('password-reset', { email: 'x@y.example' }, {}, 'no-such-clinic')).statusCode, 429, 'the same for any tenant');
      await t.app.passwordResets.settled();
      clock.advance(resetRequestLimit.windowMs);
      assert.equal((await post('password-reset', { email: 'someone.else@clinic.example' })).statusCode, 202);
      assert.equal(json(await post('password-reset', { mail: 'typo' }))['code'], 'body-invalid');
    });

    it('V6.3.1 / V7.4.3: a reset unlocks a locked sign-in and ends every session of the account', async () => {
      freshWindow();
      const email = 'locked.out@clinic.example';
      const id = await person(email);
      const a = cookieOf(await login(email, password));
      const b = cookieOf(await login(email, password));
      await lockOut(email);
      const locked = await login(email, password);
      assert.deepEqual([locked.statusCode, json(locked)['code']], [403, 'account-locked']);
      await askReset(email);
      const done = await post('password-reset/confirm', { token: await mailedToken(id), password: next });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(json(done)['sessionsEnded'], 2);
      assert.equal((await sessionsWith(a)).statusCode, 401);
      assert.equal((await sessionsWith(b)).statusCode, 401);
      assert.equal((await login(email, next)).statusCode, 200, 'unlocked, with the new password');
    });

    it('V6.4.3: a reset does not bypass the second factor: login still asks for it, and 8 characters suffice', async () => {
      freshWindow();
      const email = 'two.factors@clinic.example';
      const id = await person(email);
      const session = await login(email, password);
      const headers = { cookie: cookieOf(session), 'x-csrf-token': json(session)['csrfToken'] as string };
      const secret = json(await post('totp', { password }, headers))['secret'] as string;
      const confirmed = await post('totp/confirm', { code: await generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) }) }, headers);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      await askReset(email);
      const done = await post('password-reset/confirm', { token: await mailedToken(id), password: 'otter 42' });
      assert.equal(done.statusCode, 200, done.body);
      const after = await login(email, 'otter 42');
      assert.equal(after.statusCode, 200);
      assert.equal(json(after)['secondFactorRequired'], true, 'a ticket for the second factor, no session');
      assert.equal(after.headers['set-cookie'], undefined);
    });

    it('V6.4.1 / V16.2.5: the outbox keeps recipient and code sealed at rest; neither is in the logs or the audit trail', async () => {
      freshWindow();
      const email = 'sealed.mail@clinic.example';
      const id = await person(email);
      await askReset(email);
      const token = await mailedToken(id);
      const db = await t.app.storage.tenant('clinic');
      const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('outbox')}`);
      assert.ok(rows.length > 0);
      const dump = rows.map((r) => Object.values(r).map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v))).join('|')).join('\n');
      for (const secret of [token, 'sealed.mail', 'clinic.example', 'one-time code']) assert.ok(!dump.includes(secret), `the outbox table holds ${secret} in clear`);
      const tokens = JSON.stringify(await db.query(`SELECT * FROM ${db.table('account_tokens')}`));
      assert.ok(!tokens.includes(token), 'the token table holds its hash only');
      const everything = `${t.logs.join('\n')}\n${JSON.stringify(await t.app.audit.query('clinic', { count: 1000 }))}`;
      for (const secret of [token, 'sealed.mail', next]) assert.ok(!everything.includes(secret), `logs or audit hold ${secret}`);
    });
  });
}

describe('tresor outbox list | clear', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite');
    await t.tenant('clinic');
  });
  after(() => t.close());

  it('V6.4.1: lists the undelivered messages with their codes for development, and clears them', async () => {
    const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'dev.mail@clinic.example', by: operator });
    await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password, sourceIp: '127.0.0.1' });
    await t.inject({ method: 'POST', url: '/tenants/clinic/auth/password-reset', body: JSON.stringify({ email: 'dev.mail@clinic.example' }), headers: { 'content-type': 'application/json' } });
    await t.app.passwordResets.settled();
    const listed = tresor(['outbox', 'list', '--tenant', 'clinic', '--json', '--data-dir', t.dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const messages = JSON.parse(listed.stdout) as Array<{ accountId: string; to: string; kind: string; text: string }>;
    assert.deepEqual(messages.map((m) => [m.accountId, m.to, m.kind]), [[account.id, 'dev.mail@clinic.example', 'password-reset']]);
    assert.match(listed.stderr, /live tokens/);
    const text = tresor(['outbox', 'list', '--tenant', 'clinic', '--data-dir', t.dataDir]);
    assert.match(text.stdout, /password-reset\tAccount\/usr_[0-9a-f]{16}\tto dev\.mail@clinic\.example\tTresor-Passwort zurücksetzen \/ Reset your Tresor password/);
    const cleared = tresor(['outbox', 'clear', '--tenant', 'clinic', '--data-dir', t.dataDir]);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.match(cleared.stdout, /deleted 1 message/);
    assert.deepEqual(await t.app.outbox.list('clinic'), []);
    assert.equal(tresor(['outbox', 'list', '--tenant', 'nowhere', '--data-dir', t.dataDir]).code, 2);
  });
});
