import type { FastifyInstance, FastifyReply } from 'fastify';
import { fromFrameworkError } from '../platform/http/index.js';
import { messagePage, pageCsp } from './pages.js';

/** The largest form a page accepts. */
export const formLimit = 16 * 1024;

/** An HTML page under its own CSP (pages.ts: no script, or this origin's passkey script). */
export function sendPage(reply: FastifyReply, html: string, status = 200, csp = pageCsp): FastifyReply {
  return reply.status(status).header('content-security-policy', csp).type('text/html; charset=utf-8').send(html);
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
  app.setErrorHandler((error, request, reply) => {
    // The framework's own refusals (too large, wrong type, cut off) are the sender's: 4xx pages.
    const appError = fromFrameworkError(error, 'the form as application/x-www-form-urlencoded');
    const known = appError.expose && appError.status < 500;
    if (!known) request.log.error({ err: { type: (error as Error).name, code: (error as { code?: unknown }).code } }, `${label} failed`);
    return sendPage(reply, messagePage(known ? 'Cannot continue' : 'Something went wrong', known ? appError.message : 'Something went wrong on our side. Go back and try again.'), known ? appError.status : 500);
  });
}
