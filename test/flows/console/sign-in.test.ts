import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { patient } from '../../support/harness.js';
import { person, personWithTotp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';


describe('landing and sign-in pages', () => {
  let t: OAuthTestApp;

  before(async () => {
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    await person(t, 'clinic', 'patient', 'pat@example.org', { patient: `Patient/${(JSON.parse(created.body) as { id: string }).id}` });
    await person(t, 'clinic', 'clinician', 'nofactor@example.org');
  });
  after(async () => t.close());

  const form = (url: string, fields: Record<string, string>, cookie = '') =>
    t.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === '' ? {} : { cookie }) }, body: new URLSearchParams(fields).toString() });

  /** The sign-in form's CSRF pair: its cookie and its hidden field. */
  async function signInForm(path: string) {
    const page = await t.inject({ method: 'GET', url: path });
    assert.equal(page.statusCode, 200, `${path}: the sign-in form`);
    const cookie = String(page.headers['set-cookie']).split(';')[0] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    return { cookie, csrf, page };
  }

  it('the landing page names no tenant and sends an organisation id to its sign-in page', async () => {
    const landing = await t.inject({ method: 'GET', url: '/' });
    assert.equal(landing.statusCode, 200);
    assert.match(String(landing.headers['content-security-policy']), /default-src 'none'/);
    assert.doesNotMatch(landing.body, /clinic(?!-berlin)/, 'no tenant id on the public page');
    const go = await t.inject({ method: 'GET', url: '/?organisation=clinic' });
    assert.equal(go.statusCode, 303);
    assert.equal(go.headers.location, '/tenants/clinic/account/sign-in');
    const bad = await t.inject({ method: 'GET', url: '/?organisation=..%2Fplatform' });
    assert.equal(bad.statusCode, 400, 'a malformed id is refused on the page, never put into a path');
  });

  it('keeps `next` only when it is a page of the same realm', async () => {
    for (const [next, expected] of [
      ['/tenants/clinic/account/apps', '/tenants/clinic/account/apps'],
      ['https://evil.example/', '/tenants/clinic/me/'],
      ['//evil.example/tenants/clinic/', '/tenants/clinic/me/'],
      ['/tenants/other/console/', '/tenants/clinic/me/'],
      ['/tenants/clinic/..\\evil', '/tenants/clinic/me/'],
    ] as const) {
      const { cookie, csrf } = await signInForm('/tenants/clinic/account/sign-in');
      const signedIn = await form('/tenants/clinic/account/sign-in', { csrf, email: 'pat@example.org', password: testPassword, next }, cookie);
      assert.equal(signedIn.statusCode, 303, `sign-in with next=${next}`);
      assert.equal(signedIn.headers.location, expected, `next=${next} leads to ${expected}`);
    }
  });

  it('refuses a form without its CSRF pair, and a wrong password stays on the form with the error tied to the fields', async () => {
    const { cookie, csrf } = await signInForm('/tenants/clinic/account/sign-in');
    const forged = await form('/tenants/clinic/account/sign-in', { csrf: 'x', email: 'pat@example.org', password: testPassword }, cookie);
    assert.equal(forged.statusCode, 403);
    assert.match(forged.body, /expired/);
    assert.equal(forged.headers['set-cookie'], undefined, 'no session for a forged form');
    const wrong = await form('/tenants/clinic/account/sign-in', { csrf, email: 'pat@example.org', password: 'not the password at all' }, cookie);
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /role="alert"/);
    assert.match(wrong.body, /id="password"[^>]*aria-describedby="page-error"/);
    assert.ok(!t.logs.some((line) => line.includes('not the password at all')), 'the typed password is never logged');
  });

  it('sends a staff member without a required second factor to set one up, with a session nothing else accepts', async () => {
    const { cookie, csrf } = await signInForm('/tenants/clinic/account/sign-in');
    const signedIn = await form('/tenants/clinic/account/sign-in', { csrf, email: 'nofactor@example.org', password: testPassword }, cookie);
    assert.equal(signedIn.statusCode, 303);
    assert.equal(signedIn.headers.location, '/tenants/clinic/account/security?enrol=1');
    const session = String(signedIn.headers['set-cookie']).split(';')[0] as string;
    const fhir = await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Patient', headers: { cookie: session } });
    assert.equal(fhir.statusCode, 403, 'the API refuses the session until a factor is set up');
    const home = await t.inject({ method: 'GET', url: '/tenants/clinic/account/', headers: { cookie: session } });
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /requires a second factor/);
  });

  it('signs out only with the session’s CSRF token, and records the sign-out as the API’s logout does', async () => {
    const { cookie, csrf } = await signInForm('/tenants/clinic/account/sign-in');
    const signedIn = await form('/tenants/clinic/account/sign-in', { csrf, email: 'pat@example.org', password: testPassword }, cookie);
    const session = String(signedIn.headers['set-cookie']).split(';')[0] as string;
    const home = await t.inject({ method: 'GET', url: '/tenants/clinic/account/', headers: { cookie: session } });
    const sessionCsrf = /name="csrf" value="([^"]+)"/.exec(home.body)?.[1] ?? '';
    const forged = await form('/tenants/clinic/account/sign-out', { csrf: 'forged' }, session);
    assert.equal(forged.statusCode, 303);
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/account/', headers: { cookie: session } })).statusCode, 200, 'a forged sign-out ends nothing');
    const before = (await t.app.audit.query('clinic', { count: 50, actions: ['session.revoked'] })).length;
    const out = await form('/tenants/clinic/account/sign-out', { csrf: sessionCsrf }, session);
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, '/tenants/clinic/account/sign-in?signedOut=1');
    assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/account/', headers: { cookie: session } })).statusCode, 303, 'the session ended');
    const revoked = await t.app.audit.query('clinic', { count: 50, actions: ['session.revoked'] });
    assert.equal(revoked.length, before + 1);
    assert.equal(revoked[0]?.detail, 'logout');
  });

  it('answers an unknown tenant and the operators’ sign-in', async () => {
    const unknown = await t.inject({ method: 'GET', url: '/tenants/nobody/account/sign-in' });
    assert.equal(unknown.statusCode, 404);
    assert.match(String(unknown.headers['content-type']), /text\/html/);
    const operators = await t.inject({ method: 'GET', url: '/platform/account/sign-in' });
    assert.equal(operators.statusCode, 200);
    assert.match(operators.body, /Platform/);
  });

  describe('in Chromium, by keyboard, under the CSP', { skip: skipWithoutChromium }, () => {
    let browser: Browser;
    let secret: string;
    before(async () => {
      secret = await personWithTotp(t, 'clinic', 'clinician', 'doc@example.org');
      browser = await launchChromium();
    });
    after(async () => browser?.close());

    it('landing → sign-in → code → account page, in English and German; no CSP refusal, no serious axe finding', { timeout: 90_000 }, async () => {
      const { page, context, refusals } = await watchedPage(browser);
      await page.goto(`${t.base}/`);
      await assertStyled(page, 'landing page');
      await assertAccessible(page, 'landing page');
      await screenshotForDocs(page, 'landing');
      await tabTo(page, page.getByLabel('Your organisation’s Tresor id'), 'the organisation field');
      await page.keyboard.type('clinic');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/tenants\/clinic\/account\/sign-in$/);

      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Sign in');
      await assertAccessible(page, 'sign-in page');
      await screenshotForDocs(page, 'sign-in');
      await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
      await page.keyboard.type('doc@example.org');
      await page.keyboard.press('Tab');
      await page.keyboard.type(testPassword);
      await page.keyboard.press('Enter');

      await page.getByRole('heading', { level: 1, name: 'Confirm it is you' }).waitFor();
      await assertAccessible(page, 'second-factor page');
      await tabTo(page, page.getByLabel('Code', { exact: true }), 'the code field');
      // The next period's code (±1 period is accepted): the current one was spent confirming the enrolment.
      await page.keyboard.type(await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }));
      await page.keyboard.press('Enter');
      // A staff member lands on the clinic console, which shows the sections of their role.
      await page.waitForURL(/\/tenants\/clinic\/console\/$/);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Clinic console');
      assert.ok(await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).isVisible(), 'a clinician is offered the patients');
      assert.equal(await page.getByRole('link', { name: 'Staff' }).count(), 0, 'and not the staff pages, which the role cannot use');
      await assertAccessible(page, 'clinic console home');

      await page.goto(`${t.base}/tenants/clinic/account/`);
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Your account');
      assert.ok(await page.getByText('doc@example.org').isVisible(), 'the layout names who is signed in');
      await assertAccessible(page, 'account page');

      await tabTo(page, page.getByRole('link', { name: 'Deutsch' }), 'the language switch', 30);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Ihr Konto' }).waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'de');
      await page.reload();
      assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Ihr Konto', 'the choice is kept (cookie)');
      await assertAccessible(page, 'account page (German)');

      await tabTo(page, page.getByRole('button', { name: 'Abmelden' }), 'the sign-out button', 30);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/account\/sign-in\?signedOut=1$/);
      assert.ok(await page.getByText('Sie sind abgemeldet.').isVisible());
      assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
      await context.close();
    });
  });
});
