import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateBackupKey } from '../../../src/backup/index.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { signInOperator, signInWithTotp, type Person } from '../../support/people.js';

/**
 * The operator console's pages, in process: each operator role reaches exactly the sections the
 * JSON routes give it (403 for the rest), a tenant's person — even a tenant-admin — never
 * reaches any of them (their session is of another realm), every form needs the session's CSRF
 * token, and each action goes through the same service and audit events as `/platform/…`.
 */

const pages = ['/platform/console/', '/platform/console/tenants/', '/platform/console/backups/', '/platform/console/keys/', '/platform/console/health/', '/platform/console/privacy/'] as const;

/** Who gets what: mirrors operator-routes.ts (`operator`) and backup/routes.ts (`backup-operator`). */
const expected: Record<'operator' | 'backup-operator', Record<(typeof pages)[number], 200 | 403>> = {
  operator: { '/platform/console/': 200, '/platform/console/tenants/': 200, '/platform/console/backups/': 403, '/platform/console/keys/': 200, '/platform/console/health/': 200, '/platform/console/privacy/': 200 },
  'backup-operator': { '/platform/console/': 200, '/platform/console/tenants/': 403, '/platform/console/backups/': 200, '/platform/console/keys/': 403, '/platform/console/health/': 403, '/platform/console/privacy/': 403 },
};

const forms: readonly { url: string; fields: Record<string, string> }[] = [
  { url: '/platform/console/tenants/', fields: { id: 'forged', name: 'Forged' } },
  { url: '/platform/console/tenants/clinic/mfa', fields: { policy: 'optional' } },
  { url: '/platform/console/tenants/clinic/disable', fields: {} },
];

for (const engine of engines()) {
describe(`operator console pages [${engine}]`, () => {
  let t: TestApp;
  let repository: string;
  let ops: Person;
  let backupOps: Person;
  let admin: Person;
  let snapshot = '';
  const now = () => Date.now();

  before(async () => {
    repository = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
    t = await startTestApp(engine, { backup: { repository, key: generateBackupKey(), schedule: false } }, { clock: { now: () => new Date() } });
    await t.tenant('clinic');
    await t.tenant('other');
    ops = await signInOperator(t, 'operator', 'ops@hosting.example', now);
    backupOps = await signInOperator(t, 'backup-operator', 'backups@hosting.example', now);
    admin = await signInWithTotp(t, 'clinic', 'tenant-admin', 'admin@clinic.example', now);
    const run = await t.app.http.inject({ method: 'POST', url: '/platform/backups', headers: { cookie: backupOps.cookie, 'x-csrf-token': backupOps.csrf, 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(run.statusCode, 201, run.body);
    snapshot = (JSON.parse(run.body) as { id: string }).id;
  });
  after(async () => {
    await t?.close();
    rmSync(repository, { recursive: true, force: true });
  });

  const get = (url: string, who?: Person) => t.app.http.inject({ method: 'GET', url, headers: who === undefined ? {} : { cookie: who.cookie } });
  /** `csrf`: the session's token unless given; null sends none. */
  const post = (url: string, fields: Record<string, string>, who?: Person, given?: string | null) => {
    const csrf = given === undefined ? who?.csrf : (given ?? undefined);
    return t.app.http.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(who === undefined ? {} : { cookie: who.cookie }) },
      payload: new URLSearchParams({ ...fields, ...(csrf === undefined ? {} : { csrf }) }).toString(),
    });
  };
  const trail = async (realm: string) => (await t.app.audit.query(realm, { count: 200 })).map((e) => `${e.action} ${e.actor.id}`);

  it('each operator role reaches exactly its sections, and is offered only those', async () => {
    for (const [role, who] of [['operator', ops], ['backup-operator', backupOps]] as const) {
      for (const page of pages) {
        const response = await get(page, who);
        assert.equal(response.statusCode, expected[role][page], `${role} → ${page}`);
        assert.match(String(response.headers['content-type']), /text\/html/);
        assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
      }
      const home = await get('/platform/console/', who);
      for (const page of pages.slice(1)) {
        const offered = home.body.includes(`href="${page}"`);
        assert.equal(offered, expected[role][page] === 200, `${role}: ${page} is ${expected[role][page] === 200 ? '' : 'not '}offered`);
      }
    }
  });

  it('sends a caller without an operator session to the operators’ sign-in — a tenant-admin too', async () => {
    for (const page of pages) {
      const anonymous = await get(page);
      assert.equal(anonymous.statusCode, 303, page);
      assert.equal(anonymous.headers.location, `/platform/account/sign-in?next=${encodeURIComponent(page)}`);
      const tenantAdmin = await get(page, admin);
      assert.equal(tenantAdmin.statusCode, 303, `a tenant-admin's session is of another realm: ${page}`);
      assert.match(String(tenantAdmin.headers.location), /^\/platform\/account\/sign-in/);
    }
    for (const form of forms) {
      const tried = await post(form.url, form.fields, admin);
      assert.equal(tried.statusCode, 303, `tenant-admin POST ${form.url}`);
      assert.match(String(tried.headers.location), /^\/platform\/account\/sign-in$/);
    }
    assert.equal(await t.app.tenants.get('forged'), undefined);
    assert.equal((await t.app.tenants.get('clinic'))?.status, 'active');
    const bearer = await t.app.http.inject({ method: 'GET', url: '/platform/console/tenants/', headers: { authorization: `Bearer ${await t.key('clinic', 'service')}` } });
    assert.equal(bearer.statusCode, 400, 'a page never takes a bearer credential');
  });

  it('refuses every form without the session’s CSRF token, and a backup operator’s tenant forms', async () => {
    for (const form of forms) {
      for (const csrf of [null, 'not-the-token']) {
        const refused = await post(form.url, form.fields, ops, csrf);
        assert.equal(refused.statusCode, 403, `POST ${form.url} with csrf ${String(csrf)}: ${String(refused.headers.location)}`);
        assert.match(refused.body, /role="alert"|<h1>/);
      }
      const wrongRole = await post(form.url, form.fields, backupOps);
      assert.equal(wrongRole.statusCode, 403, `backup-operator POST ${form.url}`);
    }
    const restore = await post(`/platform/console/backups/${snapshot}/restore`, { tenant: 'clinic', confirm: 'clinic' }, ops);
    assert.equal(restore.statusCode, 403, 'an operator does not restore');
    const forged = await post(`/platform/console/backups/${snapshot}/restore`, { tenant: 'clinic', confirm: 'clinic' }, backupOps, 'not-the-token');
    assert.equal(forged.statusCode, 403);
    assert.equal(await t.app.tenants.get('forged'), undefined);
    assert.equal((await t.app.tenants.get('clinic'))?.mfaPolicy, 'staff');
    assert.equal((await t.app.tenants.get('clinic'))?.status, 'active');
  });

  it('creates a tenant, sets its policy and disables it, with the audit events of /platform/tenants', async () => {
    const listed = await get('/platform/console/tenants/', ops);
    assert.match(listed.body, /<th scope="row">clinic<\/th>/);
    assert.ok((await trail('operators')).includes(`tenant.listed operator:${ops.accountId}`), 'the listing is in the operators’ trail');

    const created = await post('/platform/console/tenants/', { id: 'berlin', name: 'Praxis Berlin' }, ops);
    assert.equal(created.statusCode, 303, created.body);
    assert.equal(created.headers.location, '/platform/console/tenants/?created=berlin');
    assert.equal((await t.app.tenants.get('berlin'))?.name, 'Praxis Berlin');
    const after = await get(String(created.headers.location), ops);
    assert.match(after.body, /role="status">Tenant created: berlin/);
    for (const realm of ['operators', 'berlin']) assert.ok((await trail(realm)).includes(`tenant.created operator:${ops.accountId}`), `tenant.created in the ${realm} trail`);

    const invalid = await post('/platform/console/tenants/', { id: 'Not Valid!', name: '<script>x</script>' }, ops);
    assert.equal(invalid.statusCode, 400);
    assert.match(invalid.body, /role="alert"/);
    assert.match(invalid.body, /id="tenant-id"[^>]*aria-describedby="tenant-id-hint page-error"/);
    assert.match(invalid.body, /value="&#60;script&#62;x&#60;\/script&#62;"/, 'what was typed comes back, escaped');
    const duplicate = await post('/platform/console/tenants/', { id: 'berlin', name: '' }, ops);
    assert.equal(duplicate.statusCode, 409);

    const policy = await post('/platform/console/tenants/berlin/mfa', { policy: 'everyone' }, ops);
    assert.equal(policy.statusCode, 303);
    assert.equal((await t.app.tenants.get('berlin'))?.mfaPolicy, 'everyone');
    assert.ok((await trail('berlin')).includes(`tenant.settings_changed operator:${ops.accountId}`));
    assert.equal((await post('/platform/console/tenants/berlin/mfa', { policy: 'nobody' }, ops)).statusCode, 400);
    assert.equal((await post('/platform/console/tenants/nowhere/mfa', { policy: 'staff' }, ops)).statusCode, 404);

    const confirm = await get('/platform/console/tenants/berlin/disable', ops);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Disable this tenant/);
    assert.equal((await t.app.tenants.get('berlin'))?.status, 'active', 'the confirmation page changes nothing');
    const disabled = await post('/platform/console/tenants/berlin/disable', {}, ops);
    assert.equal(disabled.statusCode, 303);
    assert.equal((await t.app.tenants.get('berlin'))?.status, 'disabled');
    assert.ok((await trail('operators')).includes(`tenant.disabled operator:${ops.accountId}`));
  });

  it('shows the snapshots and restores one tenant only when its id is typed', async () => {
    const page = await get('/platform/console/backups/', backupOps);
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(snapshot), 'the snapshot is listed');
    assert.match(page.body, /Recovery time \(RTO\)/);
    assert.ok((await trail('operators')).includes(`backup.listed operator:${backupOps.accountId}`), 'the listing is audited as GET /platform/backups audits it');

    const confirm = await get(`/platform/console/backups/${snapshot}/restore`, backupOps);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /<option value="clinic"/);
    assert.equal((await get('/platform/console/backups/2020-01-01t00-00-00-000z-000000/restore', backupOps)).statusCode, 404);
    assert.equal((await get('/platform/console/backups/..%2F..%2Fetc/restore', backupOps)).statusCode, 404);

    const before = (await trail('clinic')).filter((e) => e.startsWith('backup.restored')).length;
    const mismatch = await post(`/platform/console/backups/${snapshot}/restore`, { tenant: 'clinic', confirm: 'other' }, backupOps);
    assert.equal(mismatch.statusCode, 400);
    assert.match(mismatch.body, /id="restore-confirm"[^>]*aria-describedby="restore-confirm-hint page-error"/);
    assert.equal((await trail('clinic')).filter((e) => e.startsWith('backup.restored')).length, before, 'nothing restored');

    const restored = await post(`/platform/console/backups/${snapshot}/restore`, { tenant: 'clinic', confirm: 'clinic' }, backupOps);
    assert.equal(restored.statusCode, 303, restored.body);
    const location = String(restored.headers.location);
    assert.match(location, new RegExp(`^/platform/console/backups/\\?restored=clinic&from=${snapshot}&kept=`));
    assert.ok((await trail('clinic')).filter((e) => e.startsWith('backup.restored')).length > before, 'the restore is in the tenant’s trail');
    const notice = await get(location, backupOps);
    assert.match(notice.body, /role="status">Tenant clinic restored to snapshot/);
  });

  it('shows key versions, rotations and health from the services, not from HTTP', async () => {
    const rotated = await t.app.rotation.start('tenant', 'clinic');
    await t.app.rotation.run(rotated.job.id);
    const keys = await get('/platform/console/keys/', ops);
    assert.equal(keys.statusCode, 200);
    assert.match(keys.body, /<th scope="row">clinic<\/th>/);
    assert.match(keys.body, /<progress max="100" value="100"/, 'the finished rotation at 100 %');
    assert.doesNotMatch(keys.body, /BEGIN|[A-Za-z0-9+/]{43}=/, 'no key material');
    const health = await get('/platform/console/health/', ops);
    assert.equal(health.statusCode, 200);
    assert.match(health.body, /<strong>ready<\/strong>/);
    assert.match(health.body, /tresor_backup_last_snapshot_timestamp_seconds/);
    if (engine === 'sqlite') assert.doesNotMatch(health.body, /tresor_postgres_/, 'no replication section on SQLite');
    else assert.match(health.body, /<dd>postgres<\/dd>/);
    const german = await t.app.http.inject({ method: 'GET', url: '/platform/console/health/?lang=de', headers: { cookie: ops.cookie } });
    assert.match(german.body, /<h1>Zustand<\/h1>/);
  });

  it('says plainly when no backup repository is configured', async () => {
    const bare = await startTestApp(engine, {}, { clock: { now: () => new Date() } });
    try {
      const who = await signInOperator(bare, 'backup-operator', 'backups@hosting.example', now);
      const page = await bare.app.http.inject({ method: 'GET', url: '/platform/console/backups/', headers: { cookie: who.cookie } });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /role="alert"><strong>No backup repository is configured\.<\/strong>/);
    } finally {
      await bare.close();
    }
  });
});
}
