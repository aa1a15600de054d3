import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fromFrameworkError } from '../http/index.js';
import type { Html } from './html.js';
import { html } from './html.js';
import { isLocale, localeCookieHeader, localeOf, type Texts } from './i18n.js';
import { layout } from './layout.js';

/** The largest form a page accepts. */
export const formLimit = 16 * 1024;

/**
 * Our pages' Content-Security-Policy: nothing runs; styles and images from this origin only; no
 * framing (clickjacking); no <base> (OWASP ASVS 5 V3.4.3).
 */
export const pageCsp = "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** For a page with a script of this origin (a file, never inline), and its fetches to this origin. */
export const scriptPageCsp = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** An HTML page under its own CSP; never cached (it shows personal data or a form's token). */
export function sendPage(reply: FastifyReply, page: Html | string, status = 200, csp = pageCsp): FastifyReply {
  return reply
    .status(status)
    .header('content-security-policy', csp)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(typeof page === 'string' ? page : page.text);
}

/** A 303 See Other: after a form's POST the browser GETs the next page (no re-submission on reload). */
export const seeOther = (reply: FastifyReply, location: string): FastifyReply => reply.status(303).header('location', location).send();

const errorText: Texts<'cannot' | 'wrong' | 'wrongText'> = {
  en: { cannot: 'Cannot continue', wrong: 'Something went wrong', wrongText: 'Something went wrong on our side. Go back and try again.' },
  de: { cannot: 'Das geht nicht', wrong: 'Etwas ist schiefgegangen', wrongText: 'Bei uns ist etwas schiefgegangen. Gehen Sie zurück und versuchen Sie es noch einmal.' },
};

/** A page with a title and one message, in the one layout. */
export function messagePage(request: FastifyRequest, title: string, message: string): Html {
  return layout({ locale: localeOf(request), title, path: request.url, body: html`<p>${message}</p>` });
}

/**
 * Makes a plugin serve pages for people: forms arrive as application/x-www-form-urlencoded, and
 * errors are pages too, never problem+json — an exposed refusal says what it is, anything else is
 * logged by type and code only (never a message, which can quote what was typed).
 */
export function servePages(app: FastifyInstance, label: string): void {
  // Forms only: a body of any other type is a 415 page, not a string handed to the handlers.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: formLimit }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // A language chosen with the switch (`?lang=`) is kept for the next pages.
  app.addHook('onRequest', async (request, reply) => {
    const chosen = (request.query as Record<string, unknown> | undefined)?.['lang'];
    if (isLocale(chosen)) reply.header('set-cookie', localeCookieHeader(chosen));
  });
  app.setErrorHandler((error, request, reply) => {
    // The framework's own refusals (too large, wrong type, cut off) are the sender's: 4xx pages.
    const appError = fromFrameworkError(error, 'the form as application/x-www-form-urlencoded');
    const known = appError.expose && appError.status < 500;
    if (!known) request.log.error({ err: { type: (error as Error).name, code: (error as { code?: unknown }).code } }, `${label} failed`);
    const t = errorText[localeOf(request)];
    for (const [name, value] of Object.entries(known ? (appError.headers ?? {}) : {})) reply.header(name, value);
    return sendPage(reply, messagePage(request, known ? t.cannot : t.wrong, known ? appError.message : t.wrongText), known ? appError.status : 500);
  });
}
