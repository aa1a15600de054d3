import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { assertAccessible, launchChromium, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort, person } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * Passkeys on the account pages with Chromium's virtual authenticator (CDP WebAuthn domain):
 * added on the security page through the JSON endpoints, used as the second factor at the
 * pages' sign-in, removed again. The app is reached as http://localhost (a WebAuthn relying
 * party id is a domain name, never an IP address).
 */
describe('passkeys on the account pages, in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  before(async () => {
    const port = await freePort();
    base = `http://localhost:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    const key = await t.tenant('clinic');
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    await person(t, 'clinic', 'patient', 'keys@example.org', { patient: `Patient/${(JSON.parse(created.body) as { id: string }).id}` });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  it('adds a passkey (recovery codes shown once), signs in with it as the second factor, removes it', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });

    const next = encodeURIComponent('/tenants/clinic/account/security');
    const signIn = async () => {
      await page.goto(`${base}/tenants/clinic/account/sign-in?next=${next}`);
      await typeInto(page, page.getByLabel('Email address', { exact: true }), 'the email field', 'keys@example.org');
      await page.keyboard.press('Tab');
      await page.keyboard.type(testPassword);
      await page.keyboard.press('Enter');
    };
    await signIn();
    await page.waitForURL(/\/account\/security$/);
    assert.ok(await page.getByText('You have no passkeys.').isVisible());
    assert.ok(!(await page.locator('#passkey-needs-script').isVisible()), 'the script replaced the note with the form');
    await typeInto(page, page.getByLabel('A name for it (for example “Laptop”)'), 'the passkey name', 'Test key');
    await page.keyboard.press('Tab');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');
    // The account's first factor: recovery codes come with it, shown here once.
    await page.getByRole('heading', { level: 2, name: 'Your recovery codes' }).waitFor();
    assert.equal(await page.locator('#passkey-codes li').count(), 10);
    await assertAccessible(page, 'security page with new recovery codes');
    await page.reload();
    assert.equal(await page.getByRole('row', { name: /Test key/ }).count(), 1, 'the passkey is listed');

    // Sign out and in again: the second step offers the passkey.
    await tabTo(page, page.getByRole('button', { name: 'Sign out' }), 'the sign-out button', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/signedOut=1$/);
    await signIn();
    await page.getByRole('heading', { level: 1, name: 'Confirm it is you' }).waitFor();
    assert.ok(await page.getByLabel('Code', { exact: true }).isVisible(), 'the code field stays');
    await assertAccessible(page, 'second-factor page with a passkey');
    await tabTo(page, page.getByRole('button', { name: 'Use a passkey' }), 'the passkey button', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/security$/);

    // Remove it.
    await typeInto(page, page.locator('#passkey-remove-password'), 'the password to remove the passkey', testPassword);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/account\/security\?done=passkey-removed$/);
    assert.ok(await page.getByText('You have no passkeys.').isVisible());
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    assert.ok(!t.logs.join('\n').includes(testPassword));
    await context.close();
  });
});
