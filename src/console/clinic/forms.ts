import type { FastifyRequest } from 'fastify';
import { isTwoFactorPerson, type RequestContext } from '../../identity/index.js';
import { isAppError } from '../../platform/errors.js';
import { html, type Html, type Texts } from '../../platform/pages/index.js';
import type { StaffCaller } from '../page-guard.js';

/** Where a page's request came from, for the services' audit events (as the JSON routes pass it). */
export const requestContext = (request: FastifyRequest): RequestContext => ({ sourceIp: request.ip, requestId: request.id });

/** The form's fields (servePages parses application/x-www-form-urlencoded into strings). */
export const formOf = (request: FastifyRequest): Record<string, string> => (request.body ?? {}) as Record<string, string>;

/** The query's `done=` when it is one of `known`: a notice after a POST → 303 → GET, never free text from the URL. */
export function doneOf<K extends string>(request: FastifyRequest, known: readonly K[]): K | undefined {
  const done = (request.query as Record<string, unknown> | undefined)?.['done'];
  return (known as readonly unknown[]).includes(done) ? (done as K) : undefined;
}

/**
 * A refusal the person can act on (a rule of the service: 400, 404, 409, or a change that waits
 * for a platform operator), shown on the page they came from. Any other 403 (role, second
 * factor, CSRF) and anything unexpected go to the error page.
 */
export function refusalOf(error: unknown): { message: string; status: number } | undefined {
  if (!isAppError(error) || !error.expose || error.status < 400 || error.status >= 500) return undefined;
  if (error.status === 403 && error.code !== 'approval-required') return undefined;
  return { message: error.message, status: error.status };
}

/** A hidden field with the session's CSRF token (OWASP CSRF Prevention Cheat Sheet: synchronizer token). */
export const csrfField = (csrf: string): Html => html`<input type="hidden" name="csrf" value="${csrf}">`;

/** A one-button form (an action without further input). */
export const buttonForm = (action: string, csrf: string, label: string, kind: 'primary' | 'danger' | 'plain' = 'plain'): Html =>
  html`<form method="post" action="${action}" class="inline">${csrfField(csrf)}<button type="submit"${kind === 'plain' ? undefined : html` class="${kind}"`}>${label}</button></form>`;

/**
 * The confirmation step of a destructive action: what happens, the button that does it, and a
 * way back that does nothing (a GET never changes anything; the POST does).
 */
export function confirmBody(input: { action: string; csrf: string; consequence: Html | string; button: string; cancel: { href: string; label: string }; fields?: Html }): Html {
  return html`<p>${input.consequence}</p>
<form method="post" action="${input.action}">
${csrfField(input.csrf)}${input.fields}
<div class="actions"><button type="submit" class="danger">${input.button}</button> <a href="${input.cancel.href}">${input.cancel.label}</a></div>
</form>`;
}

/** `aria-describedby` + `aria-invalid` tying a field to the page's error (WCAG 2.2, 3.3.1). */
export const described = (error: string | undefined): Html | undefined => (error === undefined ? undefined : html` aria-describedby="page-error" aria-invalid="true"`);

const changeText: Texts<'needsFactor'> = {
  en: { needsFactor: 'You can look but not change anything here: changes need you signed in with a second factor. Set one up under “Your account”, then sign in again.' },
  de: { needsFactor: 'Sie können hier nur ansehen, nichts ändern: Änderungen verlangen eine Anmeldung mit zweitem Faktor. Richten Sie ihn unter „Ihr Konto“ ein und melden Sie sich erneut an.' },
};

/**
 * Whether this caller's changes would be accepted (two-factor-person.ts: a person signed in with
 * two factors). A page offers its change controls only then (OWASP ASVS 4.0.3 V4.3.1), and says
 * why not otherwise, instead of forms that would answer 403.
 */
export const mayChange = (caller: StaffCaller): boolean => isTwoFactorPerson(caller.principal);

export const lookOnly = (caller: StaffCaller): Html => html`<p class="notice">${changeText[caller.locale].needsFactor}</p>`;
