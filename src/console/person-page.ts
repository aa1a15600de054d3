import type { FastifyReply, FastifyRequest } from 'fastify';
import { layout, pageCsp, scriptPageCsp, sendPage, type Html, type Locale, type NavItem } from '../platform/pages/index.js';
import type { PagePerson } from './page-person.js';

/** What a signed-in person's page says for itself; the rest of the layout comes from the person. */
export interface PersonPage {
  readonly title: string;
  readonly body: Html;
  readonly nav: readonly NavItem[];
  /** The href of the navigation entry this page belongs to. */
  readonly current: string;
  /** Where the sign-out form posts: the realm's `…/account/sign-out`. */
  readonly signOut: string;
  /** The sign-out form's CSRF token when the page just renewed the session's (else the session's own). */
  readonly csrf?: string | undefined;
  readonly notice?: string | undefined;
  readonly error?: string | undefined;
  readonly scripts?: readonly string[] | undefined;
  readonly wide?: boolean | undefined;
  readonly status?: number | undefined;
}

/**
 * A page for a signed-in person in the one layout — the account pages, the clinic console, the
 * portal and the operator console alike: their space, who they are, the sign-out form with the
 * session's CSRF token, the language switch. A page with scripts (files of this origin) gets the
 * CSP that allows them; every other page allows none.
 */
export function sendPersonPage(request: FastifyRequest, reply: FastifyReply, caller: { readonly me: PagePerson; readonly locale: Locale }, page: PersonPage): FastifyReply {
  const { me, locale } = caller;
  const scripts = page.scripts ?? [];
  return sendPage(
    reply,
    layout({
      locale,
      title: page.title,
      space: me.space,
      person: { label: me.account.email, role: me.account.role },
      nav: page.nav,
      current: page.current,
      signOut: { action: page.signOut, csrf: page.csrf ?? me.csrf },
      path: request.url,
      body: page.body,
      ...(page.notice === undefined ? {} : { notice: page.notice }),
      ...(page.error === undefined ? {} : { error: page.error }),
      ...(scripts.length === 0 ? {} : { scripts }),
      ...(page.wide === undefined ? {} : { wide: page.wide }),
    }),
    page.status ?? 200,
    scripts.length === 0 ? pageCsp : scriptPageCsp,
  );
}
