import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Keys } from '../keys/index.js';
import { constantTimeEqual } from '../platform/constant-time-equal.js';
import { AppError } from '../platform/errors.js';
import type { Locale, Texts } from '../platform/pages/index.js';

/** Before any session exists a form's CSRF pair is a random cookie and its HMAC in the form (signed double submit, OWASP CSRF Prevention Cheat Sheet). */
export const formCookie = '__Host-tresor_form';
export const clearFormCookie = `${formCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;

const text: Texts<'expired'> = {
  en: { expired: 'This form has expired; open the page again.' },
  de: { expired: 'Dieses Formular ist abgelaufen; öffnen Sie die Seite neu.' },
};

export interface FormCsrf {
  /** Sets the form cookie on the reply and returns the token for the form's `csrf` field. */
  issue(reply: FastifyReply, realmId: string): Promise<string>;
  /** The form's fields when its `csrf` field matches the cookie; otherwise a 403 page. */
  check(request: FastifyRequest, realmId: string, locale: Locale): Promise<Record<string, string>>;
}

/** The CSRF pair of the forms a person fills in before they have a session: sign-in, invitation, password reset. */
export function createFormCsrf(keys: Keys): FormCsrf {
  async function formToken(realmId: string, nonce: string): Promise<string> {
    const key = Buffer.from(hkdfSync('sha256', await keys.indexKey(realmId), Buffer.alloc(0), 'tresor account forms', 32));
    return createHmac('sha256', key).update(nonce).digest('base64url');
  }
  function nonceOf(request: FastifyRequest): string | undefined {
    for (const part of (request.headers.cookie ?? '').split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === formCookie) return value.join('=') || undefined;
    }
    return undefined;
  }
  return {
    async issue(reply, realmId) {
      const nonce = randomBytes(32).toString('base64url');
      reply.header('set-cookie', `${formCookie}=${nonce}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=1800`);
      return formToken(realmId, nonce);
    },
    async check(request, realmId, locale) {
      const form = (request.body ?? {}) as Record<string, string>;
      const nonce = nonceOf(request);
      const ok = nonce !== undefined && typeof form['csrf'] === 'string' && constantTimeEqual(Buffer.from(form['csrf']), Buffer.from(await formToken(realmId, nonce)));
      if (!ok) throw new AppError('csrf-invalid', text[locale].expired, { status: 403, expose: true });
      return form;
    },
  };
}
