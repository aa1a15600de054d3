import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';
import { tresorHere } from '../../support/cli.js';
import { as, signInWithTotp, type Person } from '../../support/people.js';

const base = '/tenants/clinic';
const jsonBody = { 'content-type': 'application/json' };

/**
 * A tenant admin cannot reach patient records, and must not be able to grant itself that reach
 * alone: an app or an account whose reach exceeds the admin's own waits for a platform operator.
 */
for (const engine of engines()) {
  describe(`no privilege escalation through apps and invitations [${engine}]`, () => {
    let t: TestApp;
    let admin: Person;
    let serviceKey: string;
    let cliEnv: Record<string, string>;
    let alice: string;
    // The app's clock near the real one: the CLI (another core, the system clock) works on the same data.
    const clock = fixedClock(new Date());
    const now = () => clock.now().getTime();
    const by = (p: Person, method: string, url: string, body?: unknown) => as(t, p, { method, url, ...(body === undefined ? {} : { body, headers: jsonBody }) });
    const tokenFor = (clientId: string, secret: string): Promise<LightMyRequestResponse> =>
      t.app.http.inject({
        method: 'POST',
        url: `${base}/oauth/token`,
        headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/Observation.rs' }).toString(),
      });
    const outboxFor = async (accountId: string) => (await t.app.outbox.list('clinic')).filter((m) => m.accountId === accountId);

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      serviceKey = await t.tenant('clinic');
      admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'the.admin@clinic.example', now);
      cliEnv = { TRESOR_DATA_DIR: t.dataDir, ...(engine === 'postgres' ? { TRESOR_STORAGE: 'postgres', TRESOR_POSTGRES_URL: process.env['TRESOR_TEST_PG_URL'] as string, TRESOR_POSTGRES_SCHEMA_PREFIX: t.schemaPrefix } : {}) };
      const created = await t.inject({ method: 'POST', url: `${base}/fhir/Patient`, key: serviceKey, body: { resourceType: 'Patient', name: [{ family: 'Doe' }], telecom: [{ system: 'email', value: 'alice@home.example' }] } });
      alice = `Patient/${json(created)['id'] as string}`;
      await t.inject({ method: 'POST', url: `${base}/fhir/Observation`, key: serviceKey, body: { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: alice }, valueQuantity: { value: 72, unit: '/min' } } });
    });
    after(() => t.close());

    it('a backend app registered by a tenant admin is pending: its secret gets no token until a platform operator approves it', async () => {
      const registered = await by(admin, 'POST', `${base}/apps`, { name: 'Everything', publisher: 'Admin', kind: 'backend', role: 'service', scope: 'system/*.cruds' });
      assert.equal(registered.statusCode, 201, registered.body);
      const { app, clientSecret } = json(registered) as { app: { clientId: string; status: string }; clientSecret: string };
      assert.equal(app.status, 'pending');
      const refused = await tokenFor(app.clientId, clientSecret);
      assert.equal(refused.statusCode, 401, refused.body);
      assert.equal(json(refused)['error'], 'invalid_client');
      // Enabling is not approving.
      assert.equal(json(await by(admin, 'POST', `${base}/apps/${app.clientId}/enable`))['app']['status'], 'pending');
      assert.equal((await tokenFor(app.clientId, clientSecret)).statusCode, 401);

      const approved = await tresorHere(['client', 'approve', '--tenant', 'clinic', app.clientId], cliEnv);
      assert.equal(approved.code, 0, approved.stderr);
      const token = await tokenFor(app.clientId, clientSecret);
      assert.equal(token.statusCode, 200, token.body);
      const events = await t.app.audit.query('clinic', { count: 50 });
      const approval = events.find((e) => e.action === 'app.approved');
      assert.ok(approval !== undefined, 'the approval is audited');
      assert.match(approval.actor.id, /^cli:/, 'with the approver');
      assert.equal((await tresorHere(['client', 'approve', '--tenant', 'clinic', app.clientId], cliEnv)).code, 1, 'approved once');
    });

    it('an invitation that reaches records (a patient bound to a Patient, a clinician bound to a Practitioner) sends no setup link until a platform operator approves it', async () => {
      const invited = await by(admin, 'POST', `${base}/accounts`, { role: 'patient', email: 'admins.other.mailbox@evil.example', patient: alice });
      assert.equal(invited.statusCode, 201, invited.body);
      const account = json(invited)['account'] as { id: string; status: string };
      assert.equal(json(invited)['approval'], 'pending');
      assert.deepEqual(await outboxFor(account.id), [], 'no setup link leaves');
      const again = await by(admin, 'POST', `${base}/accounts/${account.id}/invite`);
      assert.equal(again.statusCode, 403);
      assert.equal(errorCode(again), 'approval-required');
      assert.deepEqual(await outboxFor(account.id), []);

      const clinician = await by(admin, 'POST', `${base}/accounts`, { role: 'clinician', email: 'fake.doctor@evil.example', practitioner: 'Practitioner/dr-lee' });
      assert.equal(clinician.statusCode, 201, clinician.body);
      assert.deepEqual(await outboxFor((json(clinician)['account'] as { id: string }).id), []);

      // A tenant admin may invite another tenant admin: the same reach, no approval.
      const deputy = await by(admin, 'POST', `${base}/accounts`, { role: 'tenant-admin', email: 'deputy@clinic.example' });
      assert.equal(deputy.statusCode, 201);
      assert.equal((await outboxFor((json(deputy)['account'] as { id: string }).id)).length, 1);

      const approved = await tresorHere(['user', 'approve', '--tenant', 'clinic', account.id], cliEnv);
      assert.equal(approved.code, 0, approved.stderr);
      assert.ok(!approved.stdout.includes('token'), 'the operator does not see the link either');
      assert.equal((await outboxFor(account.id)).length, 1, 'approved: the setup link is sent');
      const events = await t.app.audit.query('clinic', { count: 50 });
      assert.ok(events.some((e) => e.action === 'account.approved' && e.actor.id.startsWith('cli:')));
    });

    it('a role change or practitioner link that widens reach beyond the admin’s own needs an operator too', async () => {
      const secondHat = await by(admin, 'POST', `${base}/accounts`, { role: 'tenant-admin', email: 'second.hat@clinic.example' });
      const id = (json(secondHat)['account'] as { id: string }).id;
      const widened = await by(admin, 'PATCH', `${base}/accounts/${id}`, { role: 'clinician' });
      assert.equal(widened.statusCode, 403);
      assert.equal(errorCode(widened), 'approval-required');
      const linked = await by(admin, 'PATCH', `${base}/accounts/${id}`, { practitioner: 'Practitioner/dr-lee' });
      assert.equal(linked.statusCode, 403);
      assert.equal(errorCode(linked), 'approval-required');
      const denied = await t.app.audit.query('clinic', { count: 10, actions: ['access.denied'], actor: `account:${admin.accountId}` });
      assert.deepEqual(denied.filter((e) => e.resources[0] === `Account/${id}`).map((e) => e.detail), ['approval-required', 'approval-required'], 'each attempt is audited');
      const account = await t.app.accounts.get('clinic', id);
      assert.equal(account?.role, 'tenant-admin');
      assert.equal(account?.practitioner, undefined);
      const changed = await tresorHere(['user', 'update', '--tenant', 'clinic', id, '--role', 'clinician', '--practitioner', 'Practitioner/dr-lee'], cliEnv);
      assert.equal(changed.code, 0, changed.stderr);
      assert.equal((await t.app.accounts.get('clinic', id))?.role, 'clinician');
    });
  });
}
