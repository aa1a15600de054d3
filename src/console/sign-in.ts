import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, type Accounts, type OwnSessions, type Passkeys, type Sessions } from '../identity/index.js';
import { AppError } from '../platform/errors.js';
import { formLimit, html, layout, localeOf, pageCsp, passkeySignInPath, scriptPageCsp, seeOther, sendPage, type Locale, type Texts } from '../platform/pages/index.js';
import type { MfaPolicy } from '../tenants/index.js';
import { clearFormCookie, type FormCsrf } from './form-csrf.js';
import type { PagePeople } from './page-person.js';
import { safeNext, type PageRealm } from './page-realm.js';

export interface SignInPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly passkeys: Passkeys;
  readonly forms: FormCsrf;
  readonly people: PagePeople;
  readonly mfaPolicy: (realmId: string) => Promise<MfaPolicy>;
  /** Signing out, audited as the JSON API's logout is. */
  readonly own: OwnSessions;
}

const text: Texts<
  'title' | 'intro' | 'email' | 'password' | 'submit' | 'forgot' | 'factorTitle' | 'factorIntro' | 'code' | 'continue' | 'signedOut' | 'already' | 'toHome' | 'usePasskey' | 'passkeyOr' | 'passkeyWaiting' | 'passkeyFailed'
> = {
  en: {
    title: 'Sign in',
    intro: 'Sign in with the email address and password of your account.',
    email: 'Email address',
    password: 'Password',
    submit: 'Sign in',
    forgot: 'Forgot your password?',
    factorTitle: 'Confirm it is you',
    factorIntro: 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
    code: 'Code',
    continue: 'Continue',
    signedOut: 'You are signed out.',
    already: 'You are signed in.',
    toHome: 'Continue',
    usePasskey: 'Use a passkey',
    passkeyOr: 'Or use one of your passkeys:',
    passkeyWaiting: 'Follow your browser’s steps for the passkey…',
    passkeyFailed: 'The passkey did not work. Try again, or enter a code.',
  },
  de: {
    title: 'Anmelden',
    intro: 'Melden Sie sich mit der E-Mail-Adresse und dem Passwort Ihres Kontos an.',
    email: 'E-Mail-Adresse',
    password: 'Passwort',
    submit: 'Anmelden',
    forgot: 'Passwort vergessen?',
    factorTitle: 'Bestätigen Sie, dass Sie es sind',
    factorIntro: 'Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.',
    code: 'Code',
    continue: 'Weiter',
    signedOut: 'Sie sind abgemeldet.',
    already: 'Sie sind angemeldet.',
    toHome: 'Weiter',
    usePasskey: 'Passkey verwenden',
    passkeyOr: 'Oder verwenden Sie einen Ihrer Passkeys:',
    passkeyWaiting: 'Folgen Sie den Schritten Ihres Browsers für den Passkey …',
    passkeyFailed: 'Der Passkey hat nicht funktioniert. Versuchen Sie es noch einmal oder geben Sie einen Code ein.',
  },
};

const described = (id: string, error: string | undefined) => (error === undefined ? undefined : html` aria-describedby="${id}" aria-invalid="true"`);

/**
 * Signing in to the pages, for both realms (`/tenants/{t}/account/…` and `/platform/account/…`):
 * password, then the second factor when the account has one, then a session (the same cookie
 * as the JSON API: `__Host-`, HttpOnly, SameSite=Strict; a new token on every sign-in, OWASP
 * ASVS 5 V7.2.4). A person whose policy asks for a second factor they have not set up gets a
 * session that only their security page serves, and is sent there. `?next=` brings them back to
 * the page that sent them, if it is a page of the same realm.
 */
export function signInPages(realm: PageRealm, { accounts, sessions, passkeys, forms, people, mfaPolicy, own }: SignInPagesDeps) {
  const checkForm = (request: FastifyRequest, realmId: string, locale: Locale) => forms.check(request, realmId, locale);

  const pathsOf = (realmId: string) => {
    const account = `${realm.base(realmId)}/account`;
    return { signIn: `${account}/sign-in`, secondFactor: `${account}/second-factor`, signOut: `${account}/sign-out`, forgot: `${account}/forgot`, security: `${account}/security` };
  };

  async function signInForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, input: { error?: string; email?: string; next?: string; notice?: string; status?: number }) {
    const locale = localeOf(request);
    const t = text[locale];
    const paths = pathsOf(realmId);
    const csrf = await forms.issue(reply, realmId);
    const body = html`<p>${t.intro}</p>
<form method="post" action="${paths.signIn}" novalidate>
<input type="hidden" name="csrf" value="${csrf}">${input.next === undefined ? undefined : html`<input type="hidden" name="next" value="${input.next}">`}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${input.email ?? ''}"${described('page-error', input.error)}>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described('page-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.submit}</button></div>
</form>
<p><a href="${paths.forgot}">${t.forgot}</a></p>`;
    return sendPage(reply, layout({ locale, title: t.title, space, path: request.url, body, ...(input.error === undefined ? {} : { error: input.error }), ...(input.notice === undefined ? {} : { notice: input.notice }) }), input.status ?? 200);
  }

  /**
   * The second step: a code, and — when the account has a passkey — a "Use a passkey" button,
   * shown by the same-origin script both sign-in pages share (passkeySignInPath) that fills the form's `passkey`
   * field with the WebAuthn assertion; the code field keeps working without it.
   */
  function secondFactorForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, input: { csrf: string; ticket: string; next?: string; error?: string; status?: number; passkey: boolean }) {
    const locale = localeOf(request);
    const t = text[locale];
    const paths = pathsOf(realmId);
    const body = html`<p>${t.factorIntro}</p>
<form method="post" action="${paths.secondFactor}" id="second-factor-form" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="ticket" value="${input.ticket}">${input.next === undefined ? undefined : html`<input type="hidden" name="next" value="${input.next}">`}${input.passkey ? html`<input type="hidden" name="passkey" value=""><input type="hidden" name="offer" value="passkey">` : undefined}
<label for="code">${t.code}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required${described('page-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.continue}</button></div>
</form>
${input.passkey ? html`<div class="passkey-step"><button type="button" id="use-passkey" hidden data-options="${paths.secondFactor}/passkey-options" data-waiting="${t.passkeyWaiting}" data-failed="${t.passkeyFailed}">${t.usePasskey}</button>
<p id="passkey-status" role="status"></p></div>` : undefined}`;
    return sendPage(
      reply,
      layout({ locale, title: t.factorTitle, space, path: request.url, body, ...(input.error === undefined ? {} : { error: input.error }), ...(input.passkey ? { scripts: [passkeySignInPath] } : {}) }),
      input.status ?? 200,
      input.passkey ? scriptPageCsp : pageCsp,
    );
  }

  async function startSession(request: FastifyRequest, reply: FastifyReply, realmId: string, account: { id: string; role: string; secondFactor: boolean }, secondFactor: boolean, next: string | undefined) {
    const policy = realm.kind === 'operators' ? 'everyone' : await mfaPolicy(realmId);
    const mustEnrol = !secondFactor && (policy === 'everyone' || (policy === 'staff' && account.role !== 'patient'));
    const { token } = await sessions.start(realmId, account.id, { secondFactor, sourceIp: request.ip });
    reply.header('set-cookie', [`${sessionCookie}=${token}; Path=/; Secure; HttpOnly; SameSite=Strict`, clearFormCookie]);
    if (mustEnrol) return seeOther(reply, `${pathsOf(realmId).security}?enrol=1`);
    return seeOther(reply, next ?? realm.home(realmId, account.role));
  }

  /** An exposed refusal (wrong password, throttled, locked) goes back onto the form; anything else is the page error handler's. */
  const refusal = (error: unknown): AppError | undefined => (error instanceof AppError && error.expose && error.status < 500 ? error : undefined);

  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = realm.kind === 'operators' ? '/platform/account' : '/tenants/:tenant/account';
    const spaceOf = async (request: FastifyRequest) => {
      const realmId = realm.of(request);
      const space = await realm.space(realmId);
      if (space === undefined) throw new AppError('not-found', 'There is no such page.', { status: 404, expose: true });
      return { realmId, space };
    };

    app.get(`${prefix}/sign-in`, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const query = request.query as Record<string, unknown>;
      const next = safeNext(query['next'], realm.base(realmId));
      const me = await people.of(request, realm);
      if (me !== undefined && !me.mustEnrol) return seeOther(reply, next ?? realm.home(realmId, me.account.role));
      return signInForm(request, reply, realmId, space, { ...(next === undefined ? {} : { next }), ...(query['signedOut'] === '1' ? { notice: text[localeOf(request)].signedOut } : {}) });
    });

    app.post(`${prefix}/sign-in`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const form = await checkForm(request, realmId, localeOf(request));
      const next = safeNext(form['next'], realm.base(realmId));
      const email = String(form['email'] ?? '');
      try {
        const signedIn = await accounts.login({ tenantId: realmId, tenantActive: true, email, password: String(form['password'] ?? ''), sourceIp: request.ip });
        const { account, secondFactorTicket, secondFactorMethods } = signedIn;
        if (secondFactorTicket !== undefined) return secondFactorForm(request, reply, realmId, space, { csrf: String(form['csrf']), ticket: secondFactorTicket, passkey: secondFactorMethods?.includes('passkey') === true, ...(next === undefined ? {} : { next }) });
        return await startSession(request, reply, realmId, account, false, next);
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
        return signInForm(request, reply, realmId, space, { error: known.message, email, status: known.status, ...(next === undefined ? {} : { next }) });
      }
    });

    app.post(`${prefix}/second-factor`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const form = await checkForm(request, realmId, localeOf(request));
      const next = safeNext(form['next'], realm.base(realmId));
      const ticket = String(form['ticket'] ?? '');
      const offered = form['offer'] === 'passkey';
      try {
        // A passkey's assertion (JSON, from the script) or a code; a malformed assertion fails like a wrong one.
        const assertion = String(form['passkey'] ?? '');
        let passkey: unknown = {};
        if (assertion !== '') {
          try {
            passkey = JSON.parse(assertion) as unknown;
          } catch {
            passkey = {};
          }
        }
        const proof = assertion === '' ? { code: String(form['code'] ?? '') } : { passkey };
        const account = await accounts.secondFactor({ tenantId: realmId, ticket, ...proof, sourceIp: request.ip });
        return await startSession(request, reply, realmId, account, true, next);
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        return secondFactorForm(request, reply, realmId, space, { csrf: String(form['csrf']), ticket, error: known.message, status: known.status, passkey: offered, ...(next === undefined ? {} : { next }) });
      }
    });

    // The passkey button's challenge for this sign-in's ticket (WebAuthn options, JSON), as `POST …/auth/second-factor/passkey/options`.
    app.post(`${prefix}/second-factor/passkey-options`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId } = await spaceOf(request);
      const form = await checkForm(request, realmId, localeOf(request));
      return reply.header('cache-control', 'no-store').send(await passkeys.loginOptions({ tenantId: realmId, ticket: String(form['ticket'] ?? '') }));
    });

    app.post(`${prefix}/sign-out`, { bodyLimit: formLimit }, async (request, reply) => {
      const { realmId } = await spaceOf(request);
      const me = await people.of(request, realm);
      const form = (request.body ?? {}) as Record<string, string>;
      // Only with the session's own CSRF token: a cross-site form cannot sign a person out either.
      if (me !== undefined) {
        if (!sessions.checkCsrf(me.token, typeof form['csrf'] === 'string' ? form['csrf'] : undefined)) return seeOther(reply, realm.home(realmId, me.account.role));
        await own.signOut({ tenantId: realmId, accountId: me.account.id, sourceIp: request.ip, requestId: request.id }, me.session.id);
      }
      reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
      return seeOther(reply, `${pathsOf(realmId).signIn}?signedOut=1`);
    });
  };
}
