import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { Browser, isPage } from '../../support/browser.js';
import { tresorHere } from '../../support/cli.js';
import { errorCode, json, observation, patient, type EngineName, type TestApp } from '../../support/harness.js';
import { redirectUri, registerApp, person as personWithPassword } from '../../support/oauth.js';
import { as, signIn, signInOperator, signInWithTotp, testPassword, type Person } from '../../support/people.js';

/**
 * How each detection rule's condition is caused in the per-rule delivery proof
 * (delivery-per-rule.test.ts): the attack as a real client sends it — over HTTP through the whole
 * server (`inject()`), the operator's CLI beside the running server — or, for what no request can
 * cause, the real condition (a failing backup repository, a short-lived certificate, a changed
 * file under the install tree, the probe's own reading of the database). The same patterns as the
 * rule flows (sign-in-rules, access-rules, change-rules, integrity-rules, platform-rules), in one
 * tenant, one after another, each against subjects of its own so that alerts do not join.
 */

/** Thresholds lowered so that one tenant's short replay crosses them (the defaults need hundreds of requests). */
export const proofThresholds = {
  'auth.password-spraying': { accounts: 4 },
  // Realm-wide: the brute force and spraying before it fail from 2 addresses, this one from 9;
  // the tenant's own sign-ins of the set-up count as successes, hence the ratio.
  'auth.credential-stuffing': { failures: 8, sources: 8, accounts: 8, maxSuccessRatio: 0.9 },
  'auth.client-auth-burst': { failures: 5 },
  'access.mass-read': { patients: 5, servicePatients: 8 },
  'access.bulk-volume': { resources: 6, serviceResources: 50 },
  'access.denied-burst': { denials: 3 },
  // Any real disk is less than 100 % free: the probe's reading of the data directory's disk crosses it.
  'platform.disk-space': { warnFreePercent: 100 },
};

export const tenant = 'clinic';
export const rival = 'rival';
const fhir = `/tenants/${tenant}/fhir`;
const jsonHeaders = { 'content-type': 'application/json' };
const cliOperator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };

/** What a trigger works with: the app, its clock, the tenant's admin, records made in the set-up. */
export interface ProofContext {
  readonly t: TestApp;
  readonly engine: EngineName;
  /** `server.publicUrl`: the OAuth issuer and the links in alerts start with it. */
  readonly publicUrl: string;
  /** The app's clock now (ms), without moving it. */
  now(): number;
  /** Moves the app's clock on. */
  advance(ms: number): void;
  readonly admin: Person;
  readonly serviceKey: string;
  readonly patients: readonly string[];
  readonly practitioner: string;
  /** The install tree the file integrity check watches. */
  readonly installDir: string;
  /** A config file for the CLI beside the server (PostgreSQL's schemas are reached only through one). */
  readonly cliArgs: readonly string[];
  /**
   * What the attacks typed or read — passwords, keys, tokens, codes, reasons, record contents:
   * none may appear in an alert's mail or webhook. Triggers add what they send.
   */
  readonly secrets: string[];
  /** A name no earlier trigger used (accounts, so that alerts do not join). */
  unique(prefix: string): string;
}

export interface Trigger {
  /** Whose alert it is: the tenant's (mailed to its admins) or the platform's (mailed to the operators). */
  readonly realm: 'tenant' | 'platform';
  /**
   * Only on this engine, with the reason the condition cannot exist on the other one. The
   * completeness test accepts an engine-bound entry only with its reason.
   */
  readonly only?: { readonly engine: EngineName; readonly reason: string };
  /** Causes the condition; the test then evaluates, and finds the alert, its webhook and its mail. */
  run(ctx: ProofContext): Promise<void>;
}

const post = (ctx: ProofContext, url: string, body: unknown, remoteAddress = '127.0.0.1') =>
  ctx.t.app.http.inject({ method: 'POST', url, remoteAddress, headers: jsonHeaders, payload: JSON.stringify(body) });
const login = (ctx: ProofContext, email: string, password: string, remoteAddress?: string) => post(ctx, `/tenants/${tenant}/auth/login`, { email, password }, remoteAddress);
const byAdmin = (ctx: ProofContext, method: string, url: string, body?: unknown) => as(ctx.t, ctx.admin, { method, url: `/tenants/${tenant}${url}`, ...(body === undefined ? {} : { body, headers: jsonHeaders }) });
const email = (ctx: ProofContext, prefix: string) => `${ctx.unique(prefix)}@clinic.example`;

async function createRecord(ctx: ProofContext, type: string, body: unknown): Promise<string> {
  const response = await ctx.t.inject({ method: 'POST', url: `${fhir}/${type}`, key: ctx.serviceKey, body });
  assert.equal(response.statusCode, 201, response.body);
  return json(response)['id'] as string;
}

async function cli(ctx: ProofContext, args: string[]): Promise<string> {
  const run = await tresorHere([...args, ...ctx.cliArgs]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.trimEnd().split('\n').pop() ?? '';
}

/** The Fetch API over `inject()`: a client's requests through the whole server, without a socket (the app serves TLS). */
export function injectFetch(t: TestApp): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => void (headers[name] = value));
    const raw = init.body;
    const payload = raw === undefined || raw === null ? undefined : typeof raw === 'string' ? raw : raw instanceof URLSearchParams ? raw.toString() : Buffer.from(raw as ArrayBuffer);
    if (raw instanceof URLSearchParams) headers['content-type'] ??= 'application/x-www-form-urlencoded';
    const answer = await t.app.http.inject({ method: (init.method ?? 'GET') as 'GET', url: `${url.pathname}${url.search}`, headers: { ...headers, host: url.host }, ...(payload === undefined ? {} : { payload }) });
    const out = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [String(value)]) out.append(name, one);
    }
    return new Response([101, 204, 205, 304].includes(answer.statusCode) ? null : answer.rawPayload, { status: answer.statusCode, headers: out });
  }) as typeof fetch;
}

/** Waits for `check` (real time: a background job), failing with `what` after `ms`. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * One entry per rule of src/detection/rules/index.ts, in the order they run (the completeness
 * test fails when a rule has none: a new rule brings its proof). Sign-in first, the tenant's
 * after-hours read last among the tenant's (it moves the clock past working hours), then the platform's.
 */
export const triggers: Readonly<Record<string, Trigger>> = {
  'auth.brute-force': {
    realm: 'tenant',
    async run(ctx) {
      const address = email(ctx, 'victim');
      await signIn(ctx.t, tenant, 'clinician', address);
      // What was typed: the guesses, and the address (an alert names the account by its id).
      ctx.secrets.push('guess number', address);
      // Five wrong passwords, then five more into the throttle (refused before any password work, recorded).
      for (let i = 0; i < 10; i += 1) assert.ok([401, 429].includes((await login(ctx, address, `guess number ${i}`, '198.51.100.10')).statusCode));
    },
  },
  'auth.password-spraying': {
    realm: 'tenant',
    async run(ctx) {
      const known = [email(ctx, 'erin'), email(ctx, 'finn')];
      for (const address of known) await signIn(ctx.t, tenant, 'clinician', address);
      const typed = [...known, email(ctx, 'nobody'), email(ctx, 'ghost')];
      // Unknown addresses are counted by pseudonym: no typed address reaches an alert.
      ctx.secrets.push('Summer2026!', ...typed);
      for (const address of typed) assert.equal((await login(ctx, address, 'Summer2026!', '198.51.100.20')).statusCode, 401);
    },
  },
  'auth.credential-stuffing': {
    realm: 'tenant',
    async run(ctx) {
      ctx.secrets.push('leaked-password-', '@mail.example');
      for (let i = 0; i < 9; i += 1) assert.equal((await login(ctx, `${ctx.unique('leaked')}@mail.example`, `leaked-password-${i}`, `203.0.113.${30 + i}`)).statusCode, 401);
    },
  },
  'auth.client-auth-burst': {
    realm: 'tenant',
    async run(ctx) {
      const wrongKey = (i: number) => `tresor_sk_${'0'.repeat(15)}${i}_${'A'.repeat(43)}`;
      ctx.secrets.push('A'.repeat(43));
      for (let i = 0; i < 5; i += 1) {
        const answer = await ctx.t.app.http.inject({ method: 'GET', url: `${fhir}/Patient`, remoteAddress: '203.0.113.50', headers: { authorization: `Bearer ${wrongKey(i)}` } });
        assert.equal(answer.statusCode, 401);
      }
    },
  },
  'auth.new-source': {
    realm: 'tenant',
    async run(ctx) {
      const address = email(ctx, 'dora');
      await signIn(ctx.t, tenant, 'clinician', address);
      assert.equal((await login(ctx, address, testPassword, '198.51.100.77')).statusCode, 200);
    },
  },
  'access.mass-read': {
    realm: 'tenant',
    async run(ctx) {
      const walker = await signIn(ctx.t, tenant, 'front-desk', email(ctx, 'walker'));
      for (const id of ctx.patients.slice(0, 7)) assert.equal((await as(ctx.t, walker, { method: 'GET', url: `${fhir}/Patient/${id}` })).statusCode, 200);
    },
  },
  'access.bulk-volume': {
    realm: 'tenant',
    async run(ctx) {
      const puller = await signIn(ctx.t, tenant, 'front-desk', email(ctx, 'puller'));
      assert.equal(json(await as(ctx.t, puller, { method: 'GET', url: `${fhir}/Patient?_count=100` }))['entry'].length, ctx.patients.length);
    },
  },
  'access.emergency': {
    realm: 'tenant',
    async run(ctx) {
      const dr = await signIn(ctx.t, tenant, 'clinician', email(ctx, 'dr'), { practitioner: `Practitioner/${ctx.practitioner}` });
      const stranger = await createRecord(ctx, 'Patient', patient({ name: [{ family: 'Fremdling' }] }));
      const vitals = await createRecord(ctx, 'Observation', observation(stranger));
      const reason = 'Unconscious in the emergency room; suspected hypoglycaemia';
      ctx.secrets.push('Fremdling', 'hypoglycaemia');
      assert.equal((await as(ctx.t, dr, { method: 'GET', url: `${fhir}/Observation/${vitals}`, headers: { 'x-break-glass-reason': reason } })).statusCode, 200);
    },
  },
  'access.denied-burst': {
    realm: 'tenant',
    async run(ctx) {
      const prober = await signIn(ctx.t, tenant, 'front-desk', email(ctx, 'prober'));
      const obs = await createRecord(ctx, 'Observation', observation(ctx.patients[1] as string));
      for (let i = 0; i < 4; i += 1) assert.equal((await as(ctx.t, prober, { method: 'GET', url: `${fhir}/Observation/${obs}` })).statusCode, 403);
    },
  },
  'access.cross-tenant': {
    realm: 'tenant',
    async run(ctx) {
      const agent = await ctx.t.key(tenant, 'service');
      ctx.secrets.push(agent);
      for (let i = 0; i < 2; i += 1) assert.equal((await ctx.t.inject({ method: 'GET', url: `/tenants/${rival}/fhir/Patient`, key: agent })).statusCode, 403);
    },
  },
  'change.role': {
    realm: 'tenant',
    async run(ctx) {
      // The one role an administrator may grant (wider ones wait for an operator): made tenant admin
      // after being disabled, so that the tenant's alert mail goes to the one admin of the set-up
      // alone — disabled afterwards, the nurse would be an admin for as long as the detection
      // worker takes to raise and mail the alert, and could receive it too.
      const nurse = await signIn(ctx.t, tenant, 'clinician', email(ctx, 'nurse'));
      assert.equal((await byAdmin(ctx, 'POST', `/accounts/${nurse.accountId}/disable`)).statusCode, 200);
      const moved = await byAdmin(ctx, 'PATCH', `/accounts/${nurse.accountId}`, { role: 'tenant-admin' });
      assert.equal(moved.statusCode, 200, moved.body);
    },
  },
  'change.mfa-removed': {
    realm: 'tenant',
    async run(ctx) {
      const doctor = await signInWithTotp(ctx.t, tenant, 'clinician', email(ctx, 'doctor'), () => ctx.now());
      ctx.secrets.push('ticket 4711');
      const reset = await byAdmin(ctx, 'POST', `/accounts/${doctor.accountId}/second-factors/reset`, { reason: 'phone lost, ticket 4711' });
      assert.equal(reset.statusCode, 200, reset.body);
    },
  },
  'change.wide-app': {
    realm: 'tenant',
    async run(ctx) {
      const wide = await byAdmin(ctx, 'POST', '/apps', { name: 'Everything Sync', publisher: 'Data GmbH', kind: 'backend', scope: 'system/*.*', role: 'service' });
      assert.equal(wide.statusCode, 201, wide.body);
      const secret = (json(wide) as { clientSecret?: string }).clientSecret;
      if (secret !== undefined) ctx.secrets.push(secret);
    },
  },
  'change.settings': {
    realm: 'tenant',
    async run(ctx) {
      // Who is told and when: the alert settings, saved by the admin as the console saves them.
      const saved = await byAdmin(ctx, 'PUT', '/alerts/settings', { timeZone: 'UTC', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } });
      assert.equal(saved.statusCode, 200, saved.body);
    },
  },
  'change.api-key': {
    realm: 'tenant',
    async run(ctx) {
      ctx.secrets.push(await cli(ctx, ['apikey', 'create', '--tenant', tenant, '--role', 'service']));
    },
  },
  'change.keys': {
    realm: 'tenant',
    async run(ctx) {
      await cli(ctx, ['keys', 'rotate', '--tenant', tenant]);
    },
  },
  'token.reuse': {
    realm: 'tenant',
    async run(ctx) {
      // Authorization code + PKCE as a patient's app runs it, then the same code redeemed again.
      const portal = email(ctx, 'portal');
      await personWithPassword(ctx.t, tenant, 'patient', portal, { patient: `Patient/${ctx.patients[2] as string}` });
      const { client, clientSecret } = await registerApp(ctx.t, tenant, { scope: 'openid patient/Observation.rs' });
      const fetcher = injectFetch(ctx.t);
      const issuer = `${ctx.publicUrl}/tenants/${tenant}/oauth`;
      const config = await oidc.discovery(new URL(issuer), client.clientId, undefined, oidc.ClientSecretBasic(clientSecret as string), { [oidc.customFetch]: fetcher });
      const browser = new Browser(fetcher);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, { redirect_uri: redirectUri, scope: 'openid patient/Observation.rs', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, aud: `${ctx.publicUrl}/tenants/${tenant}/fhir` });
      let step = await browser.follow(url.href, redirectUri);
      if (isPage(step) && step.html.includes('/login"')) step = await browser.submit(step, '/login', { email: portal, password: testPassword }, redirectUri);
      assert.ok(isPage(step), 'the consent page');
      const done = await browser.submit(step, '/consent', { decision: 'allow' }, redirectUri);
      assert.ok(!isPage(done), 'back at the app with a code');
      const callback = new URL(done.redirectedTo);
      const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      ctx.secrets.push(callback.searchParams.get('code') as string, tokens.access_token, clientSecret as string);
      await assert.rejects(oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }));
    },
  },
  'integrity.sealed-field': {
    realm: 'tenant',
    async run(ctx) {
      const obsId = await createRecord(ctx, 'Observation', observation(ctx.patients[3] as string, { valueQuantity: undefined, valueString: 'tamper-proof finding' }));
      ctx.secrets.push('tamper-proof finding');
      // One character of the stored ciphertext flipped, as a person with the database would.
      const db = await ctx.t.app.storage.tenant(tenant);
      const [row] = await db.query<{ sealed: string }>(`SELECT sealed FROM ${db.table('resources')} WHERE resource_type = ? AND id = ?`, ['Observation', obsId]);
      const envelopes = JSON.parse(row?.sealed as string) as string[];
      const value = envelopes[0] as string;
      const flipped = `${value.slice(0, -5)}${value.at(-5) === 'A' ? 'B' : 'A'}${value.slice(-4)}`;
      await db.execute(`UPDATE ${db.table('resources')} SET sealed = ? WHERE resource_type = ? AND id = ?`, [JSON.stringify([flipped, ...envelopes.slice(1)]), 'Observation', obsId]);
      const read = await ctx.t.inject({ method: 'GET', url: `${fhir}/Observation/${obsId}`, key: ctx.serviceKey });
      assert.equal(read.statusCode, 500);
      assert.equal(errorCode(read), 'integrity-failed');
    },
  },
  'audit.chain-findings': {
    realm: 'tenant',
    async run(ctx) {
      // An audit event edited in the database; the daily prune verifies the chain first and records what it found.
      const db = await ctx.t.app.storage.tenant(tenant);
      const [target] = await db.query<{ seq: number | string; actor_id: string }>(`SELECT seq, actor_id FROM ${db.table('audit_events')} WHERE action = 'record.read' ORDER BY seq LIMIT 1`);
      await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = 'someone-else' WHERE seq = ?`, [Number(target?.seq)]);
      try {
        const pruned = await ctx.t.app.audit.prune(tenant, cliOperator);
        assert.ok((pruned.refused?.length ?? 0) > 0, 'the prune verifies first and refuses');
      } finally {
        await db.execute(`UPDATE ${db.table('audit_events')} SET actor_id = ? WHERE seq = ?`, [target?.actor_id ?? '', Number(target?.seq)]);
      }
    },
  },
  'audit.checkpoint-failing': {
    realm: 'tenant',
    async run(ctx) {
      // The checkpoint directory replaced by a file: unwritable whoever the server runs as.
      const dir = join(ctx.t.dataDir, 'audit-checkpoints');
      if (existsSync(dir)) renameSync(dir, `${dir}.saved`);
      writeFileSync(dir, 'not a directory');
      try {
        await createRecord(ctx, 'Patient', patient());
        await assert.rejects(ctx.t.app.audit.checkpoint(tenant));
      } finally {
        rmSync(dir, { force: true });
        if (existsSync(`${dir}.saved`)) renameSync(`${dir}.saved`, dir);
        else mkdirSync(dir, { recursive: true });
      }
    },
  },
  'access.off-hours': {
    realm: 'tenant',
    async run(ctx) {
      // 19:30 UTC on the Monday: after the tenant's working hours (UTC, Monday to Friday 07:00–19:00).
      const evening = Date.parse('2026-03-02T19:30:00Z');
      if (ctx.now() < evening) ctx.advance(evening - ctx.now());
      const owl = await signIn(ctx.t, tenant, 'front-desk', email(ctx, 'owl'));
      assert.equal((await as(ctx.t, owl, { method: 'GET', url: `${fhir}/Patient/${ctx.patients[4] as string}` })).statusCode, 200);
    },
  },
  'auth.operator-sign-in': {
    realm: 'platform',
    async run(ctx) {
      // A backup operator: signed in like any operator, but not one the platform's alert mail goes to.
      await signInOperator(ctx.t, 'backup-operator', ctx.unique('backups') + '@vault.example', () => ctx.now());
    },
  },
  'platform.backup-failed': {
    realm: 'platform',
    async run(ctx) {
      // The repository is configured under a plain file: every run fails, as on a full or missing mount.
      await assert.rejects(ctx.t.app.backups.run());
    },
  },
  'fim.changed': {
    realm: 'platform',
    async run(ctx) {
      const main = join(ctx.installDir, 'dist', 'main.js');
      const contents = 'console.log("changed by an intruder");\n';
      ctx.secrets.push('changed by an intruder');
      writeFileSync(main, contents);
      // The server's own check runs every second here: wait until it has seen the change.
      await until(async () => ((await ctx.t.app.alerts.list('operators', { rule: 'fim.changed' })).some((a) => a.subject === main) ? true : undefined), 'the file integrity check to see the change');
    },
  },
  'platform.certificate-expiry': {
    realm: 'platform',
    async run(ctx) {
      // The served certificate expires five days after the test's start: the probe's round reads it.
      await ctx.t.app.probes?.round();
    },
  },
  'platform.disk-space': {
    realm: 'platform',
    async run(ctx) {
      await ctx.t.app.probes?.round();
    },
  },
  'platform.backup-overdue': {
    realm: 'platform',
    async run(ctx) {
      // Snapshots are scheduled every 15 minutes and none was taken: more than two intervals on, it is overdue.
      ctx.advance(31 * 60_000);
      await ctx.t.app.probes?.round();
    },
  },
  'notification.deadline': {
    realm: 'tenant',
    async run(ctx) {
      // An incident of the tenant, aware 49 hours ago, its raw files (keys included) frozen as
      // the scope and assessed: the deadline job finds the 72-hour Art. 33(1) duty past two
      // thirds (and the processor's 24-hour notice overdue), as the operators' CLI would.
      const caller = { kind: 'operator' as const, actor: cliOperator, requestId: '', sourceIp: 'local', status: 0 };
      const { incident } = await ctx.t.app.incidents.open(caller, { title: 'Backup disk lost', severity: 'high', tenants: [tenant], awareAt: ctx.now() - 49 * 3_600_000 });
      const from = ctx.now() - 86_400_000;
      await ctx.t.app.incidentScopes.freezeScope(caller, incident.id, { from, to: ctx.now(), suspect: { kind: 'raw-files', keysExposed: true }, tenants: [tenant] });
      await ctx.t.app.assessments.compute(caller, incident.id);
      assert.ok((await ctx.t.app.assessments.checkDeadlines()) > 0, 'a deadline stage recorded');
    },
  },
  'privacy.request-due': {
    realm: 'tenant',
    async run(ctx) {
      // A patient's letter that arrived 21 days ago, recorded now: past two thirds of its month.
      const by = { actor: cliOperator, role: 'system' as const, requestId: '', sourceIp: 'local' };
      const receivedAt = new Date(ctx.now() - 21 * 86_400_000).toISOString().slice(0, 10);
      await ctx.t.app.privacyRequests.open(tenant, by, { type: 'access', subject: `Patient/${ctx.patients[0] as string}`, channel: 'letter', verification: 'ID card checked at the front desk', receivedAt });
      assert.ok((await ctx.t.app.privacyRequests.checkDeadlines()) > 0, 'a deadline stage recorded');
    },
  },
  'platform.replication': {
    realm: 'platform',
    only: {
      engine: 'postgres',
      reason:
        'SQLite has no replication to degrade. On PostgreSQL the probe reads pg_stat_replication on the primary, and the test server has no synchronous standby: the critical finding, delivered here. The standby findings (not streaming, lagging) need a standby; the rule is pure and src/detection/rules/platform.test.ts covers them; they raise the same rule in the same realm, so reach people the same way',
    },
    async run(ctx) {
      await ctx.t.app.probes?.round();
    },
  },
};

/** The set-up the triggers share: records, the admin with two factors, a second tenant. */
export async function setUpTenant(t: TestApp, now: () => number): Promise<{ admin: Person; serviceKey: string; patients: string[]; practitioner: string; auditorKey: string }> {
  const serviceKey = await t.tenant(tenant);
  await t.tenant(rival);
  // People sign in with a password only (second factors are other flows' business); the admin has both.
  await t.app.tenants.setMfaPolicy(tenant, 'optional');
  const admin = await signInWithTotp(t, tenant, 'tenant-admin', 'the.admin@clinic.example', now);
  const auditorKey = await t.key(tenant, 'auditor');
  const created = async (body: unknown) => {
    const response = await t.inject({ method: 'POST', url: `${fhir}/${(body as { resourceType: string }).resourceType}`, key: serviceKey, body });
    assert.equal(response.statusCode, 201, response.body);
    return json(response)['id'] as string;
  };
  const practitioner = await created({ resourceType: 'Practitioner', name: [{ family: 'Weber' }] });
  const patients: string[] = [];
  for (let i = 0; i < 10; i += 1) patients.push(await created(patient({ name: [{ family: `Muster${i}` }], generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] })));
  return { admin, serviceKey, patients, practitioner, auditorKey };
}
