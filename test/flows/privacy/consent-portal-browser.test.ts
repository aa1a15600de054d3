import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { assertAccessible, launchChromium, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { json, observation, patient } from '../../support/harness.js';
import { discover, person, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * The patient refuses an app in the portal, by keyboard, under the strict CSP, and the app's next
 * request for her records is refused (another patient's still answered); she withdraws the refusal
 * and the app reads again. English, then the German page; no serious or critical axe finding.
 */
describe('my consents in Chromium', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let browser: Browser;
  let aliceObs: string;
  let bobObs: string;
  let token: string;

  before(async () => {
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    const created = async (body: Record<string, unknown>) => json(await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${String(body['resourceType'])}`, key, body })).id as string;
    await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-lee', key, body: { resourceType: 'Practitioner', id: 'dr-lee', name: [{ family: 'Lee' }] } });
    const alice = await created(patient({ generalPractitioner: [{ reference: 'Practitioner/dr-lee', display: 'Dr. Lee' }] }));
    const bob = await created(patient());
    aliceObs = await created(observation(alice));
    bobObs = await created(observation(bob));
    await person(t, 'clinic', 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
    const registered = await t.app.clients.create('clinic', { name: 'Research export', publisher: 'Uni Lab', kind: 'backend', scope: 'system/Observation.rs', role: 'service-reader' }, 'test', { pending: true });
    await t.app.clients.approve('clinic', registered.client.clientId, 'cli:test');
    const config = await discover(t, 'clinic', registered.client.clientId, registered.clientSecret as string);
    token = (await oidc.clientCredentialsGrant(config, { scope: 'system/Observation.rs' })).access_token;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t.close();
  });

  const byApp = (id: string) => t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Observation/${id}`, headers: { authorization: `Bearer ${token}` } });

  it('refuse an app → its next request for her is 403, another patient’s 200 → withdraw → 200 again; keyboard only, axe clean', { timeout: 120_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${t.base}/tenants/clinic/me/consents`);
    await page.waitForURL(/\/account\/sign-in\?next=/);
    await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
    await page.keyboard.type('alice@example.org');
    await page.keyboard.press('Tab');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/tenants\/clinic\/me\/consents$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'My consents');
    assert.ok(await page.getByText('You have made no choices').isVisible());
    assert.ok(await page.getByRole('option', { name: 'Dr. Lee' }).count(), 'her care team by the name her record gives');
    await assertAccessible(page, 'my consents');

    assert.equal((await byApp(aliceObs)).statusCode, 200, 'before the refusal');
    await tabTo(page, page.getByLabel('App', { exact: true }), 'the app choice', 40);
    assert.equal(await page.getByLabel('App', { exact: true }).inputValue(), (await t.app.clients.list('clinic'))[0]?.clientId);
    await tabTo(page, page.getByRole('button', { name: 'Refuse this app' }), 'the refuse button', 5);
    await page.keyboard.press('Enter');
    await page.waitForURL(/done=saved$/);
    assert.ok(await page.getByRole('status').getByText('Saved').isVisible());
    assert.ok(await page.getByText('No use of your records by the app Research export').first().isVisible());
    await assertAccessible(page, 'my consents after a refusal');

    const refused = await byApp(aliceObs);
    assert.equal(refused.statusCode, 403, 'the app’s next request for her records');
    assert.equal((await byApp(bobObs)).statusCode, 200, 'another patient’s records');
    const denied = (await t.app.audit.query('clinic', { count: 30 })).find((e) => e.action === 'access.denied');
    assert.match(denied?.detail ?? '', /^consent-denied Consent\//);

    await tabTo(page, page.getByRole('button', { name: /^Withdraw: No use of your records by the app Research export/ }), 'the withdraw button', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/done=withdrawn$/);
    assert.ok(await page.getByRole('heading', { name: 'Earlier choices' }).isVisible(), 'the withdrawn choice stays in the history');
    assert.equal((await byApp(aliceObs)).statusCode, 200, 'withdrawn at once');

    await page.goto(`${t.base}/tenants/clinic/me/consents?lang=de`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Meine Einwilligungen');
    await assertAccessible(page, 'my consents (German)');
    assert.deepEqual(refusals(), [], 'the browser refused nothing and no script failed');
    await context.close();
  });
});
