import { html, type Html } from './html.js';
import type { Locale, Texts } from './i18n.js';

/**
 * The one layout of every page for people: product name, whose space this is (the tenant's
 * name, or the platform), who is signed in, the navigation, a language switch, and the page's
 * own content under one `<h1>`. A skip link leads past the navigation (WCAG 2.2, 2.4.1); the
 * current entry carries `aria-current="page"`. No script and no inline style: the stylesheet
 * and any script are files of this origin (assets.ts), so the strict CSP holds.
 */
export interface NavItem {
  readonly href: string;
  readonly label: string;
}

export interface LayoutInput {
  readonly locale: Locale;
  readonly title: string;
  /** Whose space: the tenant's display name, or the platform's. */
  readonly space?: string;
  /** The signed-in person, as shown (name or email, and role). */
  readonly person?: { readonly label: string; readonly role: string };
  readonly nav?: readonly NavItem[];
  /** The href of the navigation entry this page belongs to. */
  readonly current?: string;
  /** Where the sign-out form posts, with the session's CSRF token. */
  readonly signOut?: { readonly action: string; readonly csrf: string };
  /** A notice after an action (announced politely) or an error (announced at once). */
  readonly notice?: string;
  readonly error?: string;
  /** This page's path and query, for the language switch (it adds `lang=`). */
  readonly path: string;
  /** Scripts of this origin (paths under /assets/) this page adds, deferred. */
  readonly scripts?: readonly string[];
  /** A wider main column (tables, charts). */
  readonly wide?: boolean;
  readonly body: Html;
}

const text: Texts<'skip' | 'signedInAs' | 'signOut' | 'language' | 'navigation'> = {
  en: { skip: 'Skip to content', signedInAs: 'Signed in as', signOut: 'Sign out', language: 'Language', navigation: 'Main' },
  de: { skip: 'Zum Inhalt springen', signedInAs: 'Angemeldet als', signOut: 'Abmelden', language: 'Sprache', navigation: 'Hauptnavigation' },
};

const languageNames: Record<Locale, string> = { en: 'English', de: 'Deutsch' };

function withLang(path: string, locale: Locale): string {
  const url = new URL(path, 'https://tresor.invalid');
  url.searchParams.set('lang', locale);
  return `${url.pathname}${url.search}`;
}

export function layout(input: LayoutInput): Html {
  const t = text[input.locale];
  const other: Locale = input.locale === 'en' ? 'de' : 'en';
  const nav =
    input.nav === undefined || input.nav.length === 0
      ? undefined
      : html`<nav aria-label="${t.navigation}"><ul>${input.nav.map((item) => html`<li><a href="${item.href}"${item.href === input.current ? html` aria-current="page"` : undefined}>${item.label}</a></li>`)}</ul></nav>`;
  return html`<!doctype html>
<html lang="${input.locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${input.title} – Tresor</title><link rel="stylesheet" href="/assets/tresor.css">${(input.scripts ?? []).map((src) => html`<script src="${src}" defer></script>`)}</head>
<body>
<a class="skip" href="#main">${t.skip}</a>
<header class="top">
<p class="brand"><a href="/">Tresor</a>${input.space === undefined ? undefined : html` <span class="space">${input.space}</span>`}</p>
${input.person === undefined ? undefined : html`<p class="who">${t.signedInAs} <strong>${input.person.label}</strong> <span class="role">(${input.person.role})</span></p>`}
${input.signOut === undefined ? undefined : html`<form method="post" action="${input.signOut.action}" class="sign-out"><input type="hidden" name="csrf" value="${input.signOut.csrf}"><button type="submit">${t.signOut}</button></form>`}
${nav}
</header>
<main id="main"${input.wide === true ? html` class="wide"` : undefined}>
<h1>${input.title}</h1>
${input.notice === undefined ? undefined : html`<p class="notice" role="status">${input.notice}</p>`}
${input.error === undefined ? undefined : html`<p class="alert" role="alert" id="page-error">${input.error}</p>`}
${input.body}
</main>
<footer><p>${t.language}: <a href="${withLang(input.path, other)}" lang="${other}" hreflang="${other}">${languageNames[other]}</a></p></footer>
</body>
</html>`;
}
