import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { observation, patient } from '../../support/harness.js';
import { discover, person, redirectUri, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The sign-in and consent pages in a real browser: Debian's Chromium, driven by playwright-core.
 * A person signs in and allows an app by keyboard alone, the pages' labels and headings are
 * checked with accessibility-oriented locators, and the browser is watched for anything the
 * Content-Security-Policy refuses. openid-client builds the authorization URL and redeems the
 * code the browser carries to the redirect URI. One engine is enough: the pages are the subject.
 *
 * Without /usr/bin/chromium the test is skipped, unless TRESOR_REQUIRE_CHROMIUM=1 (set by
 * .ci/run, which installs Debian's `chromium`) makes that a failure.
 */
const chromiumPath = '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
const requireChromium = process.env['TRESOR_REQUIRE_CHROMIUM'] === '1';
const skip = haveChromium || requireChromium ? false : `${chromiumPath} is missing (apt-get install chromium); TRESOR_REQUIRE_CHROMIUM=1 makes this a failure`;

/** Playwright's headless mode plus what this machine's closed network needs (no background connections, no QUIC). */
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

const isFocused = async (page: Page, locator: Locator) => (await locator.and(page.locator(':focus')).count()) === 1;

/** Presses Tab until `target` has focus; returns how many presses that took. */
async function tabTo(page: Page, target: Locator, what: string, max = 6): Promise<number> {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    if (await isFocused(page, target)) return presses;
  }
  return assert.fail(`keyboard: ${what} is reached with at most ${max} presses of Tab`);
}

/** The stylesheet applied: `main` is narrowed by tresor.css (max-width 28rem), which an unstyled page never is. */
async function assertStyled(page: Page, which: string): Promise<void> {
  const maxWidth = (await page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth")) as string;
  assert.notEqual(maxWidth, 'none', `${which}: the same-origin stylesheet loaded and applied under the CSP (main has a max-width)`);
}

describe('OAuth sign-in and consent in Chromium, by keyboard, under the CSP (sqlite)', { skip }, () => {
  let t: OAuthTestApp | undefined;
  let browser: Browser | undefined;
  let alice: string;
  let bob: string;
  let config: oidc.Configuration;
  const scope = 'openid fhirUser offline_access launch/patient patient/Observation.rs';

  before(async () => {
    if (!haveChromium) throw new Error(`TRESOR_REQUIRE_CHROMIUM=1 but ${chromiumPath} is missing: install Debian's chromium package`);
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    const app = t;
    const created = async (body: unknown) => JSON.parse((await app.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body })).body).id as string;
    alice = await created(patient());
    bob = await created(patient({ name: [{ family: 'Other', given: ['Bob'] }] }));
    for (const p of [alice, alice, bob]) await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Observation', key, body: observation(p) });
    await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
    const { client, clientSecret } = await registerApp(t, 'clinic', { scope });
    config = await discover(t, 'clinic', client.clientId, clientSecret);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs, timeout: 20_000 });
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('a patient signs in and allows an app by keyboard; the code redeems for a token that reads only her observations; no CSP refusal', { timeout: 60_000 }, async (ctx) => {
    assert.ok(t !== undefined && browser !== undefined, 'setup: the app and Chromium are running');
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const messages: string[] = [];
    page.on('console', (m) => void messages.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => void messages.push(`pageerror: ${e.message}`));
    const refusals = () => messages.filter((m) => /Content Security Policy|Refused to/i.test(m));

    // The redirect URI has no server: take the browser's arrival there instead.
    let arrived: (url: string) => void = () => undefined;
    const callback = new Promise<string>((resolve) => (arrived = resolve));
    await page.route(
      (url) => url.href.startsWith(redirectUri),
      async (route) => {
        arrived(route.request().url());
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'ok' });
      },
    );

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      aud: t.fhirBase('clinic'),
    });
    await page.goto(url.href);
    const signInUrl = page.url();

    // Sign-in page: a heading, labelled fields, keyboard only.
    assert.match(await page.locator('h1').innerText(), /^Sign in/, 'sign-in page: it has an h1 saying what it is for');
    assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1, 'sign-in page: exactly one level-1 heading');
    const email = page.getByLabel('Email address', { exact: true });
    const password = page.getByLabel('Password', { exact: true });
    assert.equal(await email.getAttribute('id'), 'email', 'sign-in page: the label "Email address" is tied to the email input');
    assert.equal(await password.getAttribute('id'), 'password', 'sign-in page: the label "Password" is tied to the password input');
    await assertStyled(page, 'sign-in page');
    const toEmail = await tabTo(page, email, 'the email field');
    assert.equal(toEmail, 3, 'keyboard: in the one layout Tab reaches the skip link, the product link, then the email field');
    await page.keyboard.type('alice@example.org');
    assert.equal(await tabTo(page, password, 'the password field'), 1, 'keyboard: Tab goes from the email field straight to the password field');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');

    // Consent page: who asks, who publishes it, what it may do in plain words.
    const consentHeading = page.getByRole('heading', { level: 1, name: /^Allow Step Counter/ });
    await consentHeading.waitFor();
    assert.ok(await consentHeading.isVisible(), 'consent page: the h1 names the app');
    assert.ok(await page.getByText('Example Health GmbH', { exact: true }).isVisible(), 'consent page: the publisher is shown');
    for (const words of ['Read and search your observations', 'Keep access when you are not using it']) {
      assert.ok(await page.getByText(words).first().isVisible(), `consent page: the permission "${words}" is shown in plain words`);
    }
    await assertStyled(page, 'consent page');
    const screenshot = join(tmpdir(), 'tresor-oauth-consent.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    ctx.diagnostic(`consent page screenshot: ${screenshot}`);

    const allow = page.getByRole('button', { name: 'Allow', exact: true });
    const toAllow = await tabTo(page, allow, 'the Allow button');
    ctx.diagnostic(`Tab presses to reach Allow: ${toAllow}`);
    await page.keyboard.press('Enter');

    // The browser carries the code to the redirect URI; the app redeems it.
    const landed = await Promise.race([callback, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('the browser never reached the redirect URI')), 15_000).unref())]);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(landed), { pkceCodeVerifier: verifier, expectedState: state });
    assert.equal((tokens as unknown as Record<string, unknown>)['patient'], alice, 'token response: the SMART patient context is the signed-in patient');
    const read = await fetch(`${t.fhirBase('clinic')}/Observation`, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/fhir+json' } });
    assert.equal(read.status, 200, 'FHIR read with the access token: searching Observation is allowed');
    const bundle = (await read.json()) as { total: number; entry?: Array<{ resource: { subject: { reference: string } } }> };
    assert.equal(bundle.total, 2, "FHIR read with the access token: exactly the patient's two observations");
    assert.ok(
      (bundle.entry ?? []).every((e) => e.resource.subject.reference === `Patient/${alice}`),
      `FHIR read with the access token: none of another patient's (Patient/${bob}) observations`,
    );

    assert.deepEqual(refusals(), [], 'CSP: the browser refused nothing on the sign-in and consent pages');
    const shown = messages.length;

    // Control: the detector above is not blind. An inline style on one of our pages (here the
    // message the finished sign-in URL now shows) must be refused.
    const control = await page.goto(signInUrl);
    assert.match((await control?.allHeaders())?.['content-security-policy'] ?? '', /style-src 'self'/, 'CSP control: the page carries our policy');
    await page.evaluate("document.head.append(Object.assign(document.createElement('style'), { textContent: 'body { color: red }' }))");
    await page.waitForTimeout(200);
    assert.ok(
      refusals().some((m) => /inline style/i.test(m)),
      `CSP control: this browser enforces the policy and the console shows it (saw: ${JSON.stringify(messages.slice(shown))})`,
    );
    for (const m of messages.slice(0, shown)) ctx.diagnostic(m);
    await context.close();
  });
});
