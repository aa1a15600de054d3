import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startOAuthApp, type OAuthTestApp } from '../../support/oauth.js';
import { get, makeClinic, postForm, roles, type Clinic, type Role } from './clinic-records-fixture.js';

/**
 * Every route the clinic console serves — read from the server's own route table, so a page
 * added later without an entry below fails this test — against who may use it, written out
 * here by hand and independently of the permission matrix the pages consult. Each role not
 * listed for a route gets 403 on a GET and on a form's POST (with a valid CSRF token, so the
 * refusal is the role's, not the form's); a patient is sent to the portal from the overview.
 */
const mayUse: ReadonlyArray<readonly [RegExp, readonly Role[]]> = [
  [/^\/tenants\/:tenant\/console\/$/, ['tenant-admin', 'clinician', 'front-desk', 'billing', 'auditor']],
  [/^\/tenants\/:tenant\/console\/staff\//, ['tenant-admin']],
  [/^\/tenants\/:tenant\/console\/apps\//, ['tenant-admin']],
  [/^\/tenants\/:tenant\/console\/settings\//, ['tenant-admin']],
  [/^\/tenants\/:tenant\/console\/patients\/:id\/break-glass$/, ['clinician']],
  // A patient's personal download, prepared for them by staff handling their request (privacy:manage).
  [/^\/tenants\/:tenant\/console\/patients\/:id\/data-download$/, ['tenant-admin', 'front-desk']],
  [/^\/tenants\/:tenant\/console\/patients\//, ['clinician', 'front-desk']],
  [/^\/tenants\/:tenant\/console\/audit\//, ['auditor']],
  [/^\/tenants\/:tenant\/console\/review\//, ['auditor']],
  [/^\/tenants\/:tenant\/console\/alerts\//, ['tenant-admin', 'auditor']],
  // Records of processing (GDPR Art. 30): the admins' (privacy:manage) and the auditors' (audit:read).
  [/^\/tenants\/:tenant\/console\/privacy\/$/, ['tenant-admin', 'auditor']],
  // Incidents that affect the clinic: read by its admins and auditors; opening one, notes, tasks,
  // states and the breach scope's patient list are the admins' (incidents:manage).
  [/^\/tenants\/:tenant\/console\/incidents\/(:id)?$/, ['tenant-admin', 'auditor']],
  // The notification checklist of an incident: read (notification:read) by admins and auditors; only operators change it.
  [/^\/tenants\/:tenant\/console\/incidents\/:id\/assessment$/, ['tenant-admin', 'auditor']],
  [/^\/tenants\/:tenant\/console\/incidents\//, ['tenant-admin']],
  // Data subjects' requests (GDPR Art. 15–21): handled by the admins and the front desk (privacy:manage).
  [/^\/tenants\/:tenant\/console\/requests\//, ['tenant-admin', 'front-desk']],
  // Erasure, legal holds and retention (privacy:erase): the tenant's admins.
  [/^\/tenants\/:tenant\/console\/erasure\//, ['tenant-admin']],
  // Restriction of processing (GDPR Art. 18, privacy:restrict): the tenant's admins.
  [/^\/tenants\/:tenant\/console\/restrictions\//, ['tenant-admin']],
];

/** The server's routes as `METHOD path`, from Fastify's route tree (each line one segment, nested by indentation). */
function routesOf(tree: string): Array<{ method: string; path: string }> {
  const stack: string[] = [];
  const found: Array<{ method: string; path: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = (match[1] as string).length / 4;
    const segment = match[2] as string;
    const path = (depth === 0 ? '' : (stack[depth - 1] ?? '')) + (depth === 0 && !segment.startsWith('/') ? `/${segment}` : segment);
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(', ').filter((m) => m === 'GET' || m === 'POST')) found.push({ method, path: path.startsWith('/') ? path : `/${path}` });
  }
  return found;
}

describe('every clinic console route against an independent table of who may use it [sqlite]', () => {
  let t: OAuthTestApp;
  let clinic: Clinic;

  before(async () => {
    t = await startOAuthApp('sqlite');
    clinic = await makeClinic(t, 'clinic', 'r', 'Mustermann');
  });
  after(async () => t.close());

  it('finds the console in the route table, and every console route has an entry in the table above', () => {
    const console = routesOf(t.app.http.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/tenants/:tenant/console/'));
    assert.ok(console.length >= 20, `the route table lists the console's pages and forms (found ${console.length})`);
    const unlisted = console.filter((r) => !mayUse.some(([pattern]) => pattern.test(r.path)));
    assert.deepEqual(unlisted, [], 'a console route nobody decided on: add it to the table');
  });

  it('refuses each route to every role not listed for it (403), on GET and on the form POST', async () => {
    const console = routesOf(t.app.http.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/tenants/:tenant/console/'));
    const wrong: string[] = [];
    let checked = 0;
    for (const route of console) {
      const allowed = mayUse.find(([pattern]) => pattern.test(route.path))?.[1] ?? [];
      const url = route.path.replace(':tenant', clinic.tenantId).replace(/:id\b/g, route.path.includes('/patients/') ? clinic.inCare : route.path.includes('/review/') ? '1' : 'usr_0000000000000000');
      for (const role of roles) {
        if (allowed.includes(role)) continue;
        const who = clinic.people[role];
        const answer = route.method === 'GET' ? await get(t, who, url) : await postForm(t, who, url, {});
        checked += 1;
        const expected = role === 'patient' && route.path === '/tenants/:tenant/console/' ? 303 : 403;
        if (answer.statusCode !== expected) wrong.push(`${route.method} ${url} as ${role}: ${answer.statusCode}, expected ${expected}`);
      }
    }
    assert.ok(checked > 60, `refusals checked: ${checked}`);
    assert.deepEqual(wrong, [], 'every refusal is a 403');
  });

  it('the patient portal (/me/…): every route is the patient’s own; staff are sent to the console, on GET and on a form POST', async () => {
    const portal = routesOf(t.app.http.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/tenants/:tenant/me/'));
    assert.ok(portal.some((r) => r.path === '/tenants/:tenant/me/consents' && r.method === 'POST'), 'My consents is in the route table');
    const wrong: string[] = [];
    for (const route of portal) {
      const url = route.path.replace(':tenant', clinic.tenantId).replace(/:id\b/g, 'c-0');
      for (const role of roles) {
        const who = clinic.people[role];
        const answer = route.method === 'GET' ? await get(t, who, url) : await postForm(t, who, url, {});
        const sentToConsole = answer.statusCode === 303 && String(answer.headers.location).endsWith('/console/');
        if (role !== 'patient' && !sentToConsole) wrong.push(`${route.method} ${url} as ${role}: ${answer.statusCode} ${String(answer.headers.location)}`);
        // A made-up id (`c-0`) is nobody's: 404, as for another patient's.
        const fine = answer.statusCode === 200 || (route.path.includes(':id') && answer.statusCode === 404);
        if (role === 'patient' && route.method === 'GET' && !fine) wrong.push(`${route.method} ${url} as patient: ${answer.statusCode}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("never serves another tenant's console to a session of this one", async () => {
    await t.tenant('other');
    const console = routesOf(t.app.http.printRoutes({ commonPrefix: false })).filter((r) => r.method === 'GET' && r.path.startsWith('/tenants/:tenant/console/') && !r.path.includes(':id'));
    for (const route of console) {
      const answer = await get(t, clinic.people['tenant-admin'], route.path.replace(':tenant', 'other'));
      assert.ok(answer.statusCode === 303 || answer.statusCode === 401 || answer.statusCode === 403, `${route.path} of tenant "other" with clinic's admin session: ${answer.statusCode}`);
      assert.doesNotMatch(answer.body, /r-tenant-admin@example\.org|Mustermann/, 'nothing of either tenant on the answer');
    }
  });
});
