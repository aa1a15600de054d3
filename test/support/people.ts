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
