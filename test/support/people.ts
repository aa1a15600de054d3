import { generate } from 'otplib';
import type { LightMyRequestResponse } from 'fastify';
import type { PersonRole } from '../../src/identity/index.js';
import type { TestApp } from './harness.js';

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
export const testPassword = 'seven hungry otters swim the fjord';

/** A signed-in person: the session cookie and its CSRF token, for `as()`. */
export interface Person {
  readonly accountId: string;
  readonly cookie: string;
  readonly csrf: string;
}

/** Invites, sets the password and signs in; the tenant's policy decides whether a factor is needed later. */
export async function signIn(t: TestApp, tenantId: string, role: PersonRole, email: string, links: { patient?: string; practitioner?: string } = {}): Promise<Person> {
  const { account, setupToken } = await t.app.accounts.invite({ tenantId, role, email, ...links, by: operator });
  await t.app.accounts.completeSetup({ tenantId, token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
  const login = await t.app.http.inject({ method: 'POST', url: `/tenants/${tenantId}/auth/login`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ email, password: testPassword }) });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.body}`);
  return { accountId: account.id, cookie: String(login.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
}

/** A request as that person (cookie and, on every method, the CSRF token). */
export function as(t: TestApp, person: Person, opts: { method: string; url: string; body?: unknown; headers?: Record<string, string> }): Promise<LightMyRequestResponse> {
  return t.inject({ ...opts, headers: { cookie: person.cookie, 'x-csrf-token': person.csrf, ...opts.headers } });
}

/**
 * An operator of the given role (operators' realm), signed in with the TOTP second factor every
 * operator needs; `now` is the app's clock (the code is computed for it).
 */
export async function signInOperator(t: TestApp, role: 'operator' | 'backup-operator', email: string, now: () => number): Promise<Person> {
  const { account, setupToken } = await t.app.accounts.invite({ tenantId: 'operators', role, email, by: operator });
  await t.app.accounts.completeSetup({ tenantId: 'operators', token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
  const post = (url: string, body: unknown, person?: { cookie: string; csrf: string }) =>
    t.app.http.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...(person === undefined ? {} : { cookie: person.cookie, 'x-csrf-token': person.csrf }) }, payload: JSON.stringify(body) });
  const login = await post('/platform/auth/login', { email, password: testPassword });
  if (login.statusCode !== 200) throw new Error(`operator login failed: ${login.body}`);
  const first = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
  const offered = await post('/platform/auth/totp', { password: testPassword }, first);
  const { secret } = JSON.parse(offered.body) as { secret: string };
  const confirmed = await post('/platform/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(now() / 1000) }) }, first);
  if (confirmed.statusCode !== 200) throw new Error(`operator TOTP enrolment failed: ${confirmed.body}`);
  return { accountId: account.id, cookie: String(confirmed.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(confirmed.body) as { csrfToken: string }).csrfToken };
}

/**
 * Like `signIn`, then enrols TOTP in that session: a person signed in with two factors, as
 * account-security actions need; `now` is the app's clock (the code is computed for it).
 */
export async function signInWithTotp(t: TestApp, tenantId: string, role: PersonRole, email: string, now: () => number, links: { patient?: string; practitioner?: string } = {}): Promise<Person> {
  const first = await signIn(t, tenantId, role, email, links);
  const post = (url: string, body: unknown) => as(t, first, { method: 'POST', url: `/tenants/${tenantId}${url}`, body, headers: { 'content-type': 'application/json' } });
  const offered = await post('/auth/totp', { password: testPassword });
  if (offered.statusCode !== 200) throw new Error(`TOTP enrolment failed: ${offered.body}`);
  const { secret } = JSON.parse(offered.body) as { secret: string };
  const confirmed = await post('/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(now() / 1000) }) });
  if (confirmed.statusCode !== 200) throw new Error(`TOTP confirmation failed: ${confirmed.body}`);
  return { accountId: first.accountId, cookie: String(confirmed.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(confirmed.body) as { csrfToken: string }).csrfToken };
}

/**
 * A person invited, set up and enrolled in TOTP through the API, as a browser test needs them:
 * returns the TOTP secret, so the test can type codes the way a phone would show them.
 */
export async function personWithTotp(t: TestApp, realm: string, role: 'operator' | 'backup-operator' | 'tenant-admin', email: string): Promise<string> {
  const { setupToken } = await t.app.accounts.invite({ tenantId: realm, role, email, by: { id: 'cli:test', role: 'operator', client: 'tresor-cli' } });
  await t.app.accounts.completeSetup({ tenantId: realm, token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
  const prefix = realm === 'operators' ? '/platform' : `/tenants/${realm}`;
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.app.http.inject({ method: 'POST', url: `${prefix}${url}`, payload: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const login = await post('/auth/login', { email, password: testPassword });
  const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
  const { secret } = JSON.parse((await post('/auth/totp', { password: testPassword }, session)).body) as { secret: string };
  const confirmed = await post('/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session);
  if (confirmed.statusCode !== 200) throw new Error(`setup: TOTP not confirmed (${confirmed.statusCode})`);
  return secret;
}
