import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';
import { tresor } from '../../support/cli.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
const email = 'Alexandra.Lindqvist@Nordklinik.example';
const good = 'seven hungry otters swim the fjord';

for (const engine of engines()) {
  describe(`accounts: invitation and first password (OWASP ASVS 5 V6.2, V6.4.1) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T09:00:00Z'));
    const setup = (body: unknown, tenant = 'clinic') => t.inject({ method: 'POST', url: `/tenants/${tenant}/auth/setup`, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

    before(async () => {
      t = await startTestApp(engine, {}, { clock: { now: () => (clock.advance(1), clock.now()) } });
      await t.tenant('clinic');
    });
    after(() => t.close());

    it('V6.4.1: an invited account has no password until its owner sets one with the single-use token, under the password policy', async () => {
      const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'tenant-admin', email, by: operator });
      assert.deepEqual([account.role, account.kind, account.status, account.email], ['tenant-admin', 'staff', 'invited', 'alexandra.lindqvist@nordklinik.example']);
      assert.match(setupToken, /^[A-Za-z0-9_-]{43}$/, '256 bits');

      // Refusals say why, in the problem+json shape, and leave the token usable.
      for (const [password, code] of [
        ['too short', 'password-too-short'],
        ['123456789qwerty', 'password-common'],
        ['Alexandra.Lindqvist@nordklinik.example', 'password-context'],
        ['nordklinik.example', 'password-context'],
      ] as const) {
        const refused = await setup({ token: setupToken, password });
        assert.equal(refused.statusCode, 422, password);
        assert.match(String(refused.headers['content-type']), /application\/problem\+json/);
        assert.equal(json(refused)['code'], code);
      }
      const done = await setup({ token: setupToken, password: good });
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual(json(done)['account'], { id: account.id, role: 'tenant-admin', status: 'active' });
      assert.equal((await setup({ token: setupToken, password: good })).statusCode, 400, 'the token works once');
      assert.equal(json(await setup({ token: setupToken, password: good }))['code'], 'token-invalid');

      const db = await t.app.storage.tenant('clinic');
      const row = (await db.query<{ password_hash: string; status: string }>(`SELECT password_hash, status FROM ${db.table('accounts')} WHERE id = ?`, [account.id]))[0];
      assert.match(row?.password_hash ?? '', /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      assert.equal(row?.status, 'active');
    });

    it('refuses expired, unknown and malformed setups alike, and a second account with the same email', async () => {
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'late@nordklinik.example', by: operator });
      clock.advance(72 * 3_600_000 + 1);
      const expired = await setup({ token: setupToken, password: good });
      const unknown = await setup({ token: 'x'.repeat(43), password: good });
      const otherTenant = await setup({ token: setupToken, password: good }, 'no-such-tenant');
      assert.deepEqual(
        [expired, unknown, otherTenant].map((r) => [r.statusCode, json(r)['code']]),
        [
          [400, 'token-invalid'],
          [400, 'token-invalid'],
          [400, 'token-invalid'],
        ],
        'one answer: nothing tells which tokens or tenants exist',
      );
      assert.equal(json(await setup({ token: setupToken }))['code'], 'body-invalid');
      await assert.rejects(t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'LATE@nordklinik.example', by: operator }), { code: 'account-exists' });
      await assert.rejects(t.app.accounts.invite({ tenantId: 'clinic', role: 'nurse', email: 'x@nordklinik.example', by: operator }), { code: 'role-invalid' });
      await assert.rejects(t.app.accounts.invite({ tenantId: 'clinic', role: 'patient', email: 'p@nordklinik.example', by: operator }), { code: 'role-invalid' }, 'a patient account names its Patient');
      await assert.rejects(t.app.accounts.invite({ tenantId: 'clinic', role: 'clinician', email: 'not-an-address', by: operator }), { code: 'email-invalid' });
      const patient = await t.app.accounts.invite({ tenantId: 'clinic', role: 'patient', email: 'p@nordklinik.example', patient: 'Patient/p-1', by: operator });
      assert.deepEqual([patient.account.kind, patient.account.patient], ['patient', 'Patient/p-1']);
    });

    it('keeps emails, passwords and tokens out of the database in clear, out of the audit trail and out of the logs', async () => {
      const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'auditor', email: 'quiet.auditor@nordklinik.example', by: operator });
      assert.equal((await setup({ token: setupToken, password: 'a very private passphrase indeed' })).statusCode, 200);
      const db = await t.app.storage.tenant('clinic');
      const rows = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('accounts')}`);
      const tokens = await db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('account_tokens')}`);
      const dump = [...rows, ...tokens].map((r) => Object.values(r).map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : String(v))).join('|')).join('\n');
      for (const secret of ['quiet.auditor', 'lindqvist', 'nordklinik', 'a very private passphrase', setupToken]) assert.ok(!dump.includes(secret), `the tables hold ${secret}`);
      const trail = JSON.stringify(await t.app.audit.query('clinic', { count: 1000 }));
      for (const secret of ['quiet.auditor', 'a very private passphrase', setupToken]) assert.ok(!trail.includes(secret), `the audit trail holds ${secret}`);
      assert.ok(trail.includes(`Account/${account.id}`));
      const actions = (await t.app.audit.query('clinic', { count: 1000, actions: ['account.created', 'auth.password_changed'] })).map((e) => e.action);
      assert.ok(actions.includes('account.created') && actions.includes('auth.password_changed'));
      const logs = t.logs.join('\n');
      for (const secret of ['a very private passphrase', setupToken, 'quiet.auditor']) assert.ok(!logs.includes(secret), `the logs hold ${secret}`);
      assert.equal((await t.app.accounts.get('clinic', account.id))?.email, 'quiet.auditor@nordklinik.example', 'the email opens for the tenant');
    });
  });
}

describe('tresor user create', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp('sqlite');
    await t.tenant('clinic');
  });
  after(() => t.close());

  it('creates an invited account and prints the one-time setup token as the last line', async () => {
    const out = tresor(['user', 'create', '--tenant', 'clinic', '--role', 'tenant-admin', '--email', 'first.admin@clinic.example', '--data-dir', t.dataDir]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /created account usr_[0-9a-f]{16} \(tenant-admin\) in tenant clinic for first\.admin@clinic\.example/);
    const token = out.stdout.trimEnd().split('\n').pop() as string;
    const done = await t.inject({ method: 'POST', url: '/tenants/clinic/auth/setup', body: JSON.stringify({ token, password: good }), headers: { 'content-type': 'application/json' } });
    assert.equal(done.statusCode, 200, done.body);
    assert.equal(tresor(['user', 'create', '--tenant', 'nowhere', '--role', 'clinician', '--email', 'a@b.example', '--data-dir', t.dataDir]).code, 2);
  });
});
