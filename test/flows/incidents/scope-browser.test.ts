import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword, personWithTotp } from '../../support/people.js';

/**
 * The breach scope section in Chromium, by keyboard, under the CSP: an operator computes and
 * freezes a scope into an incident from its page, verifies it and finds the JSON link; the
 * clinic's admin sees their own tenant's part with their patients, and nothing of the other
 * tenant. axe-core on each page, English and German.
 */
describe('breach scope section in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let operatorSecret = '';
  let adminSecret = '';
  let keyId = '';
  let otherKeyId = '';
  let incidentId = '';
  const readPatients: string[] = [];
  const nextCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });


  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    for (const [tenant, count] of [['clinic', 5], ['hospital', 3]] as const) {
      const writer = await t.tenant(tenant);
      const reader = await t.app.apiKeys.create({ tenantId: tenant, role: 'service-reader' });
      if (tenant === 'clinic') keyId = reader.info.id;
      else otherKeyId = reader.info.id;
      for (let i = 0; i < count; i++) {
        const created = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key: writer, body: patient() });
        const id = String(json(created)['id']);
        assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key: reader.key })).statusCode, 200);
        if (tenant === 'clinic') readPatients.push(id);
      }
    }
    operatorSecret = await personWithTotp(t, 'operators', 'operator', 'ops@hosting.example');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    const opened = await t.app.incidents.open({ kind: 'operator', actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, requestId: '', sourceIp: 'local', status: 0 }, { title: 'Integration keys in a public repository', severity: 'high', tenants: ['clinic'] });
    incidentId = opened.incident.id;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an operator freezes and verifies a scope; the clinic sees only its part', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode(operatorSecret) });
    await page.waitForURL(/\/platform\/console\/$/);
    await page.goto(`${base}/platform/console/incidents/${incidentId}`);
    assert.match(await page.locator('main').innerText(), /No scope frozen yet\./);
    await typeInto(page, page.getByLabel('From', { exact: true }), 'from', new Date(Date.now() - 3_600_000).toISOString());
    await typeInto(page, page.getByLabel('To', { exact: true }), 'to', new Date(Date.now() + 60_000).toISOString());
    await typeInto(page, page.getByLabel('Ids or addresses'), 'the suspects', `${keyId}\n${otherKeyId}`);
    await tabTo(page, page.getByRole('button', { name: 'Compute and freeze' }), 'the freeze button', 10);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=scopes$/);
    const table = page.getByRole('table', { name: /^Computed/ });
    assert.match(await table.getByRole('row', { name: /^clinic/ }).innerText(), /^clinic\s+5\s+5\s+0\s+5\s+0$/);
    assert.match(await table.getByRole('row', { name: /^hospital/ }).innerText(), /^hospital\s+3\s+3\s+0/);
    assert.match(await page.locator('dl').innerText(), /clinic, hospital/, 'the touched tenant joined the incident');
    const link = page.getByRole('link', { name: 'JSON' });
    assert.match(String(await link.getAttribute('href')), new RegExp(`/platform/console/incidents/${incidentId}/scopes/[0-9a-f-]{36}$`));
    const download = await page.request.get(`${base}${String(await link.getAttribute('href'))}`);
    assert.equal(download.headers()['cache-control'], 'no-store');
    assert.equal((await download.json()).totals.patients, 8);
    await tabTo(page, page.getByRole('button', { name: /^Verify/ }), 'the verify button', 80);
    await page.keyboard.press('Enter');
    // The answer is the verify form's own page (nothing is stored): wait for it, not for the load
    // state of the page the button was on, which is loaded already.
    await page.waitForURL(/\/scopes\/[0-9a-f-]{36}\/verify$/);
    assert.match(await page.locator('main').innerText(), /unchanged since frozen — yes; matches the audit trail — yes/);
    await assertAccessible(page, 'incident with a frozen scope');
    await screenshotForDocs(page, 'operator-incident-scope');
    await page.goto(`${base}/platform/console/incidents/${incidentId}?lang=de`);
    assert.match(await page.locator('main').innerText(), /Umfang der Verletzung/);
    await assertAccessible(page, 'incident with a frozen scope (German)');
    assert.deepEqual(refusals(), []);
    await context.close();

    const clinic = await watchedPage(browser);
    await clinic.page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(clinic.page, { email: 'admin@clinic.example', password: testPassword, code: await nextCode(adminSecret) });
    await clinic.page.waitForURL(/\/tenants\/clinic\/console\/$/);
    await clinic.page.goto(`${base}/tenants/clinic/console/incidents/${incidentId}`);
    const main = await clinic.page.locator('main').innerText();
    for (const id of readPatients) assert.ok(main.includes(`Patient/${id}`), 'their own patients, listed');
    assert.ok(!main.includes('hospital'), 'nothing of the other tenant');
    assert.ok(!main.includes(otherKeyId), "not the other tenant's key");
    assert.equal(await clinic.page.getByRole('button', { name: 'Compute and freeze' }).count(), 0, 'scopes are computed by the operators');
    await assertAccessible(clinic.page, 'clinic incident with its scope');
    await screenshotForDocs(clinic.page, 'clinic-incident-scope');
    assert.deepEqual(clinic.refusals(), []);
    await clinic.context.close();
  });
});
