import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import type { Browser as Chromium, Page as ChromiumPage } from 'playwright-core';
import { personRoles, type PersonRole } from '../../../src/identity/index.js';
import { Browser, isPage, type Page } from '../../support/browser.js';
import { assertAccessible, assertStyled, launchChromium, screenshotForDocs, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { engines, patient } from '../../support/harness.js';
import { authorize, discover, person, redirectUri, registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

/**
 * Connected apps and the app consent page: the scopes a person is offered follow their role
 * (every role of the matrix, expected values written out below by hand), staff find the patient
 * by a search that only lists patients they may see (never another tenant's), one entry per app
 * on the connected-apps page, and withdrawing stops its tokens at once.
 */

const everyScope = 'openid offline_access launch/patient patient/Observation.rs user/Patient.rs user/Invoice.rs user/Practitioner.rs';

/**
 * What each role may use of `everyScope`, read off docs/permissions.md by hand (not computed):
 * identity scopes for everyone; patient/ scopes and launch/patient for roles that read Patient
 * records; a user/ scope for a type the role has.
 */
const expected: Readonly<Record<PersonRole, { offered: string[]; dropped: string[] }>> = {
  'tenant-admin': { offered: ['openid', 'offline_access', 'user/Practitioner.rs'], dropped: ['launch/patient', 'patient/Observation.rs', 'user/Patient.rs', 'user/Invoice.rs'] },
  clinician: { offered: ['openid', 'offline_access', 'launch/patient', 'patient/Observation.rs', 'user/Patient.rs', 'user/Practitioner.rs'], dropped: ['user/Invoice.rs'] },
  'front-desk': { offered: ['openid', 'offline_access', 'launch/patient', 'user/Patient.rs', 'user/Practitioner.rs'], dropped: ['patient/Observation.rs', 'user/Invoice.rs'] },
  billing: { offered: ['openid', 'offline_access', 'user/Invoice.rs'], dropped: ['launch/patient', 'patient/Observation.rs', 'user/Patient.rs', 'user/Practitioner.rs'] },
  auditor: { offered: [], dropped: ['launch/patient', 'patient/Observation.rs', 'user/Patient.rs', 'user/Invoice.rs', 'user/Practitioner.rs'] },
  patient: { offered: ['openid', 'offline_access', 'launch/patient', 'patient/Observation.rs', 'user/Patient.rs', 'user/Invoice.rs'], dropped: ['user/Practitioner.rs'] },
};

/** The scope codes listed under a heading of the consent page (each item ends with "(scope)"). */
function listedUnder(html: string, heading: string): string[] {
  const at = html.indexOf(`<h2>${heading}</h2>`);
  if (at < 0) return [];
  const list = html.slice(html.indexOf('<ul>', at), html.indexOf('</ul>', at));
  return [...list.matchAll(/<span class="hint">\(([^)]+)\)<\/span>/g)].map((m) => m[1] as string);
}

/** Opens the app's authorization URL and signs in on the app sign-in page: the consent (or refusal) page. */
async function toConsent(t: OAuthTestApp, config: oidc.Configuration, email: string, scope: string, browser = new Browser()) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, aud: t.fhirBase('clinic') });
  const login = await browser.follow(url.href, redirectUri);
  assert.ok(isPage(login), 'the app sign-in page');
  const consent = await browser.submit(login, '/login', { email, password: testPassword }, redirectUri);
  assert.ok(isPage(consent), `signed in as ${email}: a page, not a redirect`);
  return { browser, page: consent, verifier, state };
}

const hidden = (page: Page, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.html)?.[1] ?? '';

for (const engine of engines()) {
  describe(`the consent page and connected apps (${engine})`, () => {
    let t: OAuthTestApp;
    let key: string;
    let config: oidc.Configuration;
    let clientId: string;
    let inCare: string;
    let outside: string;
    let otherTenants: string;
    const email = (role: string) => `${role}@example.org`;

    before(async () => {
      t = await startOAuthApp(engine);
      key = await t.tenant('clinic');
      const otherKey = await t.tenant('other');
      const created = async (tenant: string, k: string, body: unknown) => JSON.parse((await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key: k, body })).body).id as string;
      await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-a', key, body: { resourceType: 'Practitioner', id: 'dr-a', name: [{ family: 'Arzt' }] } });
      inCare = await created('clinic', key, patient({ name: [{ family: 'Zeta', given: ['Ada'] }], birthDate: '1970-01-01', generalPractitioner: [{ reference: 'Practitioner/dr-a' }] }));
      outside = await created('clinic', key, patient({ name: [{ family: 'Zeta', given: ['Bruno'] }], birthDate: '1971-01-01' }));
      otherTenants = await created('other', otherKey, patient({ name: [{ family: 'Zeta', given: ['Carla'] }], birthDate: '1972-01-01' }));
      // Staff sign in to apps with a password only here (the policy itself is tested in test/flows/oauth/apps.test.ts).
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      for (const role of personRoles) {
        await person(t, 'clinic', role, email(role), role === 'patient' ? { patient: `Patient/${inCare}` } : role === 'clinician' ? { practitioner: 'Practitioner/dr-a' } : {});
      }
      const { client, clientSecret } = await registerApp(t, 'clinic', { scope: everyScope });
      clientId = client.clientId;
      config = await discover(t, 'clinic', client.clientId, clientSecret);
    });
    after(async () => t.close());

    for (const role of personRoles) {
      it(`${role}: offered exactly what the role can use, the rest shown as not available`, async () => {
        const { page } = await toConsent(t, config, email(role), everyScope);
        const want = expected[role];
        if (want.offered.length === 0) {
          assert.match(page.html, /<h1>Step Counter cannot be used with your role<\/h1>/);
          assert.doesNotMatch(page.html, /value="allow"/, 'nothing to allow: no Allow button');
        } else {
          assert.match(page.html, /<h1>Allow Step Counter to use records\?<\/h1>/);
          assert.deepEqual(listedUnder(page.html, 'It asks to'), want.offered);
        }
        assert.deepEqual(listedUnder(page.html, 'Not available to your role'), want.dropped);
        // Worded for who reads it.
        if (role === 'patient') assert.match(page.html, /Read and search your observations/);
        if (role === 'clinician') assert.match(page.html, /Read and search observations \(measurements and test results\) of the patient you choose/);
        // Staff who can use patient/ scopes choose the patient by a search; others are never asked.
        assert.equal(page.html.includes('name="q"'), want.offered.includes('launch/patient') && role !== 'patient');
      });
    }

    it('a role with nothing usable: the refusal answers the app access_denied, even when "allow" is forced', async () => {
      const { browser, page } = await toConsent(t, config, email('auditor'), everyScope);
      const forced = await browser.submit(page, '/consent', { decision: 'allow' }, redirectUri);
      assert.ok(!isPage(forced), 'back to the app');
      assert.equal(new URL(forced.redirectedTo).searchParams.get('error'), 'access_denied');
      const refused = await t.app.audit.query('clinic', { count: 5, actions: ['consent.refused'] });
      assert.match(refused[0]?.detail ?? '', /nothing usable by the role/);
    });

    it('the token holds only the scopes the role can use, and the app is not asked again for the rest', async () => {
      const { browser, page, verifier, state } = await toConsent(t, config, email('billing'), everyScope);
      const done = await browser.submit(page, '/consent', { decision: 'allow' }, redirectUri);
      assert.ok(!isPage(done), `consent finished without asking again: ${isPage(done) ? done.html.slice(0, 300) : ''}`);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(done.redirectedTo), { pkceCodeVerifier: verifier, expectedState: state });
      const granted = String(tokens.scope).split(' ');
      assert.ok(granted.includes('user/Invoice.rs'), `granted: ${tokens.scope}`);
      for (const dropped of expected.billing.dropped) assert.ok(!granted.includes(dropped), `${dropped} is not in the token (${tokens.scope})`);
    });

    it('CSRF: the consent form and the withdraw form refuse a wrong token', async () => {
      const { browser, page } = await toConsent(t, config, email('patient'), 'openid patient/Observation.rs');
      const action = `${t.base}${/<form method="post" action="([^"]*\/consent)"/.exec(page.html)?.[1] as string}`;
      const forged = await browser.request(action, { form: { csrf: 'forged', decision: 'allow' } });
      assert.equal(forged.status, 403, 'consent without the interaction’s token');
      const missing = await browser.request(action, { form: { decision: 'allow' } });
      assert.equal(missing.status, 403, 'consent without any token');
      // The withdraw form: the session's token, checked by the API's authenticator.
      await authorize(t, config, { tenantId: 'clinic', email: email('front-desk'), scope: 'openid user/Patient.rs' });
      const session = new Browser();
      const signIn = await session.follow(`${t.base}/tenants/clinic/account/apps`, redirectUri);
      assert.ok(isPage(signIn));
      const list = await session.submit(signIn, '/sign-in', { email: email('front-desk'), password: testPassword }, redirectUri);
      assert.ok(isPage(list));
      const withdraw = `${t.base}/tenants/clinic/account/apps/${clientId}/withdraw`;
      assert.equal((await session.request(withdraw, { form: { csrf: 'forged' } })).status, 403);
      assert.equal((await session.request(withdraw, { form: {} })).status, 403);
      assert.match((await session.request(`${t.base}/tenants/clinic/account/apps`)).html, /Withdraw access of Step Counter/, 'still connected');
    });

    it("the patient search lists only patients the person may see — never another tenant's — and is audited; a typed id outside the reach is refused", async () => {
      const { browser, page } = await toConsent(t, config, email('front-desk'), 'openid launch/patient user/Patient.rs');
      assert.match(page.html, /Search for the patient first/);
      const interaction = `${t.base}${/<form method="get" action="([^"]*)"/.exec(page.html)?.[1] as string}`;
      const found = await browser.request(`${interaction}?q=Zeta`);
      assert.equal(found.status, 200);
      assert.match(found.html, new RegExp(`value="${inCare}"`));
      assert.match(found.html, new RegExp(`value="${outside}"`), 'front desk reaches every patient of the tenant');
      assert.doesNotMatch(found.html, new RegExp(otherTenants), "another tenant's patient is never offered");
      assert.doesNotMatch(found.html, /Carla/);
      const searched = await t.app.audit.query('clinic', { count: 10, actions: ['record.searched'] });
      assert.ok(searched.some((e) => e.actor.client === `consent:${clientId}` && e.actor.role === 'front-desk'), 'the search is an audit event of the person on the consent page');
      const byDate = await browser.request(`${interaction}?q=1971-01-01`);
      assert.match(byDate.html, new RegExp(`value="${outside}"`));
      assert.doesNotMatch(byDate.html, new RegExp(`value="${inCare}"`));
      const byIdentifier = await browser.request(`${interaction}?q=A123456789`);
      assert.match(byIdentifier.html, new RegExp(`value="${inCare}"`));
      const none = await browser.request(`${interaction}?q=Nobody`);
      assert.match(none.html, /No patient you may see matches this search/);
      // The other tenant's id, typed into the form by hand.
      const refused = await browser.submit(found, '/consent', { decision: 'allow', patient: otherTenants }, redirectUri);
      assert.ok(isPage(refused));
      assert.equal(refused.status, 400);
      assert.match(refused.html, /role="alert"[^>]*>There is no such Patient record/);
    });

    it('a clinician is offered only patients in their care', async () => {
      const { browser, page } = await toConsent(t, config, email('clinician'), 'openid launch/patient patient/Observation.rs');
      const interaction = `${t.base}${/<form method="get" action="([^"]*)"/.exec(page.html)?.[1] as string}`;
      const found = await browser.request(`${interaction}?q=Zeta`);
      assert.match(found.html, new RegExp(`value="${inCare}"`));
      assert.doesNotMatch(found.html, new RegExp(`value="${outside}"`), 'not in care: not listed');
    });

    it('connected apps: one entry per app however often authorised, the patient by name; withdrawing removes it and stops every token', async () => {
      const scope = 'openid offline_access launch/patient patient/Observation.rs';
      const first = await authorize(t, config, { tenantId: 'clinic', email: email('clinician'), scope, patient: inCare });
      const second = await authorize(t, config, { tenantId: 'clinic', email: email('clinician'), scope, patient: inCare });
      const session = new Browser();
      const signIn = await session.follow(`${t.base}/tenants/clinic/account/apps`, redirectUri);
      assert.ok(isPage(signIn));
      const list = await session.submit(signIn, '/sign-in', { email: email('clinician'), password: testPassword }, redirectUri);
      assert.ok(isPage(list));
      assert.equal((list.html.match(/<h2 id="app-\d+">Step Counter<\/h2>/g) ?? []).length, 1, 'one entry for the app');
      assert.match(list.html, /<dt>Authorised<\/dt><dd>2 ×<\/dd>/);
      assert.match(list.html, /<dt>Records of<\/dt><dd>Ada Zeta<\/dd>/, 'the patient by name');
      assert.doesNotMatch(list.html, new RegExp(`Patient/${inCare}`), 'never the raw reference');
      const reads = await t.app.audit.query('clinic', { count: 10, actions: ['record.read'] });
      assert.ok(reads.some((e) => e.actor.client === 'session' && e.subjects.includes(`Patient/${inCare}`)), 'reading the name is an audited read');
      // The care relationship ends: the name is no longer the clinician's to see.
      const current = JSON.parse((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${inCare}`, key })).body) as Record<string, unknown>;
      await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Patient/${inCare}`, key, body: { ...current, generalPractitioner: undefined, meta: undefined } });
      const later = await session.request(`${t.base}/tenants/clinic/account/apps`);
      assert.match(later.html, /<dt>Records of<\/dt><dd>a patient record you can no longer see<\/dd>/);
      assert.doesNotMatch(later.html, /Ada/);
      await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/Patient/${inCare}`, key, body: { ...current, meta: undefined } });
      const withdrawn = await session.request(`${t.base}/tenants/clinic/account/apps/${clientId}/withdraw`, { form: { csrf: hidden(later, 'csrf') } });
      assert.equal(withdrawn.status, 303);
      const after = await session.request(new URL(withdrawn.headers.get('location') as string, t.base).href);
      assert.match(after.html, /role="status">Access withdrawn: Step Counter can no longer use your records/);
      assert.doesNotMatch(after.html, /<h2 id="app-/, 'the app is gone');
      for (const { tokens } of [first, second]) {
        assert.equal((await t.inject({ method: 'GET', url: '/tenants/clinic/fhir/Observation', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode, 401, 'every authorisation’s token stops');
      }
      assert.equal((await t.app.audit.query('clinic', { count: 10, actions: ['consent.revoked'] })).length >= 2, true);
    });

    it('an app the clinic switched off stays listed as such, with its withdraw button', async () => {
      const { client, clientSecret } = await registerApp(t, 'clinic', { name: 'Sleep Diary', scope: 'openid patient/Observation.rs' });
      await authorize(t, await discover(t, 'clinic', client.clientId, clientSecret), { tenantId: 'clinic', email: email('patient'), scope: 'openid patient/Observation.rs' });
      await t.app.clients.setDisabled('clinic', client.clientId, true);
      const session = new Browser();
      const signIn = await session.follow(`${t.base}/tenants/clinic/account/apps`, redirectUri);
      assert.ok(isPage(signIn));
      const list = await session.submit(signIn, '/sign-in', { email: email('patient'), password: testPassword }, redirectUri);
      assert.ok(isPage(list));
      assert.match(list.html, /Sleep Diary<\/h2>\n<p class="notice">Your clinic has switched this app off/);
      assert.match(list.html, /Withdraw access of Sleep Diary/);
    });

    it('no password, token, CSRF token, search term or patient name reaches the logs', async () => {
      const { tokens } = await authorize(t, config, { tenantId: 'clinic', email: email('patient'), scope: 'openid patient/Observation.rs' });
      const { browser, page } = await toConsent(t, config, email('front-desk'), 'openid launch/patient user/Patient.rs');
      const interaction = `${t.base}${/<form method="get" action="([^"]*)"/.exec(page.html)?.[1] as string}`;
      assert.match((await browser.request(`${interaction}?q=Zeta`)).html, /Ada Zeta/);
      const logs = t.logs.join('\n');
      assert.ok(t.logs.length > 0, 'the log was captured');
      for (const secret of [testPassword, tokens.access_token, hidden(page, 'csrf'), 'Zeta', 'Ada', '1970-01-01']) assert.ok(!logs.includes(secret), `not logged: ${secret.slice(0, 4)}…`);
    });

    it('the page takes no bearer credential, and the withdraw of an app never connected is 404', async () => {
      const bearer = await t.inject({ method: 'GET', url: '/tenants/clinic/account/apps', headers: { authorization: `Bearer ${key}` } });
      assert.equal(bearer.statusCode, 400);
      const session = new Browser();
      const signIn = await session.follow(`${t.base}/tenants/clinic/account/apps`, redirectUri);
      assert.ok(isPage(signIn));
      const list = await session.submit(signIn, '/sign-in', { email: email('billing'), password: testPassword }, redirectUri);
      assert.ok(isPage(list));
      const nothing = await session.request(`${t.base}/tenants/clinic/account/apps/app_nothing/withdraw`, { form: { csrf: hidden(list, 'csrf') } });
      assert.equal(nothing.status, 404);
    });
  });
}

describe('consent and connected apps in Chromium, by keyboard, under the CSP', { skip: skipWithoutChromium }, () => {
  let t: OAuthTestApp;
  let chromium: Chromium;
  let config: oidc.Configuration;
  let ada: string;
  const scope = 'openid offline_access launch/patient patient/Observation.rs';

  before(async () => {
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    await t.inject({ method: 'PUT', url: '/tenants/clinic/fhir/Practitioner/dr-a', key, body: { resourceType: 'Practitioner', id: 'dr-a', name: [{ family: 'Arzt' }] } });
    const created = async (body: unknown) => JSON.parse((await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body })).body).id as string;
    ada = await created(patient({ name: [{ family: 'Zeta', given: ['Ada'] }], generalPractitioner: [{ reference: 'Practitioner/dr-a' }] }));
    await created(patient({ name: [{ family: 'Zeta', given: ['Bruno'] }] }));
    await t.app.tenants.setMfaPolicy('clinic', 'optional');
    await person(t, 'clinic', 'clinician', 'doc@example.org', { practitioner: 'Practitioner/dr-a' });
    await person(t, 'clinic', 'patient', 'ada@example.org', { patient: `Patient/${ada}` });
    const { client, clientSecret } = await registerApp(t, 'clinic', { scope });
    config = await discover(t, 'clinic', client.clientId, clientSecret);
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await t?.close();
  });

  /** Opens the authorization URL in the page and answers the redirect URI; returns the code's arrival. */
  async function start(page: ChromiumPage) {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    let arrived: (url: string) => void = () => undefined;
    const callback = new Promise<string>((resolve) => (arrived = resolve));
    await page.route(
      (url) => url.href.startsWith(redirectUri),
      async (route) => {
        arrived(route.request().url());
        await route.fulfill({ status: 200, contentType: 'text/plain', body: 'ok' });
      },
    );
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope, code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, aud: t.fhirBase('clinic') });
    await page.goto(url.href);
    const tokens = async () => {
      const landed = await Promise.race([callback, new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('the browser never reached the redirect URI')), 15_000).unref())]);
      return oidc.authorizationCodeGrant(config, new URL(landed), { pkceCodeVerifier: verifier, expectedState: state });
    };
    return tokens;
  }

  async function signInByKeyboard(page: ChromiumPage, email: string) {
    await tabTo(page, page.getByLabel('Email address', { exact: true }), 'the email field');
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(testPassword);
    await page.keyboard.press('Enter');
  }

  it('a clinician authorises the app, finding the patient by name on the consent page', { timeout: 90_000 }, async () => {
    const { page, context, refusals } = await watchedPage(chromium);
    const tokens = await start(page);
    await assertAccessible(page, 'app sign-in page');
    await signInByKeyboard(page, 'doc@example.org');
    await page.getByRole('heading', { level: 1, name: 'Allow Step Counter to use records?' }).waitFor();
    assert.ok(await page.getByText('of the patient you choose').first().isVisible(), 'worded for staff');
    await assertStyled(page, 'consent page');
    await assertAccessible(page, 'consent page (staff, before the search)');
    await tabTo(page, page.getByLabel('Find the patient (name, identifier or birth date)'), 'the patient search', 20);
    await page.keyboard.type('Zeta');
    await page.keyboard.press('Enter');
    const choice = page.getByRole('radio', { name: /Ada Zeta/ });
    await choice.waitFor();
    assert.equal(await page.getByRole('radio').count(), 1, 'only the patient in the clinician’s care is listed');
    assert.ok(await choice.isChecked(), 'the only match is chosen');
    await assertAccessible(page, 'consent page (staff, search results)');
    await screenshotForDocs(page, 'oauth-consent-staff');
    await tabTo(page, page.getByRole('button', { name: 'Allow', exact: true }), 'the Allow button', 20);
    await page.keyboard.press('Enter');
    const granted = await tokens();
    assert.equal((granted as unknown as Record<string, unknown>)['patient'], ada, 'the app works with the patient chosen');
    assert.deepEqual(refusals(), [], 'no CSP refusal, no script error');
    await context.close();
  });

  it('a patient authorises the app twice, sees one entry, withdraws it (German once), and its tokens stop at once', { timeout: 120_000 }, async () => {
    const issued = [];
    for (const round of [1, 2]) {
      const { page, context, refusals } = await watchedPage(chromium);
      const tokens = await start(page);
      await signInByKeyboard(page, 'ada@example.org');
      await page.getByRole('heading', { level: 1, name: 'Allow Step Counter to use records?' }).waitFor();
      assert.ok(await page.getByText('Read and search your observations').isVisible(), 'worded for the patient');
      assert.ok(await page.getByText('your own records').isVisible());
      if (round === 1) {
        await assertAccessible(page, 'consent page (patient)');
        await screenshotForDocs(page, 'oauth-consent-patient');
      }
      await tabTo(page, page.getByRole('button', { name: 'Allow', exact: true }), 'the Allow button', 20);
      await page.keyboard.press('Enter');
      issued.push(await tokens());
      assert.deepEqual(refusals(), []);
      await context.close();
    }
    const { page, context, refusals } = await watchedPage(chromium);
    await page.goto(`${t.base}/tenants/clinic/account/apps`);
    await signInByKeyboard(page, 'ada@example.org');
    await page.getByRole('heading', { level: 1, name: 'Connected apps' }).waitFor();
    assert.equal(await page.getByRole('heading', { level: 2, name: 'Step Counter' }).count(), 1, 'one entry for two authorisations');
    await assertStyled(page, 'connected apps');
    await assertAccessible(page, 'connected apps');
    await screenshotForDocs(page, 'apps-connected');
    await page.goto(`${t.base}/tenants/clinic/account/apps?lang=de`);
    await page.getByRole('heading', { level: 1, name: 'Verbundene Apps' }).waitFor();
    await assertAccessible(page, 'connected apps (German)');
    await tabTo(page, page.getByRole('button', { name: 'Zugriff von Step Counter widerrufen' }), 'the withdraw button', 30);
    await page.keyboard.press('Enter');
    await page.getByText('Zugriff widerrufen: Step Counter kann Ihre Daten nicht mehr nutzen.').waitFor();
    assert.equal(await page.getByRole('heading', { level: 2, name: 'Step Counter' }).count(), 0, 'the app is gone');
    for (const tokens of issued) {
      const read = await fetch(`${t.fhirBase('clinic')}/Observation`, { headers: { authorization: `Bearer ${tokens.access_token}`, accept: 'application/fhir+json' } });
      assert.equal(read.status, 401, 'the token is refused at once');
    }
    assert.deepEqual(refusals(), []);
    await context.close();
  });
});
