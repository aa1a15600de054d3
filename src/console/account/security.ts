import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Accounts, Passkeys, PasskeyInfo, Sessions } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, formLimit, html, seeOther } from '../../platform/pages/index.js';
import type { PagePeople } from '../page-person.js';
import type { PageRealm } from '../page-realm.js';
import { accountCaller, accountPrefix, described, field, formOf, refusal, sendAccountPage, setSessionCookie, type AccountCaller } from './common.js';
import { minimumFor, newPasswordField } from './password-rules.js';
import { qrSvg } from './qr.js';
import { doneKinds, doneText, text, type Done } from './security-texts.js';

export interface SecurityPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly passkeys: Passkeys;
  readonly people: PagePeople;
}

/** Which form failed, so that its fields point at the page's error. */
type Failed = 'password' | 'totp' | 'totp-remove' | 'codes' | 'passkey-remove';

const isDone = (value: unknown): value is Done => typeof value === 'string' && (doneKinds as readonly string[]).includes(value);

/**
 * `…/account/security`, both realms: the password, the authenticator app (TOTP, with a QR code),
 * recovery codes and passkeys of one's own account. Every change goes through the same service
 * call as its JSON endpoint under `…/auth` (identity routes.ts and passkey-routes.ts) and does
 * what that endpoint does after it: a password or factor change ends every other session and
 * continues this one under a new token (OWASP ASVS 5 V7.4.3, V7.2.4); confirming a first factor
 * marks the session as two-factor. Changes need the password again (V6.2.3, V7.5.1). With
 * `?enrol=1` (or whenever the policy wants a factor this session has not shown) the page says why
 * and puts the setup first; afterwards the person continues to their home.
 */
export function securityPages(realm: PageRealm, { accounts, sessions, passkeys, people }: SecurityPagesDeps) {
  const securityOf = (caller: AccountCaller) => `${caller.base}/security`;
  const authBase = (caller: AccountCaller) => `${realm.base(caller.me.realmId)}/auth`;

  /** Ends the other sessions and rotates this one's token, as `afterFactorChange` in routes.ts; the new CSRF token. */
  async function afterFactorChange(reply: FastifyReply, caller: AccountCaller): Promise<string> {
    const { me } = caller;
    await sessions.revokeAll(me.realmId, me.account.id, me.session.id);
    const fresh = await sessions.rotate(me.realmId, me.token);
    if (fresh === undefined) throw new AppError('unauthenticated', 'Sign in first: there is no live session.', { status: 401, expose: true });
    setSessionCookie(reply, fresh);
    return sessions.csrfToken(fresh);
  }

  async function overview(request: FastifyRequest, reply: FastifyReply, caller: AccountCaller, input: { error?: string; failed?: Failed; status?: number; notice?: string } = {}) {
    const { me, locale } = caller;
    const t = text[locale];
    const factors = (await accounts.factors(me.realmId, me.account.id)) ?? { totp: false, passkey: false };
    const keys: PasskeyInfo[] = await passkeys.list(me.realmId, me.account.id);
    const enrol = me.mustEnrol || (request.query as Record<string, unknown>)['enrol'] === '1';
    const err = (form: Failed) => (input.failed === form ? input.error : undefined);
    const base = securityOf(caller);
    const csrf = html`<input type="hidden" name="csrf" value="${me.csrf}">`;

    const totpSection = html`<section aria-labelledby="totp-heading">
<h2 id="totp-heading">${t.totp}</h2>
${factors.totp
  ? html`<p>${t.totpOn}</p>
<form method="post" action="${base}/totp/remove" novalidate>${csrf}
<p class="hint">${t.removeTotpNote}</p>
<label for="remove-password">${t.confirmPassword}</label>
<input id="remove-password" name="password" type="password" autocomplete="current-password" required${described('page-error', err('totp-remove'))}>
<label for="remove-code">${t.code}</label>
<input id="remove-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required${described('page-error', err('totp-remove'))}>
<div class="actions"><button class="danger" type="submit">${t.removeTotp}</button></div>
</form>`
  : html`<p>${t.totpOff}</p>
<form method="post" action="${base}/totp" novalidate>${csrf}${enrol ? html`<input type="hidden" name="enrol" value="1">` : undefined}
<label for="totp-password">${t.confirmPassword}</label>
<input id="totp-password" name="password" type="password" autocomplete="current-password" required${described('page-error', err('totp'))}>
<div class="actions"><button class="primary" type="submit">${t.setUpTotp}</button></div>
</form>`}
</section>`;

    const passwordSection = html`<section aria-labelledby="password-heading">
<h2 id="password-heading">${t.password}</h2>
<form method="post" action="${base}/password" novalidate>${csrf}
<p class="hint">${t.passwordNote}</p>
<label for="current-password">${t.current}</label>
<input id="current-password" name="current" type="password" autocomplete="current-password" required${described('page-error', err('password'))}>
${newPasswordField({ id: 'new-password', name: 'next', label: t.newPassword, locale, min: minimumFor(me.account.secondFactor), error: err('password') })}
<div class="actions"><button class="primary" type="submit">${t.changePassword}</button></div>
</form>
</section>`;

    const codesSection = me.account.secondFactor
      ? html`<section aria-labelledby="codes-heading">
<h2 id="codes-heading">${t.codes}</h2>
<form method="post" action="${base}/recovery-codes" novalidate>${csrf}
<p class="hint">${t.codesNote}</p>
<label for="codes-password">${t.confirmPassword}</label>
<input id="codes-password" name="password" type="password" autocomplete="current-password" required${described('page-error', err('codes'))}>
<div class="actions"><button type="submit">${t.renewCodes}</button></div>
</form>
</section>`
      : undefined;

    const passkeySection = html`<section aria-labelledby="passkeys-heading">
<h2 id="passkeys-heading">${t.passkeys}</h2>
${keys.length === 0
  ? html`<p>${t.passkeysNone}</p>`
  : html`<table>
<thead><tr><th scope="col">${t.passkeyName}</th><th scope="col">${t.added}</th><th scope="col">${t.lastUsed}</th></tr></thead>
<tbody>${keys.map((k) => html`<tr><th scope="row">${k.name}</th><td>${formatDateTime(locale, k.createdAt)}</td><td>${k.lastUsedAt === null ? t.never : formatDateTime(locale, k.lastUsedAt)}</td></tr>`)}</tbody>
</table>
<form method="post" action="${base}/passkeys/remove" novalidate>${csrf}
<label for="passkey-id">${t.whichPasskey}</label>
<select id="passkey-id" name="id">${keys.map((k) => html`<option value="${k.id}">${k.name}</option>`)}</select>
<label for="passkey-remove-password">${t.confirmPassword}</label>
<input id="passkey-remove-password" name="password" type="password" autocomplete="current-password" required${described('page-error', err('passkey-remove'))}>
<div class="actions"><button class="danger" type="submit">${t.removePasskey}</button></div>
</form>`}
<p class="hint" id="passkey-needs-script">${t.passkeyNeedsScript}</p>
<form id="passkey-add" hidden method="post" action="${base}" novalidate data-csrf="${me.csrf}" data-options="${authBase(caller)}/passkeys/options" data-register="${authBase(caller)}/passkeys" data-done="${base}?done=passkey-added" data-home="${enrol ? realm.home(me.realmId, me.account.role) : ''}" data-waiting="${t.passkeyWaiting}" data-failed="${t.passkeyFailed}">
<label for="passkey-name">${t.passkeyLabel}</label>
<input id="passkey-name" name="name" type="text" maxlength="64" required>
<label for="passkey-password">${t.confirmPassword}</label>
<input id="passkey-password" name="password" type="password" autocomplete="current-password" required>
<div class="actions"><button type="submit">${t.addPasskey}</button></div>
<p id="passkey-status" role="status"></p>
</form>
<section id="passkey-codes" hidden aria-labelledby="passkey-codes-heading"><h2 id="passkey-codes-heading" tabindex="-1">${t.codesTitle}</h2><p>${t.codesShownOnce}</p><ol class="codes"></ol>
<div class="actions no-print"><button type="button" class="print-codes">${t.print}</button><a href="${enrol ? realm.home(me.realmId, me.account.role) : base}">${t.continue}</a></div></section>
</section>`;

    const body = html`${enrol && me.mustEnrol ? html`<div class="alert"><p>${t.enrolWhy}</p><p>${t.enrolHow}</p></div>` : undefined}
${me.mustEnrol ? html`${totpSection}${passkeySection}${passwordSection}` : html`${passwordSection}${totpSection}${codesSection}${passkeySection}`}`;
    return sendAccountPage(request, reply, realm, caller, {
      title: t.title,
      body,
      current: base,
      scripts: ['/assets/password-rules.js', '/assets/passkey-register.js'],
      ...(input.error === undefined ? {} : { error: input.error }),
      ...(input.notice === undefined ? {} : { notice: input.notice }),
      ...(input.status === undefined ? {} : { status: input.status }),
    });
  }

  /** The QR code and the key of a TOTP enrolment, and the form that confirms it with a code. */
  async function totpPage(request: FastifyRequest, reply: FastifyReply, caller: AccountCaller, enrolment: { secret: string; uri: string }, enrol: boolean, error?: string, status?: number) {
    const t = text[caller.locale];
    const base = securityOf(caller);
    const body = html`<p>${t.totpScan}</p>
<figure>${await qrSvg(enrolment.uri, t.qrLabel)}</figure>
<p>${t.manual}</p>
<p class="secret" id="totp-secret">${enrolment.secret.replace(/(.{4})/g, '$1 ').trim()}</p>
<form method="post" action="${base}/totp/confirm" novalidate>
<input type="hidden" name="csrf" value="${caller.me.csrf}">
<input type="hidden" name="secret" value="${enrolment.secret}">
<input type="hidden" name="uri" value="${enrolment.uri}">${enrol ? html`<input type="hidden" name="enrol" value="1">` : undefined}
<label for="totp-code">${t.totpConfirm}</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required${described('page-error', error)}>
<div class="actions"><button class="primary" type="submit">${t.confirm}</button><a href="${base}${enrol ? '?enrol=1' : ''}">${t.startAgain}</a></div>
</form>`;
    return sendAccountPage(request, reply, realm, caller, { title: t.totpTitle, body, current: base, ...(error === undefined ? {} : { error }), ...(status === undefined ? {} : { status }) });
  }

  /** Recovery codes, shown once, with a print button (a same-origin script; the print stylesheet hides all but the codes). */
  function codesPage(request: FastifyRequest, reply: FastifyReply, caller: AccountCaller, codes: readonly string[], next: string, csrf: string) {
    const t = text[caller.locale];
    const body = html`<p>${t.codesShownOnce}</p>
<ol class="codes" id="recovery-codes">${codes.map((code) => html`<li>${code}</li>`)}</ol>
<div class="actions no-print"><button type="button" class="print-codes">${t.print}</button><a href="${next}">${t.continue}</a></div>`;
    return sendAccountPage(request, reply, realm, caller, { title: t.codesTitle, body, current: securityOf(caller), csrf, scripts: ['/assets/print.js'] });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = accountPrefix(realm);
    const caller = (request: FastifyRequest, reply: FastifyReply) => accountCaller(request, reply, realm, people, sessions);

    app.get(`${prefix}/security`, async (request, reply) => {
      const c = await caller(request, reply);
      if (c === undefined) return reply;
      const done = (request.query as Record<string, unknown>)['done'];
      return overview(request, reply, c, isDone(done) ? { notice: text[c.locale][doneText[done]] } : {});
    });

    /** Runs a change; an exposed refusal goes back onto the overview with the failing form's fields marked. */
    const change = (failed: Failed, run: (c: AccountCaller, form: Record<string, string | undefined>, reply: FastifyReply, request: FastifyRequest) => Promise<unknown>) =>
      async (request: FastifyRequest, reply: FastifyReply) => {
        const c = await caller(request, reply);
        if (c === undefined) return reply;
        try {
          return await run(c, formOf(request), reply, request);
        } catch (error) {
          const known = refusal(error);
          if (known === undefined || known.code === 'csrf-invalid') throw error;
          for (const [name, value] of Object.entries(known.headers)) reply.header(name, value);
          return overview(request, reply, c, { error: known.message, failed, status: known.status });
        }
      };
    const opts = { bodyLimit: formLimit };
    const sourceIp = (request: FastifyRequest) => request.ip;

    // As `POST /auth/password`.
    app.post(`${prefix}/security/password`, opts, change('password', async (c, form, reply, request) => {
      await accounts.changePassword({ tenantId: c.me.realmId, accountId: c.me.account.id, current: field(form, 'current'), next: field(form, 'next'), sourceIp: sourceIp(request) });
      await afterFactorChange(reply, c);
      return seeOther(reply, `${securityOf(c)}?done=password`);
    }));

    // As `POST /auth/totp`: the secret is shown in this answer only (no redirect: it is not put into a URL).
    app.post(`${prefix}/security/totp`, opts, change('totp', async (c, form, reply, request) => {
      const enrolment = await accounts.beginTotp({ tenantId: c.me.realmId, accountId: c.me.account.id, password: field(form, 'password'), sourceIp: sourceIp(request) });
      return totpPage(request, reply, c, enrolment, form['enrol'] === '1');
    }));

    // As `POST /auth/totp/confirm`: the session has now shown both factors, under a new token.
    app.post(`${prefix}/security/totp/confirm`, opts, async (request, reply) => {
      const c = await caller(request, reply);
      if (c === undefined) return reply;
      const form = formOf(request);
      const enrol = form['enrol'] === '1' || c.me.mustEnrol;
      let recoveryCodes: readonly string[];
      try {
        ({ recoveryCodes } = await accounts.confirmTotp({ tenantId: c.me.realmId, accountId: c.me.account.id, code: field(form, 'code'), sourceIp: request.ip }));
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        // The pending secret is the server's; the page only shows again what it showed (a URI it did not make is not drawn).
        const secret = field(form, 'secret');
        const uri = field(form, 'uri');
        if (known.status === 409 || !/^[A-Z2-7]{16,128}$/.test(secret) || !uri.startsWith('otpauth://totp/') || !uri.includes(`secret=${secret}`)) return overview(request, reply, c, { error: known.message, failed: 'totp', status: known.status });
        return totpPage(request, reply, c, { secret, uri }, enrol, known.message, known.status);
      }
      await sessions.markSecondFactor(c.me.realmId, c.me.session.id);
      const fresh = await sessions.rotate(c.me.realmId, c.me.token);
      if (fresh === undefined) throw new AppError('unauthenticated', 'Sign in first: there is no live session.', { status: 401, expose: true });
      setSessionCookie(reply, fresh);
      return codesPage(request, reply, c, recoveryCodes, enrol ? realm.home(c.me.realmId, c.me.account.role) : securityOf(c), sessions.csrfToken(fresh));
    });

    // As `POST /auth/totp/remove`.
    app.post(`${prefix}/security/totp/remove`, opts, change('totp-remove', async (c, form, reply, request) => {
      await accounts.removeTotp({ tenantId: c.me.realmId, accountId: c.me.account.id, password: field(form, 'password'), code: field(form, 'code'), sourceIp: sourceIp(request) });
      await afterFactorChange(reply, c);
      return seeOther(reply, `${securityOf(c)}?done=totp-removed`);
    }));

    // As `POST /auth/recovery-codes`.
    app.post(`${prefix}/security/recovery-codes`, opts, change('codes', async (c, form, reply, request) => {
      const { recoveryCodes } = await accounts.renewRecoveryCodes({ tenantId: c.me.realmId, accountId: c.me.account.id, password: field(form, 'password'), sourceIp: sourceIp(request) });
      return codesPage(request, reply, c, recoveryCodes, securityOf(c), c.me.csrf);
    }));

    // As `POST /auth/passkeys/{id}/remove`.
    app.post(`${prefix}/security/passkeys/remove`, opts, change('passkey-remove', async (c, form, reply, request) => {
      const account = await accounts.reauthenticate({ tenantId: c.me.realmId, accountId: c.me.account.id, password: field(form, 'password'), sourceIp: sourceIp(request) });
      await passkeys.remove({ tenantId: c.me.realmId, account, id: field(form, 'id'), sourceIp: sourceIp(request) });
      await afterFactorChange(reply, c);
      return seeOther(reply, `${securityOf(c)}?done=passkey-removed`);
    }));
  };
}
