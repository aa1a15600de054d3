import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { patient } from '../../support/harness.js';
import { person, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const newPassword = 'eleven quiet herons fish at dawn';

describe('account pages (inject)', () => {
  let t: OAuthTestApp;
  const secrets: string[] = [];

  let key: string;
  before(async () => {
    t = await startOAuthApp('sqlite');
    key = await t.tenant('clinic');
  });

  /** A patient account, linked to a new Patient record. */
  async function patientPerson(email: string) {
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    return person(t, 'clinic', 'patient', email, { patient: `Patient/${(JSON.parse(created.body) as { id: string }).id}` });
  }
  after(async () => t.close());

  const cookieOf = (response: { headers: Record<string, unknown> }, name = '__Host-tresor_session') => {
    const all = ([] as string[]).concat((response.headers['set-cookie'] as string | string[] | undefined) ?? []);
    return all.map((c) => c.split(';')[0] as string).find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);
  };
  const csrfIn = (body: string) => /name="csrf" value="([^"]+)"/.exec(body)?.[1] ?? '';
  const get = (url: string, cookie = '') => t.inject({ method: 'GET', url, headers: cookie === '' ? {} : { cookie } });
  const post = (url: string, fields: Record<string, string>, cookie = '') =>
    t.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === '' ? {} : { cookie }) }, body: new URLSearchParams(fields).toString() });

  /** Signs in through the pages; the session cookie (and the second-factor page when there is one). */
  async function signIn(base: string, email: string, password = testPassword) {
    const form = await get(`${base}/account/sign-in`);
    const formCookie = cookieOf(form, '__Host-tresor_form') as string;
    const done = await post(`${base}/account/sign-in`, { csrf: csrfIn(form.body), email, password }, formCookie);
    return { response: done, cookie: cookieOf(done), formCookie };
  }

  /** A pre-session form: its CSRF cookie and token. */
  async function preForm(url: string) {
    const page = await get(url);
    return { page, cookie: cookieOf(page, '__Host-tresor_form') as string, csrf: csrfIn(page.body) };
  }

  it('an invitation link shows the password form with its rules, refuses a forged or weak try, sets the password once, then leads to sign-in', async () => {
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'new@example.org', by: operator });
    secrets.push(setupToken);
    const url = `/tenants/clinic/account/setup?token=${setupToken}`;
    const { page, cookie, csrf } = await preForm(url);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<meta name="referrer" content="no-referrer">/);
    assert.match(page.body, new RegExp(`name="token" value="${setupToken}"`));
    assert.match(page.body, /id="password"[^>]*aria-describedby="password-rules"/, 'the rules are tied to the field');
    assert.match(page.body, /at least 15 characters/);
    assert.match(page.body, /src="\/assets\/password-rules.js"/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const script = await get('/assets/password-rules.js');
    assert.equal(script.statusCode, 200);
    assert.match(String(script.headers['content-type']), /javascript/);

    const german = await get(`${url}&lang=de`);
    assert.match(german.body, /<h1>Wählen Sie Ihr Passwort<\/h1>/);
    assert.match(german.body, /mindestens 15 Zeichen/);
    assert.match(german.body, new RegExp(`href="/tenants/clinic/account/setup\\?token=${setupToken}&#38;lang=en"`), 'switching the language keeps the link working');
    const forged = await post('/tenants/clinic/account/setup', { csrf: 'forged', token: setupToken, password: newPassword }, cookie);
    assert.equal(forged.statusCode, 403, 'a form without its CSRF pair is refused');
    const weak = await post('/tenants/clinic/account/setup', { csrf, token: setupToken, password: 'short one' }, cookie);
    assert.equal(weak.statusCode, 422);
    assert.match(weak.body, /role="alert" id="page-error">A password needs at least 15 characters/);
    assert.match(weak.body, /aria-describedby="password-rules page-error" aria-invalid="true"/);
    const common = await post('/tenants/clinic/account/setup', { csrf: csrfIn(weak.body), token: setupToken, password: 'passwordpassword' }, cookieOf(weak, '__Host-tresor_form'));
    assert.equal(common.statusCode, 422, 'the server decides what the script cannot know');
    assert.match(common.body, /too common/);
    const again = await preForm(url);
    const ok = await post('/tenants/clinic/account/setup', { csrf: again.csrf, token: setupToken, password: newPassword }, again.cookie);
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/tenants/clinic/account/setup?done=1');
    const done = await get(ok.headers.location as string);
    assert.match(done.body, /Your password is set/);
    assert.match(done.body, /href="\/tenants\/clinic\/account\/sign-in"/);

    const spent = await post('/tenants/clinic/account/setup', { csrf: again.csrf, token: setupToken, password: newPassword }, again.cookie);
    assert.equal(spent.statusCode, 400, 'a spent token is refused');
    assert.match(spent.body, /<h1>This link does not work<\/h1>/);
    const wrong = await get('/tenants/clinic/account/setup?token=nonsense!');
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /This link does not work/);
    const signedIn = await signIn('/tenants/clinic', 'new@example.org', newPassword);
    assert.equal(signedIn.response.statusCode, 303, 'the new password signs in');
  });

  it('operators finish their invitation under /platform; they are not offered a reset by email', async () => {
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email: 'op@example.org', by: operator });
    secrets.push(setupToken);
    const { page, cookie, csrf } = await preForm(`/platform/account/setup?token=${setupToken}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Platform/);
    const ok = await post('/platform/account/setup', { csrf, token: setupToken, password: newPassword }, cookie);
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/platform/account/setup?done=1');
    const forgot = await get('/platform/account/forgot');
    assert.equal(forgot.statusCode, 200);
    assert.match(forgot.body, /tresor operator create/);
    assert.doesNotMatch(forgot.body, /<form method="post" action="\/platform\/account\/forgot"/);
    assert.equal((await post('/platform/account/forgot', { email: 'op@example.org' })).statusCode, 404);
    assert.equal((await get('/platform/account/reset?token=abcdefghijklmnopqrstuvwxyz')).statusCode, 404);
  });

  it('forgot password answers the same for any email; the mailed link resets the password once and ends every session', async () => {
    const account = await patientPerson('forgets@example.org');
    const { cookie: session } = await signIn('/tenants/clinic', 'forgets@example.org');
    assert.ok(session);
    const answers: string[] = [];
    for (const email of ['forgets@example.org', 'nobody@example.org']) {
      const { cookie, csrf } = await preForm('/tenants/clinic/account/forgot');
      assert.equal((await post('/tenants/clinic/account/forgot', { csrf: 'forged', email }, cookie)).statusCode, 403);
      const sent = await post('/tenants/clinic/account/forgot', { csrf, email }, cookie);
      assert.equal(sent.statusCode, 303);
      answers.push(String(sent.headers.location));
    }
    assert.deepEqual(answers, ['/tenants/clinic/account/forgot?sent=1', '/tenants/clinic/account/forgot?sent=1'], 'one answer, known or not');
    assert.match((await get(answers[0] as string)).body, /If this email address belongs to an account here/);
    await t.app.passwordResets.settled();
    const mail = (await t.app.outbox.list('clinic')).find((m) => m.accountId === account.id && m.kind === 'password-reset');
    const token = /reset\?token=([A-Za-z0-9_-]+)/.exec(mail?.text ?? '')?.[1] as string;
    assert.ok(token, 'the message links to the reset page');
    secrets.push(token);

    const { page, cookie, csrf } = await preForm(`/tenants/clinic/account/reset?token=${token}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Choose a new password/);
    assert.equal((await post('/tenants/clinic/account/reset', { csrf: 'x', token, password: newPassword }, cookie)).statusCode, 403);
    const ok = await post('/tenants/clinic/account/reset', { csrf, token, password: newPassword }, cookie);
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/tenants/clinic/account/reset?done=1');
    assert.equal((await get('/tenants/clinic/account/', session)).statusCode, 303, 'the session from before the reset has ended');
    const spent = await post('/tenants/clinic/account/reset', { csrf, token, password: newPassword }, cookie);
    assert.equal(spent.statusCode, 400);
    assert.match(spent.body, /This link does not work/);
    assert.match(spent.body, /href="\/tenants\/clinic\/account\/forgot"/, 'and says what to do instead');
  });

  it('enrolment by ?enrol=1: the QR code as SVG without style, the code, the recovery codes once, a rotated two-factor session', async () => {
    await person(t, 'clinic', 'clinician', 'enrol@example.org');
    const { response, cookie } = await signIn('/tenants/clinic', 'enrol@example.org');
    assert.equal(response.headers.location, '/tenants/clinic/account/security?enrol=1');
    const session = cookie as string;
    assert.equal((await get('/tenants/clinic/console/', session)).headers.location, '/tenants/clinic/account/security?enrol=1', 'nothing else until a factor is set up');
    const page = await get('/tenants/clinic/account/security?enrol=1', session);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /requires a second factor/);
    const csrf = csrfIn(page.body);

    assert.equal((await post('/tenants/clinic/account/security/totp', { csrf: 'forged', password: testPassword, enrol: '1' }, session)).statusCode, 403);
    const wrong = await post('/tenants/clinic/account/security/totp', { csrf, password: 'not my password at all', enrol: '1' }, session);
    assert.ok([401, 403].includes(wrong.statusCode), `a wrong password is refused (${wrong.statusCode})`);
    assert.match(wrong.body, /id="totp-password"[^>]*aria-describedby="page-error"/);
    const qr = await post('/tenants/clinic/account/security/totp', { csrf, password: testPassword, enrol: '1' }, session);
    assert.equal(qr.statusCode, 200);
    assert.match(qr.body, /<svg class="qr"[^>]*role="img" aria-label="QR code for your authenticator app"/);
    assert.match(qr.body, /<path fill="#000000" d="M\d+ \d+h1v1h-1z/);
    assert.doesNotMatch(qr.body, /style=/, 'presentation attributes only (CSP)');
    const secret = /name="secret" value="([A-Z2-7]+)"/.exec(qr.body)?.[1] as string;
    secrets.push(secret);
    assert.ok(secret);

    const bad = await post('/tenants/clinic/account/security/totp/confirm', { csrf, code: '000000', secret, uri: /name="uri" value="([^"]+)"/.exec(qr.body)?.[1]?.replace(/&amp;/g, '&') as string, enrol: '1' }, session);
    assert.equal(bad.statusCode, 401);
    assert.match(bad.body, /<svg class="qr"/, 'a wrong code shows the same QR code again');
    const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) });
    secrets.push(code);
    const confirmed = await post('/tenants/clinic/account/security/totp/confirm', { csrf, code, secret, uri: '', enrol: '1' }, session);
    assert.equal(confirmed.statusCode, 200);
    assert.match(confirmed.body, /<h1>Your recovery codes<\/h1>/);
    const codes = [...confirmed.body.matchAll(/<li>([a-z0-9-]{8,})<\/li>/g)].map((m) => m[1] as string);
    assert.equal(codes.length, 10);
    secrets.push(...codes);
    assert.match(confirmed.body, /<button type="button" class="print-codes">Print the codes<\/button>/);
    assert.match(confirmed.body, /href="\/tenants\/clinic\/console\/">Continue</, 'then on to the console');
    const fresh = cookieOf(confirmed) as string;
    assert.ok(fresh && fresh !== session, 'a new session token');
    assert.equal((await get('/tenants/clinic/account/security', session)).statusCode, 303, 'the old token no longer works');
    assert.equal((await get('/tenants/clinic/console/', fresh)).statusCode, 200, 'the session now counts as two-factor');
  });

  it('changes the password (ending other sessions, rotating this one), renews recovery codes; CSRF is checked on every form', async () => {
    await patientPerson('changer@example.org');
    const first = (await signIn('/tenants/clinic', 'changer@example.org')).cookie as string;
    const other = (await signIn('/tenants/clinic', 'changer@example.org')).cookie as string;
    const page = await get('/tenants/clinic/account/security', first);
    assert.equal(page.statusCode, 200);
    const csrf = csrfIn(page.body);
    for (const path of ['security/password', 'security/totp', 'security/totp/confirm', 'security/totp/remove', 'security/recovery-codes', 'security/passkeys/remove', 'sessions/end', 'sessions/end-others']) {
      const forged = await post(`/tenants/clinic/account/${path}`, { csrf: 'forged', password: testPassword, current: testPassword, next: newPassword, code: '123456', session: 'x', id: 'x' }, first);
      assert.equal(forged.statusCode, 403, `${path} refuses a forged form`);
      const none = await post(`/tenants/clinic/account/${path}`, { password: testPassword }, first);
      assert.equal(none.statusCode, 403, `${path} refuses a form without a token`);
    }
    const short = await post('/tenants/clinic/account/security/password', { csrf, current: testPassword, next: 'too short' }, first);
    assert.equal(short.statusCode, 422);
    assert.match(short.body, /id="new-password"[^>]*aria-describedby="new-password-rules page-error"/);
    const changed = await post('/tenants/clinic/account/security/password', { csrf, current: testPassword, next: newPassword }, first);
    assert.equal(changed.statusCode, 303);
    assert.equal(changed.headers.location, '/tenants/clinic/account/security?done=password');
    const rotated = cookieOf(changed) as string;
    assert.ok(rotated && rotated !== first);
    assert.equal((await get('/tenants/clinic/account/', other)).statusCode, 303, 'the other session has ended');
    const after = await get(changed.headers.location as string, rotated);
    assert.match(after.body, /Your password is changed/);
    // A patient without a second factor is not offered recovery codes.
    assert.doesNotMatch(after.body, /Make new recovery codes/);
  });

  it('lists own sessions, ends another one and all others, audited as the API does', async () => {
    await patientPerson('many@example.org');
    const a = (await signIn('/tenants/clinic', 'many@example.org')).cookie as string;
    const b = (await signIn('/tenants/clinic', 'many@example.org')).cookie as string;
    const c = (await signIn('/tenants/clinic', 'many@example.org')).cookie as string;
    const page = await get('/tenants/clinic/account/sessions', a);
    assert.equal(page.statusCode, 200);
    assert.equal([...page.body.matchAll(/name="session" value="/g)].length, 3);
    assert.match(page.body, /\(this session\)/);
    assert.match(page.body, /<th scope="col">Started<\/th>/);
    const csrf = csrfIn(page.body);
    const ids = [...page.body.matchAll(/name="session" value="([^"]+)"/g)].map((m) => m[1] as string);
    const ownId = ids[0] as string;
    const foreign = await post('/tenants/clinic/account/sessions/end', { csrf, session: 'not-a-session' }, a);
    assert.equal(foreign.statusCode, 404);
    const ended = await post('/tenants/clinic/account/sessions/end', { csrf, session: ids[1] as string }, a);
    assert.equal(ended.statusCode, 303);
    assert.equal(ended.headers.location, '/tenants/clinic/account/sessions?ended=1');
    const alive = await Promise.all([b, c].map(async (cookie) => (await get('/tenants/clinic/account/', cookie)).statusCode));
    assert.deepEqual(alive.sort(), [200, 303], 'one of the other two has ended');
    const others = await post('/tenants/clinic/account/sessions/end-others', { csrf }, a);
    assert.equal(others.headers.location, '/tenants/clinic/account/sessions?others=1');
    assert.match((await get(others.headers.location as string, a)).body, /You have no other sessions/);
    const self = await post('/tenants/clinic/account/sessions/end', { csrf, session: ownId }, a);
    assert.equal(self.headers.location, '/tenants/clinic/account/sign-in?signedOut=1', 'ending this session signs out');
    assert.equal((await get('/tenants/clinic/account/', a)).statusCode, 303);
    const revoked = (await t.app.audit.query('clinic', { count: 10, actions: ['session.revoked'] })).map((e) => e.detail);
    assert.ok(revoked.includes('by-owner'), 'ending one session is audited as the API audits it');
    assert.ok(revoked.includes('others-by-owner'), 'so is ending all others');
  });

  it('operators have the same security and sessions pages under /platform', async () => {
    const { cookie } = await signIn('/platform', 'op@example.org', newPassword);
    const session = cookie as string;
    const security = await get('/platform/account/security', session);
    assert.equal(security.statusCode, 200);
    assert.match(security.body, /requires a second factor/, 'operators always need one');
    assert.doesNotMatch(security.body, /account\/apps/, 'no connected apps for operators');
    assert.equal((await get('/platform/account/sessions', session)).statusCode, 200);
    assert.equal((await get('/platform/account/security')).headers.location, '/platform/account/sign-in?next=%2Fplatform%2Faccount%2Fsecurity');
  });

  it('refuses every form before a session without its CSRF pair', async () => {
    const { cookie, csrf } = await preForm('/tenants/clinic/account/forgot');
    for (const path of ['/tenants/clinic/account/setup', '/tenants/clinic/account/reset', '/tenants/clinic/account/forgot', '/tenants/clinic/account/second-factor', '/tenants/clinic/account/second-factor/passkey-options', '/platform/account/setup']) {
      const fields = { token: 'a'.repeat(43), ticket: 'a'.repeat(43), password: newPassword, email: 'x@example.org', code: '123456' };
      assert.equal((await post(path, fields)).statusCode, 403, `${path} without the pair`);
      assert.equal((await post(path, { ...fields, csrf })).statusCode, 403, `${path} without the cookie`);
      assert.equal((await post(path, { ...fields, csrf: 'forged' }, cookie)).statusCode, 403, `${path} with a forged token`);
    }
  });

  it('never logs a password, code or token', () => {
    const logged = t.logs.join('\n');
    for (const secret of [...secrets, testPassword, newPassword, 'not my password at all', 'too short']) assert.ok(!logged.includes(secret), 'a secret in the log');
    assert.ok(logged.includes('/account/setup'), 'the requests were logged (without their query)');
  });
});
