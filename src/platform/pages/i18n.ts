import type { FastifyRequest } from 'fastify';

/**
 * Pages speak English and German (the first customers are German clinics). The reader's choice
 * comes from the language cookie (set by the switch every page carries), else the browser's
 * Accept-Language (RFC 9110 §12.5.4), else English. Each page keeps its own texts as one object
 * per locale, so a missing translation is a type error, not a blank on the page.
 */
export const locales = ['en', 'de'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'en';

/** A page's texts: the same keys in every locale. */
export type Texts<K extends string> = { readonly [L in Locale]: { readonly [Key in K]: string } };

/** Not `__Host-` bound to secrecy: it only says which language to show, and pages work without it. */
export const localeCookie = '__Host-tresor_lang';

export const isLocale = (value: unknown): value is Locale => typeof value === 'string' && (locales as readonly string[]).includes(value);

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/** The best of our locales for Accept-Language: highest q first, a region (`de-AT`) matching its language. */
export function negotiateLocale(header: string | undefined): Locale {
  if (header === undefined) return defaultLocale;
  const ranked = header
    .split(',')
    .map((part, order) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { language: tag.toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), order };
    })
    .filter((r) => r.q > 0 && Number.isFinite(r.q))
    .sort((a, b) => b.q - a.q || a.order - b.order);
  return ranked.map((r) => r.language).find(isLocale) ?? (ranked.some((r) => r.language === '*') ? defaultLocale : defaultLocale);
}

export function localeOf(request: FastifyRequest): Locale {
  const chosen = (request.query as Record<string, unknown> | undefined)?.['lang'];
  if (isLocale(chosen)) return chosen;
  const cookie = cookieValue(request, localeCookie);
  if (isLocale(cookie)) return cookie;
  return negotiateLocale(request.headers['accept-language']);
}

/** The Set-Cookie that keeps a language chosen with `?lang=` (a year; no personal data in it). */
export const localeCookieHeader = (locale: Locale): string => `${localeCookie}=${locale}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=31536000`;

const bcp47: Record<Locale, string> = { en: 'en-GB', de: 'de-DE' };

/**
 * A moment in the reader's locale, with its time zone named so it is never misread: the server
 * does not know the reader's zone, so it shows `timeZone` (the deployment's, UTC by default).
 */
export function formatDateTime(locale: Locale, at: Date | string | number, timeZone = 'UTC'): string {
  return new Intl.DateTimeFormat(bcp47[locale], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone, timeZoneName: 'short' }).format(new Date(at));
}

export function formatDate(locale: Locale, at: Date | string | number, timeZone = 'UTC'): string {
  return new Intl.DateTimeFormat(bcp47[locale], { dateStyle: 'medium', timeZone }).format(new Date(at));
}

export function formatNumber(locale: Locale, value: number, fractionDigits?: number): string {
  return new Intl.NumberFormat(bcp47[locale], fractionDigits === undefined ? {} : { maximumFractionDigits: fractionDigits }).format(value);
}
