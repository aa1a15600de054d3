import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { Browser, isPage, type Page } from '../../support/browser.js';
import { discover, engines, person, redirectUri, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { SoftAuthenticator } from '../../support/webauthn.js';

/**
 * The app sign-in page with a second factor (OWASP ASVS 5 V6.3.3: the factors a person has are
 * asked for wherever they sign in): a TOTP code, or a passkey through the page's one
 * same-origin script; the password alone never gets past the second step.
 */
for (const engine of engines()) {
  describe(`OAuth sign-in with a second factor (${engine})`, () => {
    let t: OAuthTestApp;
    let config: oidc.Configuration;
    const laptop = new SoftAuthenticator();
    let totpSecret = '';

    /** The person's own first-party session (JSON API), to enrol factors. */
    async function session(email: string) {
      const login = await t.app.http.inject({ method: 'POST', url: '/tenants/clinic/auth/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: testPassword }) });
      assert.equal(login.statusCode, 200, login.body);
      return { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': JSON.parse(login.body).csrfToken as string };
    }
    const post = (url: string, headers: Record<string, string>, body: unknown) => t.app.http.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

    before(async () => {
      t = await startOAuthApp(engine);
      await t.tenant('clinic');
      await person(t, 'clinic', 'front-desk', 'otp@example.org');
      await person(t, 'clinic', 'front-desk', 'key@example.org');
      // TOTP for one (the default policy asks staff for a second factor).
      let headers = await session('otp@example.org');
      totpSecret = JSON.parse((await post('/tenants/clinic/auth/totp', headers, { password: testPassword })).body).secret as string;
      assert.equal((await post('/tenants/clinic/auth/totp/confirm', headers, { code: await generate({ secret: totpSecret }) })).statusCode, 200);
      // A passkey for the other (an account whose only factor is a passkey).
      headers = await session('key@example.org');
      const options = JSON.parse((await post('/tenants/clinic/auth/passkeys/options', headers, { password: testPassword })).body) as never;
      const registered = await post('/tenants/clinic/auth/passkeys', headers, { name: 'Laptop', response: laptop.register(options, { origin: t.base }) });
      assert.equal(registered.statusCode, 201, registered.body);
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: 'openid user/Patient.rs' });
      config = await discover(t, 'clinic', client.clientId, clientSecret);
    });
    after(async () => t.close());

    async function toSecondStep(email: string): Promise<{ browser: Browser; page: Page; verifier: string }> {
      const browser = new Browser();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid user/Patient.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st' });
      const login = await browser.follow(url.href, redirectUri);
      assert.ok(isPage(login));
      const second = await browser.submit(login, '/login', { email, password: testPassword }, redirectUri);
      assert.ok(isPage(second), 'the password alone leads to the second step, not to the app');
      assert.match(second.html, /Confirm it is you/);
      return { browser, page: second, verifier };
    }

    async function finish(browser: Browser, consent: Page | { redirectedTo: string }, verifier: string) {
      assert.ok(isPage(consent), 'the consent page follows the second factor');
      const done = await browser.submit(consent, '/consent', { decision: 'allow' }, redirectUri);
      assert.ok(!isPage(done));
      return oidc.authorizationCodeGrant(config, new URL(done.redirectedTo), { pkceCodeVerifier: verifier, expectedState: 'st' });
    }

    it('V6.3.3: a TOTP code completes the app sign-in; a wrong one keeps the person on the page', async () => {
      const { browser, page, verifier } = await toSecondStep('otp@example.org');
      assert.doesNotMatch(page.html, /<script/, 'no script without a passkey');
      const wrong = await browser.submit(page, '/second-factor', { code: '000000' }, redirectUri);
      assert.ok(isPage(wrong));
      assert.equal(wrong.status, 401);
      assert.match(wrong.html, /role="alert"/);
      const tokens = await finish(browser, await browser.submit(wrong, '/second-factor', { code: await generate({ secret: totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 }) }, redirectUri), verifier);
      assert.ok(tokens.access_token.length > 20);
      assert.ok((await t.app.audit.query('clinic', { count: 20, actions: ['auth.mfa_failed'] })).length > 0);
    });

    it('V6.5: a passkey completes the app sign-in, through the page’s same-origin script under a CSP that allows nothing else', async () => {
      const { browser, page, verifier } = await toSecondStep('key@example.org');
      assert.match(page.html, /<script src="\/assets\/passkey-sign-in.js" defer><\/script>/);
      const csp = page.headers.get('content-security-policy') ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal((await browser.request(`${t.base}/assets/passkey-sign-in.js`)).status, 200);
      // What the script does: the challenge for this sign-in, then the signed assertion with the form.
      const hidden = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.html)?.[1] as string;
      const optionsUrl = `${t.base}${/data-options="([^"]*)"/.exec(page.html)?.[1] as string}`;
      const offered = await browser.request(optionsUrl, { form: { csrf: hidden('csrf'), ticket: hidden('ticket') } });
      assert.equal(offered.status, 200, offered.html);
      const forged = await browser.request(optionsUrl, { form: { csrf: 'forged', ticket: hidden('ticket') } });
      assert.equal(forged.status, 403, 'the options need the form’s CSRF token');
      const assertion = laptop.assert(JSON.parse(offered.html) as never, { origin: t.base });
      const tokens = await finish(browser, await browser.submit(page, '/second-factor', { passkey: JSON.stringify(assertion) }, redirectUri), verifier);
      assert.ok(tokens.access_token.length > 20);
    });
  });
}
