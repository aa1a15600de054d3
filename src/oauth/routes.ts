import { createHmac, hkdfSync } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionResults } from 'oidc-provider';
import { operatorEvent, type Actor, type Audit } from '../audit/index.js';
import { forbidden, IdentityError, isStaff, parseRole, personRoles, type Accounts, type Authenticator, type CredentialThrottle, type Passkeys, type Principal } from '../identity/index.js';
import type { Keys } from '../keys/index.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import type { Storage } from '../platform/db/index.js';
import { AppError } from '../platform/errors.js';
import { HttpError, publicDocumentCacheControl } from '../platform/http/index.js';
import { defaultPurpose, type AccessContext, type RecordAccess, type Records } from '../records/index.js';
import { parseTenantId, type Tenants } from '../tenants/index.js';
import type { ClientInfo, ClientInput, Clients } from './clients.js';
import type { Consents } from './consents.js';
import { OAuthError } from './errors.js';
import { consentPage, loginPage, messagePage, pageCsp, passkeyPageCsp, refusedPage, secondFactorPage, patientOption, type PageFrame, type PatientOption } from './pages.js';
import { formLimit, localeOf, sendPage, servePages } from '../platform/pages/index.js';
import type { OAuthServer } from './provider.js';
import { createAppRegister } from './app-register.js';
import { parseResourceScope, scopesForRole } from './scopes.js';

export interface OAuthRoutesDeps {
  readonly oauth: OAuthServer;
  readonly clients: Clients;
  readonly consents: Consents;
  readonly accounts: Accounts;
  readonly passkeys: Passkeys;
  readonly tenants: Tenants;
  readonly records: Records;
  /** Records as the signed-in person (the consent page's patient search): guarded and audited like the FHIR API. */
  readonly access: RecordAccess;
  readonly storage: Storage;
  readonly keys: Keys;
  readonly audit: Audit;
  readonly authenticator: Authenticator;
  /** Strict-Transport-Security for the responses oidc-provider writes itself (undefined without TLS). */
  readonly hsts: string | undefined;
  /** Wrong client credentials count on the same per-address budget as API keys. */
  readonly throttle?: CredentialThrottle;
}

/** Where an app authenticates itself (RFC 6749 §2.3, RFC 7009, RFC 7662). */
const clientAuthPath = /\/oauth\/token(?:\/introspection|\/revocation)?$/;

const uidPattern = /^[A-Za-z0-9_-]{10,64}$/;
/** The authorization server's public documents: OIDC discovery and the signing keys. */
const publicDocuments = /^\/tenants\/[^/]+\/oauth\/(\.well-known\/openid-configuration|jwks)(\?|$)/;
const patientIdPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/** The app as the register shows it to administrators: never a secret. */
const view = (c: ClientInfo) => ({
  clientId: c.clientId,
  name: c.name,
  publisher: c.publisher,
  kind: c.kind,
  authMethod: c.authMethod,
  redirectUris: c.redirectUris,
  scope: c.scope,
  role: c.role ?? null,
  status: c.status,
  createdAt: c.createdAt,
  approvedBy: c.approvedBy ?? null,
});

/**
 * The OAuth surfaces:
 * - `/tenants/{t}/oauth/*`: the tenant's authorization server (oidc-provider): discovery,
 *   authorize, token, revocation (RFC 7009), introspection (RFC 7662), JWKS, userinfo;
 * - `/tenants/{t}/oauth/interaction/{uid}`: our sign-in and consent pages;
 * - `/tenants/{t}/fhir/.well-known/smart-configuration`: SMART App Launch discovery;
 * - `/tenants/{t}/apps…`: the app register, for callers with `apps:manage`;
 * - `/tenants/{t}/auth/apps…`: a person's connected apps, and withdrawing consent.
 */
export function oauthRoutes(deps: OAuthRoutesDeps) {
  const { oauth, clients, consents, accounts, passkeys, tenants, records, access, storage, keys, audit, authenticator, hsts, throttle } = deps;

  /** CSRF token of an interaction's forms: HMAC of its uid under a key derived from the tenant's index key. */
  async function formToken(tenantId: string, uid: string): Promise<string> {
    const key = Buffer.from(hkdfSync('sha256', await keys.indexKey(tenantId), Buffer.alloc(0), 'tresor oauth forms', 32));
    return createHmac('sha256', key).update(uid).digest('base64url');
  }

  async function checkForm(request: FastifyRequest, tenantId: string, uid: string): Promise<Record<string, string>> {
    const form = (request.body ?? {}) as Record<string, string>;
    const expected = Buffer.from(await formToken(tenantId, uid));
    if (typeof form['csrf'] !== 'string' || !constantTimeEqual(Buffer.from(form['csrf']), expected)) {
      throw new IdentityError('csrf-invalid', 'This form has expired or did not come from this page; go back to the app and start again.', { status: 403, expose: true });
    }
    return form;
  }

  /** The one layout's frame of an interaction's page: the reader's language, the tenant's name; the language switch GETs the interaction again. */
  async function frameOf(request: FastifyRequest, it: { tenantId: string; action: string }, person?: { email: string; role: string }): Promise<PageFrame> {
    const tenant = await tenants.get(it.tenantId);
    return {
      locale: localeOf(request),
      path: it.action,
      ...(tenant === undefined ? {} : { space: tenant.name }),
      ...(person === undefined ? {} : { person: { label: person.email, role: person.role } }),
    };
  }

  /** The second step: a code, and — when the account has one — a passkey (its page alone runs this origin's script). */
  async function sendSecondFactor(request: FastifyRequest, reply: FastifyReply, it: { tenantId: string; uid: string; action: string }, ticket: string, methods: readonly string[], error?: string, status = 200) {
    const passkey = methods.includes('passkey');
    return sendPage(
      reply,
      secondFactorPage(await frameOf(request, it), { action: `${it.action}/second-factor`, csrf: await formToken(it.tenantId, it.uid), ticket, passkey, ...(error === undefined ? {} : { error }) }),
      status,
      passkey ? passkeyPageCsp : pageCsp,
    );
  }

  return async function plugin(app: FastifyInstance): Promise<void> {

    // SMART App Launch 2.x §Discovery: the FHIR server's own pointer to its authorization server.
    app.get('/tenants/:tenant/fhir/.well-known/smart-configuration', async (request, reply) => {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      await tenants.requireActive(tenantId);
      const issuer = oauth.issuer(tenantId);
      return reply.header('access-control-allow-origin', '*').header('cache-control', publicDocumentCacheControl).send({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        revocation_endpoint: `${issuer}/token/revocation`,
        introspection_endpoint: `${issuer}/token/introspection`,
        userinfo_endpoint: `${issuer}/me`,
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
        token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'fhirUser', 'launch/patient', 'offline_access', 'patient/*.cruds', 'user/*.cruds', 'system/*.cruds'],
        capabilities: ['launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric', 'sso-openid-connect', 'context-standalone-patient', 'permission-offline', 'permission-patient', 'permission-user', 'permission-v2', 'permission-v1'],
      });
    });

    // The sign-in and consent pages: forms posted as application/x-www-form-urlencoded.
    await app.register(async (pages) => {
      servePages(pages, 'oauth page');

      /** The interaction this browser is in (its cookie), which must be the one in the URL. */
      async function interaction(request: FastifyRequest, reply: FastifyReply) {
        const { tenant, uid } = request.params as { tenant: string; uid: string };
        const tenantId = parseTenantId(tenant);
        await tenants.requireActive(tenantId);
        if (!uidPattern.test(uid)) throw new OAuthError('interaction-invalid', 'This sign-in has expired; go back to the app and start again.', { status: 400 });
        const provider = await oauth.providerFor(tenantId);
        let details;
        try {
          details = await provider.interactionDetails(request.raw, reply.raw);
        } catch {
          throw new OAuthError('interaction-invalid', 'This sign-in has expired or was opened in another browser; go back to the app and start again.', { status: 400 });
        }
        if (details.uid !== uid) throw new OAuthError('interaction-invalid', 'This sign-in has expired; go back to the app and start again.', { status: 400 });
        const client = await clients.get(tenantId, String(details.params['client_id']));
        if (client === undefined || client.status !== 'active') throw new OAuthError('interaction-invalid', 'The app is no longer registered here.', { status: 400 });
        return { tenantId, uid, provider, details, client, action: `/tenants/${tenantId}/oauth/interaction/${uid}` };
      }

      async function finish(request: FastifyRequest, reply: FastifyReply, tenantId: string, result: InteractionResults, merge = false): Promise<void> {
        const provider = await oauth.providerFor(tenantId);
        reply.hijack();
        reply.raw.setHeader('cache-control', 'no-store');
        reply.raw.setHeader('referrer-policy', 'no-referrer');
        if (hsts !== undefined) reply.raw.setHeader('strict-transport-security', hsts);
        await provider.interactionFinished(request.raw, reply.raw, result, { mergeWithLastSubmission: merge });
      }

      /** Scopes of the request, in the order asked. */
      const requestedScopes = (details: { params: Record<string, unknown> }) => [...new Set(String(details.params['scope'] ?? '').split(' ').filter(Boolean))];

      const needsPatient = (scopes: readonly string[]) => scopes.includes('launch/patient') || scopes.some((s) => parseResourceScope(s)?.context === 'patient');

      /** The signed-in person of a consent interaction, and what of the request their role can use. */
      async function consenter(it: Awaited<ReturnType<typeof interaction>>) {
        const accountId = it.details.session?.accountId;
        const account = accountId === undefined ? undefined : await accounts.get(it.tenantId, accountId);
        if (account === undefined || account.status !== 'active') return undefined;
        const role = parseRole(account.role, personRoles);
        const asked = requestedScopes(it.details);
        const { usable, unusable } = scopesForRole(role, asked);
        // Nothing about records is left (only identity scopes, or nothing): the app gets nothing it asked for.
        const nothingLeft = asked.some((s) => parseResourceScope(s) !== undefined) && !usable.some((s) => parseResourceScope(s) !== undefined);
        return { account, role, asked, usable, unusable, nothingLeft, audience: role === 'patient' ? ('patient' as const) : ('staff' as const) };
      }

      /** The patients matching a staff member's search: the records service's search as that person (their reach, audited like the API's). */
      async function searchPatients(request: FastifyRequest, it: Awaited<ReturnType<typeof interaction>>, account: { id: string; role: string; practitioner?: string }, query: string): Promise<PatientOption[]> {
        const q = query.trim().slice(0, 100);
        if (q === '') return [];
        const principal: Principal = {
          kind: 'person',
          id: account.id,
          tenantId: it.tenantId,
          role: parseRole(account.role, personRoles),
          label: 'session',
          ...(account.practitioner === undefined ? {} : { practitioner: account.practitioner }),
        };
        // The person searches on the consent page of this app (not the app: it has no token yet).
        const ctx: AccessContext = { tenantId: it.tenantId, principal, purpose: defaultPurpose[principal.role], requestId: request.id, sourceIp: request.ip, client: `consent:${it.client.clientId}` };
        const words = q.split(/\s+/).slice(0, 4);
        const searches: Array<Array<[string, string]>> = /^\d{4}-\d{2}-\d{2}$/.test(q)
          ? [[['birthdate', q]]]
          : [words.map((w): [string, string] => ['name', w]), ...(words.length === 1 ? [[['identifier', q] as [string, string]]] : [])];
        const found = new Map<string, PatientOption>();
        for (const params of searches) {
          let result;
          try {
            result = await access.search(ctx, 'Patient', [...params, ['_count', '20']], { lenient: true });
          } catch (error) {
            // A refusal is an audit event too (`access.denied`, what detection looks for), then the refusal.
            throw error instanceof AppError ? await access.failed(ctx, 'record.searched', 'Patient', error) : error;
          }
          for (const match of result.matches) {
            if (!found.has(match.id)) found.set(match.id, patientOption(match.id, match.content));
          }
        }
        return [...found.values()].slice(0, 20);
      }

      async function renderConsent(request: FastifyRequest, reply: FastifyReply, it: Awaited<ReturnType<typeof interaction>>, problem?: { error: string; chosen?: string; query?: string }, status = 200) {
        const who = await consenter(it);
        if (who === undefined) return sendPage(reply, messagePage(await frameOf(request, it), 'signedOut'), 400);
        const frame = await frameOf(request, it, who.account);
        const csrf = await formToken(it.tenantId, it.uid);
        if (who.nothingLeft) return sendPage(reply, refusedPage(frame, { action: `${it.action}/consent`, csrf, app: it.client, role: who.role, dropped: who.unusable, audience: who.audience }), status);
        const staffChoose = needsPatient(who.usable) && who.role !== 'patient';
        // The search: `?q=` of the search form (a GET), or the one the refused choice was made from.
        const query = problem?.query ?? String((request.query as Record<string, unknown> | undefined)?.['q'] ?? '');
        const chosen = problem?.chosen;
        const options = staffChoose ? await searchPatients(request, it, who.account, query) : [];
        return sendPage(
          reply,
          consentPage(frame, {
            action: `${it.action}/consent`,
            csrf,
            app: it.client,
            offered: who.usable,
            dropped: who.unusable,
            audience: who.audience,
            role: who.role,
            ...(who.role === 'patient' && needsPatient(who.usable) ? { patientLabel: 'own' } : {}),
            ...(staffChoose ? { patientChoice: { query, searched: query.trim() !== '', options, ...(chosen === undefined ? {} : { chosen }) } } : {}),
            ...(problem === undefined ? {} : { error: problem.error }),
          }),
          status,
        );
      }

      pages.get('/tenants/:tenant/oauth/interaction/:uid', async (request, reply) => {
        const it = await interaction(request, reply);
        if (it.details.prompt.name === 'login') {
          return sendPage(reply, loginPage(await frameOf(request, it), { action: `${it.action}/login`, csrf: await formToken(it.tenantId, it.uid), app: it.client }));
        }
        return renderConsent(request, reply, it);
      });

      pages.post('/tenants/:tenant/oauth/interaction/:uid/login', { bodyLimit: formLimit }, async (request, reply) => {
        const it = await interaction(request, reply);
        const form = await checkForm(request, it.tenantId, it.uid);
        const email = String(form['email'] ?? '');
        try {
          const { account, secondFactorTicket, secondFactorMethods } = await accounts.login({ tenantId: it.tenantId, tenantActive: true, email, password: String(form['password'] ?? ''), sourceIp: request.ip });
          if (secondFactorTicket !== undefined) return sendSecondFactor(request, reply, it, secondFactorTicket, secondFactorMethods ?? []);
          // Only a password: enough only where the tenant's policy does not ask this role for a second factor.
          const policy = await tenants.mfaPolicy(it.tenantId);
          const role = parseRole(account.role, personRoles);
          if (policy === 'everyone' || (policy === 'staff' && isStaff(role))) {
            return sendPage(reply, messagePage(await frameOf(request, it), 'factorRequired'), 403);
          }
          return finish(request, reply, it.tenantId, { login: { accountId: account.id, amr: ['pwd'] } });
        } catch (error) {
          if (error instanceof AppError && error.expose && error.status < 500) return sendPage(reply, loginPage(await frameOf(request, it), { action: `${it.action}/login`, csrf: await formToken(it.tenantId, it.uid), app: it.client, email, error: error.message }), error.status);
          throw error;
        }
      });

      pages.post('/tenants/:tenant/oauth/interaction/:uid/second-factor', { bodyLimit: formLimit }, async (request, reply) => {
        const it = await interaction(request, reply);
        const form = await checkForm(request, it.tenantId, it.uid);
        const ticket = String(form['ticket'] ?? '');
        const assertion = String(form['passkey'] ?? '');
        let passkey: unknown;
        if (assertion !== '') {
          try {
            passkey = JSON.parse(assertion) as unknown;
          } catch {
            passkey = undefined;
          }
        }
        try {
          const proof = assertion === '' ? { code: String(form['code'] ?? '') } : { passkey: passkey ?? {} };
          const account = await accounts.secondFactor({ tenantId: it.tenantId, ticket, ...proof, sourceIp: request.ip });
          // RFC 8176 authentication method references: a one-time password, or a hardware-bound key.
          return finish(request, reply, it.tenantId, { login: { accountId: account.id, amr: ['pwd', assertion === '' ? 'otp' : 'hwk'], acr: 'urn:tresor:mfa' } });
        } catch (error) {
          if (error instanceof AppError && error.expose && error.status < 500) {
            // The page again, with the passkey button when the account has one.
            return sendSecondFactor(request, reply, it, ticket, form['offer'] === 'passkey' ? ['passkey'] : [], error.message, error.status);
          }
          throw error;
        }
      });

      // The passkey button's challenge for this sign-in's ticket (WebAuthn options, JSON).
      pages.post('/tenants/:tenant/oauth/interaction/:uid/passkey-options', { bodyLimit: formLimit }, async (request, reply) => {
        const it = await interaction(request, reply);
        const form = await checkForm(request, it.tenantId, it.uid);
        return reply.send(await passkeys.loginOptions({ tenantId: it.tenantId, ticket: String(form['ticket'] ?? '') }));
      });

      pages.post('/tenants/:tenant/oauth/interaction/:uid/abort', { bodyLimit: formLimit }, async (request, reply) => {
        const it = await interaction(request, reply);
        await checkForm(request, it.tenantId, it.uid);
        return finish(request, reply, it.tenantId, { error: 'access_denied', error_description: 'The person cancelled the sign-in.' });
      });

      pages.post('/tenants/:tenant/oauth/interaction/:uid/consent', { bodyLimit: formLimit }, async (request, reply) => {
        const it = await interaction(request, reply);
        const form = await checkForm(request, it.tenantId, it.uid);
        if (it.details.prompt.name !== 'consent') throw new OAuthError('interaction-invalid', 'Sign in first.', { status: 400 });
        const who = await consenter(it);
        if (who === undefined) throw new OAuthError('interaction-invalid', 'Your sign-in ended; go back to the app and start again.', { status: 400 });
        const { account, asked, usable, unusable } = who;
        const accountId = account.id;
        const actor: Actor = { id: `account:${accountId}`, role: account.role, client: `oauth:${it.client.clientId}` };
        const event = (action: 'consent.granted' | 'consent.refused', detail: string, subjects: string[] = []) => ({
          ...operatorEvent(action, actor, { detail, subjects, outcome: 'success' }),
          purpose: 'PATRQT' as const,
          sourceIp: request.ip,
          requestId: request.id,
          status: 200,
        });
        // Nothing left for this role is a refusal whatever was pressed: the app hears access_denied.
        if (form['decision'] !== 'allow' || who.nothingLeft) {
          await audit.record(it.tenantId, [event('consent.refused', `app ${it.client.clientId} (${it.client.name}); asked ${asked.join(' ')}${who.nothingLeft ? '; nothing usable by the role' : ''}`)]);
          return finish(request, reply, it.tenantId, { error: 'access_denied', error_description: who.nothingLeft ? 'Nothing the app asked for is available to this person’s role.' : 'The person did not allow access.' });
        }
        const de = localeOf(request) === 'de';
        const query = String(form['q'] ?? '').slice(0, 100);
        // The patient the app works with: a patient's own; staff choose one they may reach.
        let patient: string | undefined;
        if (needsPatient(usable)) {
          if (account.role === 'patient') patient = account.patient;
          else {
            const id = String(form['patient'] ?? '').trim().replace(/^Patient\//, '');
            const problem = !patientIdPattern.test(id) ? (de ? 'Wählen Sie eine Patientenakte.' : 'Choose a patient record.') : await reachablePatient(it.tenantId, account, id, de);
            if (problem !== undefined) return renderConsent(request, reply, it, { error: problem, query, ...(patientIdPattern.test(id) ? { chosen: id } : {}) }, 400);
            patient = `Patient/${id}`;
          }
          if (patient === undefined) return renderConsent(request, reply, it, { error: de ? 'Ihr Konto ist mit keiner Patientenakte verknüpft.' : 'Your account is not linked to a patient record.' }, 400);
        }
        const provider = it.provider;
        const grant = it.details.grantId === undefined ? new provider.Grant({ accountId, clientId: it.client.clientId }) : await provider.Grant.find(it.details.grantId);
        if (grant === undefined) throw new OAuthError('interaction-invalid', 'This consent has expired; go back to the app and start again.', { status: 400 });
        const missing = it.details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
        // Only what the role can use is granted; the rest is rejected, so it is neither in any token nor asked again.
        const keep = new Set(usable);
        const split = (scopes: readonly string[]) => ({ granted: scopes.filter((s) => keep.has(s)), rejected: scopes.filter((s) => !keep.has(s)) });
        if (missing.missingOIDCScope !== undefined) {
          const { granted, rejected } = split(missing.missingOIDCScope);
          if (granted.length > 0) grant.addOIDCScope(granted.join(' '));
          if (rejected.length > 0) grant.rejectOIDCScope(rejected.join(' '));
        }
        if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
        for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
          const { granted, rejected } = split(scopes);
          if (granted.length > 0) grant.addResourceScope(indicator, granted.join(' '));
          if (rejected.length > 0) grant.rejectResourceScope(indicator, rejected.join(' '));
        }
        const grantId = await grant.save();
        const scopes = usable;
        await consents.record(it.tenantId, { grantId, accountId, clientId: it.client.clientId, ...(patient === undefined ? {} : { patient }), scope: scopes.join(' ') });
        // Durable before the app hears of it (fail closed).
        await audit.record(it.tenantId, [event('consent.granted', `app ${it.client.clientId} (${it.client.name}); grant ${grantId}; scope ${scopes.join(' ')}${unusable.length === 0 ? '' : `; not available to the role: ${unusable.join(' ')}`}`, patient === undefined ? [] : [patient])]);
        return finish(request, reply, it.tenantId, { consent: { grantId } }, true);
      });
    });

    /** Whether staff may make an app work with this patient: it exists and is within their role's reach. */
    async function reachablePatient(tenantId: string, account: { role: string; practitioner?: string }, id: string, de: boolean): Promise<string | undefined> {
      const t = { tenantId, db: await storage.tenant(tenantId) };
      const found = await records.peek(t, 'Patient', id);
      if (found === undefined || found.deleted) return de ? 'Diese Patientenakte gibt es nicht.' : 'There is no such Patient record.';
      if (account.role === 'clinician') {
        const practitionerId = account.practitioner?.replace(/^Practitioner\//, '');
        if (practitionerId === undefined || !(await records.inCare(t, `Patient/${id}`, practitionerId))) return de ? 'Diese Person ist nicht in Ihrer Behandlung.' : 'This patient is not in your care.';
      }
      return undefined;
    }

    // The authorization server itself: every other path under /tenants/{t}/oauth goes to oidc-provider untouched.
    await app.register(async (server) => {
      server.removeAllContentTypeParsers();
      // oidc-provider reads request bodies itself (with its own limits).
      server.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      const forward = async (request: FastifyRequest, reply: FastifyReply) => {
        const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
        await tenants.requireActive(tenantId);
        const authenticatesClient = throttle !== undefined && request.method === 'POST' && clientAuthPath.test(request.url.split('?')[0] ?? '');
        if (authenticatesClient) {
          try {
            throttle.check(request.ip, 'client_secret');
          } catch (error) {
            if (!(error instanceof IdentityError)) throw error;
            // RFC 6749 §5.2 has no throttling error; `temporarily_unavailable` is what OAuth clients retry on.
            return reply.code(429).headers({ ...error.headers, 'cache-control': 'no-store' }).send({ error: 'temporarily_unavailable', error_description: error.message });
          }
        }
        reply.hijack();
        const res = reply.raw;
        res.setHeader('x-request-id', request.id);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('referrer-policy', 'no-referrer');
        res.setHeader('content-security-policy', pageCsp);
        // The hijacked reply skips the onSend hooks (security-headers.ts): the same promises here.
        if (hsts !== undefined) res.setHeader('strict-transport-security', hsts);
        // oidc-provider marks token responses no-store itself (RFC 6749 §5.1); discovery and keys are public.
        res.setHeader('cache-control', publicDocuments.test(request.url) ? publicDocumentCacheControl : 'no-store');
        await oauth.handle(tenantId, request.raw, res, authenticatesClient ? { onInvalidClient: () => throttle.failed(request.ip, 'client_secret') } : {});
      };
      server.all('/tenants/:tenant/oauth', forward);
      server.all('/tenants/:tenant/oauth/*', forward);
    });

    // The app register (JSON, problem+json errors), for callers with apps:manage; a change to it
    // (a new app, a secret, enabling) hands out access: a person with two factors, never a key.
    // The gate, the approval and the audit events live in app-register.ts (the console's Apps
    // page calls it too).
    const register = createAppRegister({ clients, audit });
    async function manager(request: FastifyRequest, changes = false) {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      const principal = await authenticator.principal(request, tenantId);
      return register.admit(tenantId, principal, { sourceIp: request.ip, requestId: request.id }, changes);
    }

    const clientIdOf = (request: FastifyRequest) => (request.params as { id: string }).id;

    app.post('/tenants/:tenant/apps', { bodyLimit: 64 * 1024 }, async (request, reply) => {
      const m = await manager(request, true);
      const body = request.body as Record<string, unknown> | null;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError('body-invalid', 'Send a JSON object.', { status: 400 });
      const input = {
        name: body['name'],
        publisher: body['publisher'],
        kind: body['kind'],
        scope: body['scope'],
        ...(body['authMethod'] === undefined ? {} : { authMethod: body['authMethod'] }),
        ...(body['redirectUris'] === undefined ? {} : { redirectUris: body['redirectUris'] }),
        ...(body['jwks'] === undefined ? {} : { jwks: body['jwks'] }),
        ...(body['role'] === undefined ? {} : { role: body['role'] }),
      } as ClientInput;
      if (input.redirectUris !== undefined && !Array.isArray(input.redirectUris)) throw new HttpError('body-invalid', 'redirectUris is a list of URIs.', { status: 400 });
      const { client, clientSecret, pending } = await register.register(m, input);
      // The secret is in this answer and nowhere else, ever (stored as SHA-256).
      return reply.status(201).send({
        app: view(client),
        ...(clientSecret === undefined ? {} : { clientSecret }),
        ...(pending ? { approval: `A platform operator approves this app before it gets tokens: tresor client approve --tenant ${m.tenantId} ${client.clientId}` } : {}),
      });
    });

    app.get('/tenants/:tenant/apps', async (request, reply) => {
      const m = await manager(request);
      return reply.send({ apps: (await register.list(m)).map(view) });
    });

    app.get('/tenants/:tenant/apps/:id', async (request, reply) => {
      const m = await manager(request);
      return reply.send({ app: view(await register.get(m, clientIdOf(request))) });
    });

    for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
      app.post(`/tenants/:tenant/apps/:id/${verb}`, async (request, reply) => {
        const m = await manager(request, true);
        return reply.send({ app: view(await register.setDisabled(m, clientIdOf(request), disabled)) });
      });
    }

    app.post('/tenants/:tenant/apps/:id/secret', async (request, reply) => {
      const m = await manager(request, true);
      const { client, clientSecret } = await register.renewSecret(m, clientIdOf(request));
      return reply.send({ app: view(client), clientSecret });
    });

    // A person's connected apps (their consents), and withdrawing one.
    async function person(request: FastifyRequest): Promise<{ tenantId: string; principal: Principal }> {
      const tenantId = parseTenantId((request.params as { tenant: string }).tenant);
      const principal = await authenticator.principal(request, tenantId);
      if (principal.kind !== 'person') throw forbidden('Connected apps belong to people; sign in.');
      return { tenantId, principal };
    }

    app.get('/tenants/:tenant/auth/apps', async (request, reply) => {
      const { tenantId, principal } = await person(request);
      const mine = await consents.listOf(tenantId, principal.id);
      const known = new Map((await clients.list(tenantId)).map((c) => [c.clientId, c]));
      return reply.send({
        apps: mine.map((c) => ({
          grantId: c.grantId,
          clientId: c.clientId,
          name: known.get(c.clientId)?.name ?? 'removed app',
          publisher: known.get(c.clientId)?.publisher ?? '',
          scope: c.scope,
          patient: c.patient ?? null,
          grantedAt: c.grantedAt,
        })),
      });
    });

    app.delete('/tenants/:tenant/auth/apps/:grantId', async (request, reply) => {
      const { tenantId, principal } = await person(request);
      const { grantId } = request.params as { grantId: string };
      await oauth.withdrawConsent(tenantId, grantId, { accountId: principal.id, role: principal.role }, { sourceIp: request.ip, requestId: request.id, status: 204 });
      return reply.status(204).send();
    });

  };
}
