import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PersonRole } from '../../../src/identity/index.js';
import { escapeHtml } from '../../../src/platform/pages/index.js';
import { patient } from '../../support/harness.js';
import { registerApp, startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { signIn, signInWithTotp, type Person } from '../../support/people.js';

/**
 * The clinic console's staff, apps and settings pages, in process: who reaches which page and
 * form (the expected table is written out here, not derived from the permission matrix), CSRF,
 * the services' rules as the pages show them, and one tenant never seeing another's people.
 */
describe('clinic console: staff, apps, settings (access and rules)', () => {
  let t: OAuthTestApp;
  const people = new Map<PersonRole, Person>();
  let otherAdmin: Person;
  let staffId: string;
  let clientId: string;
  let otherClientId: string;
  const now = () => Date.now();

  before(async () => {
    t = await startOAuthApp('sqlite');
    const key = await t.tenant('clinic');
    await t.tenant('other');
    const created = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: patient() });
    const patientRef = `Patient/${(JSON.parse(created.body) as { id: string }).id}`;
    for (const role of ['tenant-admin', 'clinician', 'front-desk', 'billing', 'auditor', 'patient'] as const) {
      people.set(role, await signInWithTotp(t, 'clinic', role, `${role}@clinic.example`, now, role === 'patient' ? { patient: patientRef } : {}));
    }
    staffId = (people.get('clinician') as Person).accountId;
    otherAdmin = await signInWithTotp(t, 'other', 'tenant-admin', 'admin@other.example', now);
    await signInWithTotp(t, 'other', 'clinician', 'secret-colleague@other.example', now);
    clientId = (await registerApp(t, 'clinic', { name: 'Clinic Diary', scope: 'openid patient/Observation.rs' })).client.clientId;
    otherClientId = (await registerApp(t, 'other', { name: 'Other Tenant Tool', scope: 'openid patient/Observation.rs' })).client.clientId;
  });
  after(async () => t.close());

  const admin = () => people.get('tenant-admin') as Person;
  const page = (who: Person, url: string) => t.inject({ method: 'GET', url, headers: { cookie: who.cookie } });
  const form = (who: Person, url: string, fields: Record<string, string> = {}, csrf = who.csrf) =>
    t.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, ...fields }).toString() });

  const c = '/tenants/clinic/console';
  /** Every page and form of these sections; the forms with fields a tenant admin's request would carry. */
  const pages = () => [`${c}/staff/`, `${c}/staff/invite`, `${c}/staff/${staffId}`, `${c}/staff/${staffId}/disable`, `${c}/staff/${staffId}/reset-second-factor`, `${c}/apps/`, `${c}/apps/register`, `${c}/apps/${clientId}/disable`, `${c}/apps/${clientId}/secret`, `${c}/settings/`];
  const forms = (): Array<[string, Record<string, string>]> => [
    [`${c}/staff/invite`, { email: 'x@clinic.example', role: 'front-desk' }],
    [`${c}/staff/${staffId}/role`, { role: 'front-desk' }],
    [`${c}/staff/${staffId}/reinvite`, {}],
    [`${c}/staff/${staffId}/unlock`, {}],
    [`${c}/staff/${staffId}/end-sessions`, {}],
    [`${c}/staff/${staffId}/enable`, {}],
    [`${c}/staff/${staffId}/disable`, {}],
    [`${c}/staff/${staffId}/reset-second-factor`, { reason: 'test' }],
    [`${c}/apps/register`, { name: 'X', publisher: 'Y', kind: 'public', redirectUris: 'http://127.0.0.1:9/cb', scope: 'openid' }],
    [`${c}/apps/${clientId}/disable`, {}],
    [`${c}/apps/${clientId}/enable`, {}],
    [`${c}/apps/${clientId}/secret`, {}],
    [`${c}/settings/`, { policy: 'optional' }],
  ];

  // Written out, not taken from the matrix: only a tenant admin administers people, apps and settings.
  const refused: readonly PersonRole[] = ['clinician', 'front-desk', 'billing', 'auditor', 'patient'];

  it('refuses every page and form to each role that must not reach it (403), and offers none of them in its navigation', async () => {
    for (const role of refused) {
      const who = people.get(role) as Person;
      for (const url of pages()) assert.equal((await page(who, url)).statusCode, 403, `${role}: GET ${url}`);
      for (const [url, fields] of forms()) assert.equal((await form(who, url, fields)).statusCode, 403, `${role}: POST ${url}`);
      if (role !== 'patient') {
        const home = await page(who, `${c}/`);
        assert.equal(home.statusCode, 200, `${role}: the console home`);
        for (const section of ['staff', 'apps', 'settings']) assert.doesNotMatch(home.body, new RegExp(`href="${c}/${section}/"`), `${role}: no ${section} link`);
      }
    }
    // Nothing changed by all those refusals.
    const list = JSON.parse((await t.inject({ method: 'GET', url: '/tenants/clinic/accounts', headers: { cookie: admin().cookie } })).body) as { accounts: Array<{ id: string; role: string; status: string }> };
    assert.deepEqual(
      list.accounts.filter((a) => a.id === staffId).map((a) => [a.role, a.status]),
      [['clinician', 'active']],
    );
    assert.equal(await t.app.tenants.mfaPolicy('clinic'), 'staff', 'the policy is unchanged');
    const denied = await t.app.audit.query('clinic', { count: 500, actions: ['access.denied'], actor: `account:${(people.get('billing') as Person).accountId}` });
    assert.ok(denied.length >= pages().length, 'each refusal is audited like the API’s');
  });

  it('serves every page to the tenant admin, under the strict CSP and never cached', async () => {
    for (const url of pages()) {
      const answer = await page(admin(), url);
      assert.equal(answer.statusCode, 200, `GET ${url}`);
      assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/);
      assert.equal(answer.headers['cache-control'], 'no-store');
    }
    const home = await page(admin(), `${c}/`);
    for (const section of ['staff', 'apps', 'settings']) assert.match(home.body, new RegExp(`href="${c}/${section}/"`), `the admin is offered ${section}`);
  });

  it('refuses a form without the session’s CSRF token, and changes nothing', async () => {
    const forged = await form(admin(), `${c}/settings/`, { policy: 'optional' }, 'not-the-token');
    assert.equal(forged.statusCode, 403);
    const missing = await t.inject({ method: 'POST', url: `${c}/staff/${staffId}/disable`, headers: { cookie: admin().cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    assert.equal(missing.statusCode, 403);
    assert.equal(await t.app.tenants.mfaPolicy('clinic'), 'staff');
    assert.equal((await t.app.accounts.access('clinic', staffId))?.status, 'active');
  });

  it('refuses to disable or demote oneself with a clear message on the page', async () => {
    const self = await form(admin(), `${c}/staff/${admin().accountId}/disable`);
    assert.equal(self.statusCode, 409);
    assert.match(self.body, /role="alert"[^>]*>You cannot disable your own account/);
    const demote = await form(admin(), `${c}/staff/${admin().accountId}/role`, { role: 'auditor' });
    assert.equal(demote.statusCode, 409);
    assert.match(demote.body, /You cannot change your own role/);
    // A role beyond the admin's reach: refused on the person's page with the operator's step, audited.
    const beyond = await form(admin(), `${c}/staff/${staffId}/role`, { role: 'front-desk' });
    assert.equal(beyond.statusCode, 403);
    assert.match(beyond.body, /role="alert"[^>]*>The role front-desk reaches more than yours; a platform operator makes this change/);
    assert.equal((await t.app.accounts.access('clinic', staffId))?.role, 'clinician');
    assert.equal((await t.app.accounts.access('clinic', admin().accountId))?.status, 'active');
    // And the page never offers it: no disable link, no role form on one's own page.
    const mine = await page(admin(), `${c}/staff/${admin().accountId}`);
    assert.doesNotMatch(mine.body, /\/disable"/);
    assert.doesNotMatch(mine.body, /\/role"/);
  });

  it('a second-factor reset needs a reason, which the audit trail keeps', async () => {
    const target = people.get('front-desk') as Person;
    const without = await form(admin(), `${c}/staff/${target.accountId}/reset-second-factor`, { reason: '  ' });
    assert.equal(without.statusCode, 400);
    assert.match(without.body, /Give a reason/);
    assert.equal((await t.app.accounts.access('clinic', target.accountId))?.secondFactor, true, 'nothing reset without a reason');
    const done = await form(admin(), `${c}/staff/${target.accountId}/reset-second-factor`, { reason: 'lost phone, identity checked at the desk' });
    assert.equal(done.statusCode, 303);
    assert.equal(done.headers.location, `${c}/staff/${target.accountId}?done=reset`);
    assert.equal((await t.app.accounts.access('clinic', target.accountId))?.secondFactor, false);
    const event = (await t.app.audit.query('clinic', { count: 1, actions: ['auth.mfa_removed'] }))[0];
    assert.equal(event?.detail, 'by-administrator; reason: lost phone, identity checked at the desk');
    assert.equal((await page(target, `${c}/`)).statusCode, 303, 'the person’s session ended');
    // The JSON route takes the same reason through the same service, within the same limit.
    const long = await t.inject({ method: 'POST', url: `/tenants/clinic/accounts/${staffId}/second-factors/reset`, headers: { cookie: admin().cookie, 'x-csrf-token': admin().csrf, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x'.repeat(201) }) });
    assert.equal(long.statusCode, 400);
    assert.equal((await t.app.accounts.access('clinic', staffId))?.secondFactor, true);
  });

  it('an invitation beyond the admin’s reach waits for an operator; a bad address stays on the form', async () => {
    const bad = await form(admin(), `${c}/staff/invite`, { email: 'not an address', role: 'front-desk' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /id="email"[^>]*aria-describedby="page-error"/);
    assert.match(bad.body, /value="not an address"/, 'what was typed is kept');
    const pending = await form(admin(), `${c}/staff/invite`, { email: 'new-doc@clinic.example', role: 'clinician' });
    assert.equal(pending.statusCode, 303);
    assert.equal(pending.headers.location, `${c}/staff/?done=pending`);
    // Only a tenant-admin reaches no more than its inviter: that setup link leaves at once.
    const sent = await form(admin(), `${c}/staff/invite`, { email: 'desk2@clinic.example', role: 'tenant-admin' });
    assert.equal(sent.headers.location, `${c}/staff/?done=invited`);
    const messages = await t.app.outbox.list('clinic');
    assert.ok(messages.some((m) => m.to === 'desk2@clinic.example'), 'the setup link went to the person');
    assert.ok(!messages.some((m) => m.to === 'new-doc@clinic.example'), 'not before approval');
    const list = await page(admin(), `${c}/staff/`);
    assert.match(list.body, /desk2@clinic\.example/);
    // A new setup link is offered where the admin may send it, and the operator's step where not.
    const accounts = await t.app.accounts.list('clinic');
    const idOfEmail = (email: string) => accounts.find((x) => x.email === email)?.id as string;
    const mine = await page(admin(), `${c}/staff/${idOfEmail('desk2@clinic.example')}`);
    assert.match(mine.body, /\/reinvite"/);
    const operators = await page(admin(), `${c}/staff/${idOfEmail('new-doc@clinic.example')}`);
    assert.doesNotMatch(operators.body, /\/reinvite"/);
    assert.match(operators.body, /a platform operator approves it and sends its setup link/);
    assert.equal((await form(admin(), `${c}/staff/${idOfEmail('new-doc@clinic.example')}/reinvite`)).statusCode, 403, 'and a forged one is refused');
    for (const m of messages) assert.ok(!list.body.includes(/^([A-Za-z0-9_-]{43})$/m.exec(m.text)?.[1] ?? '\u0000'), 'no setup code on the page');
  });

  it('registering an app validates as the API does and shows its secret once', async () => {
    const bad = await form(admin(), `${c}/apps/register`, { name: 'Bad', publisher: 'P', kind: 'confidential', redirectUris: 'http://evil.example/cb', scope: 'openid' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /role="alert"/);
    const api = await t.inject({ method: 'POST', url: '/tenants/clinic/apps', headers: { cookie: admin().cookie, 'x-csrf-token': admin().csrf, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Bad', publisher: 'P', kind: 'confidential', redirectUris: ['http://evil.example/cb'], scope: 'openid' }) });
    assert.equal(api.statusCode, 400, 'the JSON route refuses the same input');
    assert.ok(bad.body.includes(escapeHtml((JSON.parse(api.body) as { title: string }).title)), 'with the same message');
    const made = await form(admin(), `${c}/apps/register`, { name: 'Sleep Log', publisher: 'Example GmbH', kind: 'confidential', redirectUris: 'https://sleep.example/cb', scope: 'openid patient/Observation.rs' });
    assert.equal(made.statusCode, 201);
    assert.equal(made.headers['cache-control'], 'no-store');
    const secret = /id="secret"[^>]*value="([^"]+)"/.exec(made.body)?.[1];
    assert.ok(secret !== undefined && secret.length >= 40, 'the secret is on the page');
    assert.ok(!t.logs.some((line) => line.includes(secret)), 'and never in the log');
    const list = await page(admin(), `${c}/apps/`);
    assert.match(list.body, /Sleep Log/);
    assert.ok(!list.body.includes(secret), 'never shown again');
    const rotated = await form(admin(), `${c}/apps/${clientId}/secret`);
    assert.equal(rotated.statusCode, 200);
    const second = /id="secret"[^>]*value="([^"]+)"/.exec(rotated.body)?.[1];
    assert.ok(second !== undefined && second !== secret);
    const event = (await t.app.audit.query('clinic', { count: 1, actions: ['app.changed'] }))[0];
    assert.equal(event?.detail, `app ${clientId} secret renewed`);
  });

  it('tenant A’s admin never sees tenant B’s people or apps', async () => {
    const staff = await page(admin(), `${c}/staff/`);
    const apps = await page(admin(), `${c}/apps/`);
    for (const body of [staff.body, apps.body]) {
      assert.doesNotMatch(body, /other\.example|Other Tenant Tool/);
      assert.ok(!body.includes(otherClientId));
    }
    assert.equal((await page(admin(), `${c}/staff/${otherAdmin.accountId}`)).statusCode, 404, 'another tenant’s account id is no account here');
    assert.equal((await page(admin(), `${c}/apps/${otherClientId}/disable`)).statusCode, 404);
    // Tenant A's session is no session in tenant B: to B's sign-in, never B's pages.
    for (const url of ['/tenants/other/console/staff/', '/tenants/other/console/apps/', '/tenants/other/console/settings/']) {
      const answer = await page(admin(), url);
      assert.equal(answer.statusCode, 303, url);
      assert.match(String(answer.headers.location), /^\/tenants\/other\/account\/sign-in/);
    }
    const posted = await form(admin(), '/tenants/other/console/settings/', { policy: 'optional' });
    assert.notEqual(posted.statusCode, 200);
    assert.equal(await t.app.tenants.mfaPolicy('other'), 'staff');
  });

  it('changing the policy is audited like PUT /settings/mfa; an unknown policy is refused', async () => {
    assert.equal((await form(admin(), `${c}/settings/`, { policy: 'sometimes' })).statusCode, 400);
    const saved = await form(admin(), `${c}/settings/`, { policy: 'everyone' });
    assert.equal(saved.statusCode, 303);
    assert.equal(await t.app.tenants.mfaPolicy('clinic'), 'everyone');
    const event = (await t.app.audit.query('clinic', { count: 1, actions: ['tenant.settings_changed'] }))[0];
    assert.equal(event?.detail, 'mfa everyone');
    assert.equal(event?.actor.id, `account:${admin().accountId}`);
  });

  it('a tenant admin without a second factor may look but is offered no change, and a forged one is refused', async () => {
    await t.app.tenants.setMfaPolicy('clinic', 'optional');
    const single = await signIn(t, 'clinic', 'tenant-admin', 'one-factor-admin@clinic.example');
    const staff = await page(single, `${c}/staff/`);
    assert.equal(staff.statusCode, 200);
    assert.match(staff.body, /changes need you signed in with a second factor/);
    assert.doesNotMatch(staff.body, /href="[^"]*\/staff\/invite"/);
    const person = await page(single, `${c}/staff/${staffId}`);
    assert.doesNotMatch(person.body, /<form method="post" action="[^"]*\/staff\//, 'no change form on a person’s page');
    const apps = await page(single, `${c}/apps/`);
    assert.doesNotMatch(apps.body, /\/apps\/register"|\/secret"|\/disable"/);
    const settings = await page(single, `${c}/settings/`);
    assert.doesNotMatch(settings.body, /name="policy"/);
    for (const url of [`${c}/staff/invite`, `${c}/apps/register`, `${c}/staff/${staffId}/disable`]) assert.equal((await page(single, url)).statusCode, 403, `GET ${url}`);
    const forged = await form(single, `${c}/settings/`, { policy: 'staff' });
    assert.equal(forged.statusCode, 403);
    assert.match(forged.body, /second factor/);
    assert.equal(await t.app.tenants.mfaPolicy('clinic'), 'optional');
  });
});
