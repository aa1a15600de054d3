import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { tresor } from '../../support/cli.js';
import { signIn } from '../../support/people.js';

const password = 'seven hungry otters swim the fjord';
const email = 'ops.lead@tresor-hosting.example';

for (const engine of engines()) {
  describe(`platform operators: separate from tenants, always two factors (SPEC I1, I7; OWASP ASVS 5 V6.3.3, V8.4.1) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T12:00:10Z'));
    let cookie = '';
    let csrf = '';
    const call = (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) =>
      t.inject({ method, url, ...(body === undefined ? {} : { body: JSON.stringify(body) }), headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf, ...headers } });

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
    });
    after(() => t.close());

    it('an operator is invited in its own realm, never as a tenant member; the realm cannot be taken by a tenant', async () => {
      await assert.rejects(t.app.accounts.invite({ tenantId: 'operators', role: 'tenant-admin', email: 'x@y.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } }), /roles operator and backup-operator/);
      await assert.rejects(t.app.accounts.invite({ tenantId: 'clinic', role: 'operator', email: 'x@y.example', by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } }), /Unknown role/);
      await assert.rejects(t.app.tenants.create('operators'), /reserved/);
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role: 'operator', email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
      const setup = await call('POST', '/platform/auth/setup', { token: setupToken, password });
      assert.equal(setup.statusCode, 200, setup.body);
    });

    it('V6.3.3: the first sign-in gives a session that can only enrol a second factor; after enrolling, tenants can be run', async () => {
      const login = await call('POST', '/platform/auth/login', { email, password });
      assert.equal(login.statusCode, 200, login.body);
      assert.equal(json(login)['secondFactorEnrolmentRequired'], true);
      cookie = String(login.headers['set-cookie']).split(';')[0] as string;
      csrf = json(login)['csrfToken'];
      const early = await call('GET', '/platform/tenants');
      assert.equal(early.statusCode, 403);
      assert.equal(errorCode(early), 'second-factor-required');

      const offered = await call('POST', '/platform/auth/totp', { password });
      assert.equal(offered.statusCode, 200, offered.body);
      const secret = json(offered)['secret'] as string;
      const confirmed = await call('POST', '/platform/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(clock.now().getTime() / 1000) }) });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      cookie = String(confirmed.headers['set-cookie']).split(';')[0] as string;
      csrf = json(confirmed)['csrfToken'];

      const listed = await call('GET', '/platform/tenants');
      assert.equal(listed.statusCode, 200, listed.body);
      assert.deepEqual(json(listed)['tenants'].map((x: { id: string }) => x.id), ['clinic'], 'the realm is not a tenant');
      const created = await call('POST', '/platform/tenants', { id: 'clinic-two', name: 'Clinic Two' });
      assert.equal(created.statusCode, 201, created.body);
      const policy = await call('PUT', '/platform/tenants/clinic-two/settings/mfa', { policy: 'everyone' });
      assert.equal(json(policy)['mfaPolicy'], 'everyone');
      const bad = await call('PUT', '/platform/tenants/clinic-two/settings/mfa', { policy: 'sometimes' });
      assert.equal(bad.statusCode, 400);
      assert.equal((await call('POST', '/platform/tenants/clinic-two/disable', {})).statusCode, 200);
      assert.equal((await call('POST', '/platform/tenants', { id: 'no-csrf' }, { 'x-csrf-token': 'wrong' })).statusCode, 403, 'changes need the CSRF token');

      // Both trails: the operators' (who) and the tenant's (what happened to it).
      const mine = await t.app.audit.query('operators', { count: 20 });
      assert.deepEqual(
        mine.filter((e) => e.actor.role === 'operator' && e.actor.id.startsWith('operator:')).map((e) => e.action).reverse(),
        ['tenant.listed', 'tenant.created', 'tenant.settings_changed', 'tenant.disabled'],
      );
      const theirs = await t.app.audit.query('clinic-two', { count: 20 });
      assert.deepEqual(theirs.map((e) => e.action).reverse(), ['tenant.created', 'tenant.settings_changed', 'tenant.disabled']);
      assert.equal((await t.app.audit.verify('operators')).findings.length, 0);
    });

    it('V8.4.1: an operator reaches no tenant’s records or people, and no tenant credential reaches the platform', async () => {
      assert.equal((await call('GET', '/tenants/clinic/fhir/Patient')).statusCode, 401, 'an operator session is nothing at a tenant');
      assert.equal((await call('GET', '/tenants/clinic/accounts')).statusCode, 401);
      const key = await t.key('clinic', 'tenant-admin');
      assert.equal((await t.inject({ method: 'GET', url: '/platform/tenants', key })).statusCode, 401, 'an API key is not an operator');
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      const admin = await signIn(t, 'clinic', 'tenant-admin', 'admin@clinic.example');
      const asAdmin = await t.inject({ method: 'GET', url: '/platform/tenants', headers: { cookie: admin.cookie } });
      assert.equal(asAdmin.statusCode, 401, 'a tenant session is not an operator session');
    });

    it('tresor operator create prints the setup token as the last line', { skip: engine !== 'sqlite' && 'the CLI is checked once, on SQLite' }, async () => {
      const out = tresor(['operator', 'create', '--email', 'night.shift@tresor-hosting.example', '--data-dir', t.dataDir]);
      assert.equal(out.code, 0, out.stderr);
      const token = out.stdout.trimEnd().split('\n').pop() as string;
      const setup = await t.inject({ method: 'POST', url: '/platform/auth/setup', body: JSON.stringify({ token, password }), headers: { 'content-type': 'application/json' } });
      assert.equal(setup.statusCode, 200, setup.body);
    });
  });
}
