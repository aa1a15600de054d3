import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts, PasswordResets, Sessions } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { formLimit, html, layout, localeOf, seeOther, sendPage, scriptPageCsp, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { clearFormCookie, type FormCsrf } from '../form-csrf.js';
import type { PageRealm } from '../page-realm.js';
import { accountBase, accountPrefix, described, field, refusal } from './common.js';
import { minimumFor, newPasswordField } from './password-rules.js';

const text: Texts<
  | 'setupTitle' | 'setupIntro' | 'password' | 'setupSubmit' | 'setupDone' | 'signIn'
  | 'badLinkTitle' | 'badLink' | 'askAgain' | 'askAdmin'
  | 'forgotTitle' | 'forgotIntro' | 'email' | 'forgotSubmit' | 'forgotSent' | 'operatorsForgot'
  | 'resetTitle' | 'resetIntro' | 'newPassword' | 'resetSubmit' | 'resetDone'
> = {
  en: {
    setupTitle: 'Choose your password',
    setupIntro: 'Welcome. Choose the password you will sign in with. This link works once.',
    password: 'Password',
    setupSubmit: 'Save password',
    setupDone: 'Your password is set. Sign in with your email address and the new password.',
    signIn: 'Sign in',
    badLinkTitle: 'This link does not work',
    badLink: 'This link is not valid: it may have expired or been used already.',
    askAgain: 'Ask for a new password reset',
    askAdmin: 'Ask whoever invited you to send a new invitation.',
    forgotTitle: 'Forgot your password?',
    forgotIntro: 'Enter the email address of your account. If it belongs to an account here, we send it a link to choose a new password; it works once, for 30 minutes.',
    email: 'Email address',
    forgotSubmit: 'Send the link',
    forgotSent: 'If this email address belongs to an account here, a message with a link is on its way. Check your inbox, and the spam folder.',
    operatorsForgot: 'Operators’ passwords are not reset by email: someone with access to the server sets a new one there (tresor operator create). Ask another operator.',
    resetTitle: 'Choose a new password',
    resetIntro: 'Choose the new password for your account. Every session of your account ends, wherever it was opened; your second factor stays.',
    newPassword: 'New password',
    resetSubmit: 'Save new password',
    resetDone: 'Your password is changed and every session of your account has ended. Sign in with the new password.',
  },
  de: {
    setupTitle: 'Wählen Sie Ihr Passwort',
    setupIntro: 'Willkommen. Wählen Sie das Passwort, mit dem Sie sich anmelden. Dieser Link funktioniert einmal.',
    password: 'Passwort',
    setupSubmit: 'Passwort speichern',
    setupDone: 'Ihr Passwort ist gesetzt. Melden Sie sich mit Ihrer E-Mail-Adresse und dem neuen Passwort an.',
    signIn: 'Anmelden',
    badLinkTitle: 'Dieser Link funktioniert nicht',
    badLink: 'Dieser Link ist nicht gültig: Er ist vielleicht abgelaufen oder wurde schon benutzt.',
    askAgain: 'Neues Zurücksetzen anfordern',
    askAdmin: 'Bitten Sie die Person, die Sie eingeladen hat, um eine neue Einladung.',
    forgotTitle: 'Passwort vergessen?',
    forgotIntro: 'Geben Sie die E-Mail-Adresse Ihres Kontos ein. Gehört sie zu einem Konto hier, senden wir ihr einen Link, mit dem Sie ein neues Passwort wählen; er funktioniert einmal, 30 Minuten lang.',
    email: 'E-Mail-Adresse',
    forgotSubmit: 'Link senden',
    forgotSent: 'Wenn diese E-Mail-Adresse zu einem Konto hier gehört, ist eine Nachricht mit einem Link unterwegs. Sehen Sie in Ihren Posteingang und in den Spam-Ordner.',
    operatorsForgot: 'Passwörter von Betreibern werden nicht per E-Mail zurückgesetzt: Jemand mit Zugang zum Server setzt dort ein neues (tresor operator create). Fragen Sie eine andere Betreiberin oder einen anderen Betreiber.',
    resetTitle: 'Wählen Sie ein neues Passwort',
    resetIntro: 'Wählen Sie das neue Passwort Ihres Kontos. Jede Sitzung Ihres Kontos endet, wo auch immer sie geöffnet wurde; Ihr zweiter Faktor bleibt.',
    newPassword: 'Neues Passwort',
    resetSubmit: 'Neues Passwort speichern',
    resetDone: 'Ihr Passwort ist geändert, und jede Sitzung Ihres Kontos ist beendet. Melden Sie sich mit dem neuen Passwort an.',
  },
};

export interface FirstPasswordDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly passwordResets: PasswordResets;
  readonly forms: FormCsrf;
}

/** A token from a link: base64url of a 256-bit random value; anything else is not one (and is never echoed). */
const tokenOf = (value: unknown) => (typeof value === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(value) ? value : undefined);

/**
 * The pages a person uses without a session (both realms; the reset only where the JSON API has
 * it, the tenants'):
 * - `…/account/setup?token=…`: the first password of an invited account (`accounts.completeSetup`,
 *   as `POST /auth/setup`), then to sign in — not straight into a session, so that the second
 *   factor the policy may ask for is set up after a normal sign-in, by the one path that does it;
 * - `…/account/forgot`: the same answer for every email (`passwordResets.request`, as
 *   `POST /auth/password-reset`: throttled per address, the lookup and mail after the answer);
 * - `…/account/reset?token=…`: a new password (`accounts.resetPassword`, then every session of
 *   the account ends, as `POST /auth/password-reset/confirm`).
 * Tokens travel in the query of a link and then a hidden field; the request log drops query
 * strings, and the layout sets `Referrer-Policy: no-referrer` (OWASP ASVS 5 V14.2.1 — no
 * secrets leaking through URLs to third parties).
 */
export function firstPasswordPages(realm: PageRealm, { accounts, sessions, passwordResets, forms }: FirstPasswordDeps) {
  const resets = realm.kind === 'tenant';

  function page(request: FastifyRequest, reply: FastifyReply, space: string, input: { title: string; body: Html; error?: string | undefined; notice?: string; status?: number; script?: boolean }) {
    const locale = localeOf(request);
    return sendPage(
      reply,
      layout({ locale, title: input.title, space, path: request.url, body: input.body, ...(input.error === undefined ? {} : { error: input.error }), ...(input.notice === undefined ? {} : { notice: input.notice }), ...(input.script === true ? { scripts: ['/assets/password-rules.js'] } : {}) }),
      input.status ?? 200,
      input.script === true ? scriptPageCsp : undefined,
    );
  }

  /** A link that did not work: says so plainly, and what to do instead. */
  function badLink(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, kind: 'setup' | 'reset') {
    const t = text[localeOf(request)];
    const base = accountBase(realm, realmId);
    const body = html`<p>${t.badLink}</p>
<p>${kind === 'reset' ? html`<a href="${base}/forgot">${t.askAgain}</a>` : t.askAdmin}</p>
<p><a href="${base}/sign-in">${t.signIn}</a></p>`;
    return page(request, reply, space, { title: t.badLinkTitle, body, status: 400 });
  }

  async function passwordForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, kind: 'setup' | 'reset', token: string, error?: string, status?: number) {
    const locale: Locale = localeOf(request);
    const t = text[locale];
    const csrf = await forms.issue(reply, realmId);
    const base = accountBase(realm, realmId);
    const body = html`<p>${kind === 'setup' ? t.setupIntro : t.resetIntro}</p>
<form method="post" action="${base}/${kind}" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="token" value="${token}">
${newPasswordField({ id: 'password', name: 'password', label: kind === 'setup' ? t.password : t.newPassword, locale, min: minimumFor(false), error })}
<div class="actions"><button class="primary" type="submit">${kind === 'setup' ? t.setupSubmit : t.resetSubmit}</button></div>
</form>`;
    return page(request, reply, space, { title: kind === 'setup' ? t.setupTitle : t.resetTitle, body, error, script: true, ...(status === undefined ? {} : { status }) });
  }

  function done(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, kind: 'setup' | 'reset') {
    const t = text[localeOf(request)];
    reply.header('set-cookie', clearFormCookie);
    const body = html`<p><a href="${accountBase(realm, realmId)}/sign-in">${t.signIn}</a></p>`;
    return page(request, reply, space, { title: kind === 'setup' ? t.setupTitle : t.resetTitle, notice: kind === 'setup' ? t.setupDone : t.resetDone, body });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = accountPrefix(realm);
    const spaceOf = async (request: FastifyRequest) => {
      const realmId = realm.of(request);
      const space = await realm.space(realmId);
      if (space === undefined) throw new AppError('not-found', 'There is no such page.', { status: 404, expose: true });
      return { realmId, space };
    };

    for (const kind of ['setup', ...(resets ? ['reset' as const] : [])] as const) {
      app.get(`${prefix}/${kind}`, async (request, reply) => {
        const { realmId, space } = await spaceOf(request);
        const query = request.query as Record<string, unknown>;
        if (query['done'] === '1') return done(request, reply, realmId, space, kind);
        const token = tokenOf(query['token']);
        if (token === undefined) return badLink(request, reply, realmId, space, kind);
        return passwordForm(request, reply, realmId, space, kind, token);
      });

      app.post(`${prefix}/${kind}`, { bodyLimit: formLimit }, async (request, reply) => {
        const { realmId, space } = await spaceOf(request);
        const form = await forms.check(request, realmId, localeOf(request));
        const token = tokenOf(form['token']);
        if (token === undefined) return badLink(request, reply, realmId, space, kind);
        const password = field(form, 'password');
        try {
          if (kind === 'setup') {
            await accounts.completeSetup({ tenantId: realmId, token, password, sourceIp: request.ip });
          } else {
            const account = await accounts.resetPassword({ tenantId: realmId, token, password, sourceIp: request.ip });
            // Whoever prompted the reset may be who held a session (OWASP ASVS 5 V7.4.3).
            await sessions.revokeAll(realmId, account.id);
          }
        } catch (error) {
          const known = refusal(error);
          if (known === undefined) throw error;
          if (known.code === 'token-invalid') return badLink(request, reply, realmId, space, kind);
          return passwordForm(request, reply, realmId, space, kind, token, known.message, known.status);
        }
        return seeOther(reply, `${accountBase(realm, realmId)}/${kind}?done=1`);
      });
    }

    app.get(`${prefix}/forgot`, async (request, reply) => {
      const { realmId, space } = await spaceOf(request);
      const t = text[localeOf(request)];
      if (!resets) return page(request, reply, space, { title: t.forgotTitle, body: html`<p>${t.operatorsForgot}</p>` });
      const sent = (request.query as Record<string, unknown>)['sent'] === '1';
      return forgotForm(request, reply, realmId, space, sent ? { notice: t.forgotSent } : {});
    });

    async function forgotForm(request: FastifyRequest, reply: FastifyReply, realmId: string, space: string, input: { notice?: string; error?: string; status?: number }) {
      const t = text[localeOf(request)];
      const csrf = await forms.issue(reply, realmId);
      const body = html`<p>${t.forgotIntro}</p>
<form method="post" action="${accountBase(realm, realmId)}/forgot" novalidate>
<input type="hidden" name="csrf" value="${csrf}">
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required${described('page-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.forgotSubmit}</button></div>
</form>
<p><a href="${accountBase(realm, realmId)}/sign-in">${t.signIn}</a></p>`;
      return page(request, reply, space, { title: t.forgotTitle, body, ...input });
    }

    if (resets) {
      app.post(`${prefix}/forgot`, { bodyLimit: formLimit }, async (request, reply) => {
        const { realmId, space } = await spaceOf(request);
        const form = await forms.check(request, realmId, localeOf(request));
        try {
          await passwordResets.request({ tenantId: realmId, email: field(form, 'email'), sourceIp: request.ip });
        } catch (error) {
          const known = refusal(error);
          if (known === undefined) throw error;
          for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
          return forgotForm(request, reply, realmId, space, { error: known.message, status: known.status });
        }
        // The same answer whoever the email belongs to, if anyone (OWASP Forgot Password Cheat Sheet).
        return seeOther(reply, `${accountBase(realm, realmId)}/forgot?sent=1`);
      });
    }
  };
}
