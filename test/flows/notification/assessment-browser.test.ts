import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, typeInto, watchedPage } from '../../support/chromium.js';
import { json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword, personWithTotp } from '../../support/people.js';

/**
 * The notification checklist in Chromium, by keyboard, under the CSP: an operator computes it
 * from the incident's frozen scope, reads each answer's reasons and countdown, overrides an
 * answer with a reason (the computed one stays beside it) and records a notification as done;
 * the clinic's admin reads their items without a form. axe-core on each page, English and German.
 */
describe('notification checklist in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let operatorSecret = '';
  let adminSecret = '';
  let incidentId = '';
  const nextCode = (secret: string) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
  const cli = { kind: 'operator' as const, actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, requestId: '', sourceIp: 'local', status: 0 };


  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    const writer = await t.tenant('clinic');
    const reader = await t.app.apiKeys.create({ tenantId: 'clinic', role: 'service-reader' });
    for (let i = 0; i < 6; i++) {
      const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key: writer, body: patient({ address: [{ use: 'home', city: 'Köln', state: 'NW', country: 'DE' }] }) });
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${String(json(created)['id'])}`, key: reader.key })).statusCode, 200);
    }
    operatorSecret = await personWithTotp(t, 'operators', 'operator', 'ops@hosting.example');
    adminSecret = await personWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
    // Aware 30 hours ago: the 72-hour item shows 42 hours left, the processor's 24-hour notice overdue.
    const opened = await t.app.incidents.open(cli, { title: 'Integration key in a public repository', severity: 'high', tenants: ['clinic'], awareAt: Date.now() - 30 * 3_600_000 });
    incidentId = opened.incident.id;
    await t.app.incidentScopes.freezeScope(cli, incidentId, { from: Date.now() - 3_600_000, to: Date.now(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['clinic'] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an operator computes, overrides with a reason and records a notification; the clinic reads its items', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode(operatorSecret) });
    await page.waitForURL(/\/platform\/console\/$/);
    await page.goto(`${base}/platform/console/incidents/${incidentId}`);
    await tabTo(page, page.getByRole('link', { name: /^Notification assessment/ }), 'the checklist link', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/assessment$/);
    assert.match(await page.locator('main').innerText(), /Not assessed yet/);
    await tabTo(page, page.getByRole('button', { name: 'Compute' }), 'the compute button', 20);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/assessment\?done=compute$/);

    const table = page.getByRole('table', { name: 'Checklist' });
    const authority = await table.getByRole('row', { name: /^GDPR Art\. 33\(1\)/ }).innerText();
    assert.match(authority, /yes/);
    assert.match(authority, /due in 4[12] h \d+ min/, authority);
    assert.match(await table.getByRole('row', { name: /^GDPR Art\. 33\(2\)/ }).innerText(), /overdue by 6 h/);
    assert.match(await table.getByRole('row', { name: /^PCI DSS/ }).innerText(), /not applicable\s+–$/);
    const main = await page.locator('main').innerText();
    assert.match(main, /not legal advice/);
    assert.match(main, /6 patients \(\d+ records?\) disclosed in clear through the API by a valid API key/);
    await assertAccessible(page, 'the notification checklist');

    // Override the Art. 34 answer by keyboard: a reason is required, the computed answer stays beside it.
    await tabTo(page, page.getByText('Change the answer or record the notification: GDPR Art. 34(1)'), 'the Art. 34 forms', 60);
    await page.keyboard.press('Enter');
    const answer = page.locator('#item-gdpr-34-1-clinic-answer');
    await tabTo(page, answer, 'the Art. 34 answer', 5);
    await page.keyboard.press('Home');
    await typeInto(page, page.locator('#item-gdpr-34-1-clinic-reason'), 'the reason', 'The clinic is a fertility centre: being its patient reveals health data, so the risk is high (DPO, 4 March)');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=answer$/);
    const row34 = await page.getByRole('table', { name: 'Checklist' }).getByRole('row', { name: /^GDPR Art\. 34\(1\)/ }).innerText();
    assert.match(row34, /yes\s+\(computed: decide\)/);
    assert.match(await page.locator('main').innerText(), /Answer set by operator:[^\n]*fertility centre/);

    // Record the authority's notification: the countdown gives way to "done".
    await tabTo(page, page.getByText('Change the answer or record the notification: GDPR Art. 33(1)'), 'the Art. 33 forms', 60);
    await page.keyboard.press('Enter');
    await typeInto(page, page.locator('#item-gdpr-33-1-clinic-how'), 'how', 'Online form of the state authority, reference LDI-2026-0412');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=done$/);
    assert.match(await page.getByRole('table', { name: 'Checklist' }).getByRole('row', { name: /^GDPR Art\. 33\(1\)/ }).innerText(), /done/);
    await assertAccessible(page, 'the checklist after changes');
    await screenshotForDocs(page, 'operator-notification-assessment');
    await page.goto(`${base}/platform/console/incidents/${incidentId}/assessment?lang=de`);
    const german = await page.locator('main').innerText();
    assert.match(german, /Bewertung der Meldepflichten/);
    assert.match(german, /keine Rechtsberatung/);
    assert.match(german, /überfällig seit/);
    await assertAccessible(page, 'the notification checklist (German)');
    assert.deepEqual(refusals(), []);
    await context.close();

    const clinic = await watchedPage(browser);
    await clinic.page.goto(`${base}/tenants/clinic/account/sign-in`);
    await signInByKeyboard(clinic.page, { email: 'admin@clinic.example', password: testPassword, code: await nextCode(adminSecret) });
    await clinic.page.waitForURL(/\/tenants\/clinic\/console\/$/);
    await clinic.page.goto(`${base}/tenants/clinic/console/incidents/${incidentId}/assessment`);
    const text = await clinic.page.locator('main').innerText();
    assert.match(text, /GDPR Art\. 33\(1\)/);
    assert.equal(await clinic.page.getByRole('button').filter({ hasText: /Save answer|Mark done|Compute/ }).count(), 0, 'the clinic reads; the operators change');
    await assertAccessible(clinic.page, 'the clinic’s checklist');
    await screenshotForDocs(clinic.page, 'clinic-notification-assessment');
    assert.deepEqual(clinic.refusals(), []);
    await clinic.context.close();
  });
});
