import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import type { Browser } from 'playwright-core';
import type { IncidentCaller } from '../../../src/incidents/index.js';
import { assertAccessible, launchChromium, screenshotForDocs, signInByKeyboard, skipWithoutChromium, tabTo, watchedPage } from '../../support/chromium.js';
import { json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { freePort } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';
import { writtenFreeText } from './free-text.js';

/**
 * The breach notice pages in Chromium, by keyboard, under the CSP: from the incident to its
 * drafts, a draft's preview with the facts of the scope, an edit of the free text, the four-eyes
 * refusal of the editor's own approval, and — for a draft someone else wrote — approve and
 * record as filed, with the delivery log. axe-core on each page, English and German.
 */
describe('breach notice pages in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let base = '';
  let browser: Browser;
  let secret = '';
  let incidentId = '';
  const nextCode = () => generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });

  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp('sqlite', { server: { publicUrl: base, port }, detection: { walkSeconds: 3600, escalation: { checkSeconds: 3600 } } }, { clock: { now: () => new Date() } });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    const writer = await t.tenant('clinic');
    const reader = await t.app.apiKeys.create({ tenantId: 'clinic', role: 'service-reader' });
    const started = Date.now() - 1000;
    for (let i = 0; i < 3; i++) {
      const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key: writer, body: patient() });
      assert.equal((await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient/${String(json(created)['id'])}`, key: reader.key })).statusCode, 200);
    }
    const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email: 'ops@hosting.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
    await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
    const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.app.http.inject({ method: 'POST', url: `/platform${url}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
    const login = await post('/auth/login', { email: 'ops@hosting.example', password: testPassword });
    const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
    secret = (JSON.parse((await post('/auth/totp', { password: testPassword }, session)).body) as { secret: string }).secret;
    assert.equal((await post('/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session)).statusCode, 200);
    // Drafted by someone else (the CLI): the browser's operator may approve.
    const cli: IncidentCaller = { kind: 'operator', actor: { id: 'cli:test', role: 'operator', client: 'tresor-cli' }, requestId: '', sourceIp: 'local', status: 0 };
    incidentId = (await t.app.incidents.open(cli, { title: 'Integration key in a public repository', severity: 'high', tenants: ['clinic'] })).incident.id;
    const frozen = await t.app.incidentScopes.freezeScope(cli, incidentId, { from: started, to: Date.now(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: ['clinic'] });
    const generated = await t.app.noticeDrafts.generate(cli, incidentId, { scopeId: frozen.id, kinds: ['customer', 'authority'] });
    // The report's free text written by the CLI's operator: finished, and someone else's to approve.
    await t.app.noticeDrafts.edit(cli, incidentId, generated.find((d) => d.kind === 'authority')?.id as string, writtenFreeText);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('an operator previews, edits, is refused their own approval, approves another’s draft and records it filed', { timeout: 180_000 }, async () => {
    const { page, context, refusals } = await watchedPage(browser);
    await page.goto(`${base}/platform/account/sign-in`);
    await signInByKeyboard(page, { email: 'ops@hosting.example', password: testPassword, code: await nextCode() });
    await page.waitForURL(/\/platform\/console\/$/);
    await page.goto(`${base}/platform/console/incidents/${incidentId}`);
    await tabTo(page, page.getByRole('link', { name: /^Breach notices/ }), 'the notices link', 60);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/drafts$/);
    assert.match(await page.getByRole('table').innerText(), /Notice to the customer \(tenant\)\s+clinic\s+draft/);
    await assertAccessible(page, 'breach notice drafts');

    await tabTo(page, page.getByRole('link', { name: 'Report to the authority' }), 'the report', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/drafts\/[0-9a-f-]{36}$/);
    const preview = await page.locator('.notice-preview').innerText();
    assert.match(preview, /Approximate number of data subjects \(individuals\): 3/);
    assert.match(preview, /Type of breach \(HHS form\)/);
    const pdfLink = page.getByRole('link', { name: 'PDF' }).first();
    const pdf = await page.request.get(`${base}${String(await pdfLink.getAttribute('href'))}`);
    assert.equal(pdf.status(), 200, 'the download links work with the console session');
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal(pdf.headers()['cache-control'], 'no-store');
    await assertAccessible(page, 'authority report draft');
    await screenshotForDocs(page, 'operator-breach-notice-draft');

    await tabTo(page, page.getByRole('button', { name: 'Approve' }), 'approve', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=approve$/);
    await tabTo(page, page.getByRole('button', { name: 'Send' }), 'send (record filed)', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=send$/);
    assert.match(await page.getByRole('table', { name: /One row per recipient/ }).innerText(), /filed\s+filed/);
    assert.equal(await page.getByRole('button', { name: 'Save text' }).count(), 0, 'a sent notice is final');

    // The customer notice: edited here, so this operator may not approve it.
    await page.goto(`${base}/platform/console/incidents/${incidentId}/drafts`);
    await tabTo(page, page.getByRole('link', { name: 'Notice to the customer (tenant)' }), 'the customer notice', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/drafts\/[0-9a-f-]{36}$/);
    const field = page.locator('#en-whatHappened');
    // By keyboard from the top of the page: the field, its text selected and typed over.
    await tabTo(page, field, 'what happened (English)', 40);
    await page.keyboard.press('Control+A');
    await page.keyboard.type('An integration key was published by mistake. We revoked it.');
    await tabTo(page, page.getByRole('button', { name: 'Save text' }), 'save', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?done=edit$/);
    assert.match(await page.locator('.notice-preview').innerText(), /An integration key was published by mistake\. We revoked it\./);
    await tabTo(page, page.getByRole('button', { name: 'Approve' }), 'approve', 40);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/approve$/);
    assert.match(await page.locator('main').innerText(), /Four eyes/);
    await assertAccessible(page, 'customer notice, approval refused');
    await page.goto(`${base}/platform/console/incidents/${incidentId}/drafts?lang=de`);
    assert.match(await page.locator('main').innerText(), /Benachrichtigungen/);
    await assertAccessible(page, 'breach notice drafts (German)');
    assert.deepEqual(refusals(), []);
    await context.close();
  });
});
