import { generate } from 'otplib';
import { createServer } from 'node:net';
import * as client from 'openid-client';
import { engines, startTestApp, type EngineName, type TestApp } from './harness.js';
import { Browser, isPage, type Page } from './browser.js';
import { testPassword } from './people.js';
import type { ClientInput } from '../../src/oauth/index.js';

export { engines };

const operator = { id: 'cli:test', role: 'operator', client: 'tresor-cli' };
export const redirectUri = 'http://127.0.0.1:9/callback';

/** A free loopback port (the issuer URL must be known before the server starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface OAuthTestApp extends TestApp {
  readonly base: string;
  /** Moves the app's clock on (token expiry as the store sees it). */
  advance(ms: number): void;
  issuer(tenantId: string): string;
  fhirBase(tenantId: string): string;
}

/** The app on a real socket, with `server.publicUrl` set to where it listens. */
export async function startOAuthApp(engine: EngineName): Promise<OAuthTestApp> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let offset = 0;
  const t = await startTestApp(engine, { server: { publicUrl: base, port } }, { clock: { now: () => new Date(Date.now() + offset) } });
  await t.app.http.listen({ port, host: '127.0.0.1' });
  return { ...t, base, advance: (ms) => void (offset += ms), issuer: (tenantId) => `${base}/tenants/${tenantId}/oauth`, fhirBase: (tenantId) => `${base}/tenants/${tenantId}/fhir` };
}

/** A person with a password (and no second factor) in the tenant. */
export async function person(t: TestApp, tenantId: string, role: 'patient' | 'clinician' | 'front-desk' | 'billing' | 'auditor' | 'tenant-admin', email: string, links: { patient?: string; practitioner?: string } = {}) {
  const { account, setupToken } = await t.app.accounts.invite({ tenantId, role, email, ...links, by: operator });
  await t.app.accounts.completeSetup({ tenantId, token: setupToken, password: testPassword, sourceIp: '127.0.0.1' });
  return account;
}

/**
 * A person with a password and TOTP enrolled through the JSON API, for a sign-in through the
 * pages; returns the TOTP secret (the code of the current period is spent: sign in with the next).
 */
export async function personWithTotp(t: TestApp, tenantId: string, role: 'patient' | 'clinician' | 'front-desk' | 'billing' | 'auditor' | 'tenant-admin', email: string, links: { patient?: string; practitioner?: string } = {}): Promise<string> {
  await person(t, tenantId, role, email, links);
  const post = (url: string, body: unknown, headers: Record<string, string> = {}) => t.inject({ method: 'POST', url: `/tenants/${tenantId}${url}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const login = await post('/auth/login', { email, password: testPassword });
  const session = { cookie: String(login.headers['set-cookie']).split(';')[0] as string, 'x-csrf-token': (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
  const { secret } = JSON.parse((await post('/auth/totp', { password: testPassword }, session)).body) as { secret: string };
  const confirmed = await post('/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, session);
  if (confirmed.statusCode !== 200) throw new Error(`setup: TOTP confirmation failed: ${confirmed.body}`);
  return secret;
}

export async function registerApp(t: TestApp, tenantId: string, input: Partial<ClientInput> & Pick<ClientInput, 'scope'>) {
  return t.app.clients.create(tenantId, { name: 'Step Counter', publisher: 'Example Health GmbH', kind: 'confidential', redirectUris: [redirectUri], ...input } as ClientInput, 'test');
}

export async function discover(t: OAuthTestApp, tenantId: string, clientId: string, secretOrAuth?: string | client.ClientAuth): Promise<client.Configuration> {
  const auth = typeof secretOrAuth === 'string' ? client.ClientSecretBasic(secretOrAuth) : (secretOrAuth ?? client.None());
  return client.discovery(new URL(t.issuer(tenantId)), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });
}

/**
 * Authorization code + PKCE through the real pages: the browser opens the authorization URL,
 * signs in, approves, and lands on the redirect URI; openid-client redeems the code.
 */
export async function authorize(
  t: OAuthTestApp,
  config: client.Configuration,
  input: { tenantId: string; email: string; scope: string; patient?: string; browser?: Browser; extra?: Record<string, string> },
): Promise<{ tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers; browser: Browser; consentPage: Page }> {
  const browser = input.browser ?? new Browser();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: input.scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    aud: t.fhirBase(input.tenantId),
    ...input.extra,
  });
  let step = await browser.follow(url.href, redirectUri);
  if (isPage(step) && step.html.includes('/login"')) step = await browser.submit(step, '/login', { email: input.email, password: testPassword }, redirectUri);
  if (!isPage(step)) throw new Error(`expected the consent page, was sent to ${step.redirectedTo}`);
  const consentPage = step;
  const done = await browser.submit(step, '/consent', { decision: 'allow', ...(input.patient === undefined ? {} : { patient: input.patient }) }, redirectUri);
  if (isPage(done)) throw new Error(`consent did not finish (${done.status}): ${done.html}`);
  const tokens = await client.authorizationCodeGrant(config, new URL(done.redirectedTo), { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens, browser, consentPage };
}

/** The OAuth error code of a refusal, whether openid-client reports it from the body or from WWW-Authenticate (a 401). */
export function oauthError(e: unknown): string | undefined {
  const error = e as { error?: string; cause?: Array<{ parameters?: { error?: string } }> };
  return error.error ?? (Array.isArray(error.cause) ? error.cause[0]?.parameters?.error : undefined);
}
