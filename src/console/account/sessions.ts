import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sessionCookie, type OwnSessions, type Sessions } from '../../identity/index.js';
import { formatDateTime, formLimit, html, seeOther, type Texts } from '../../platform/pages/index.js';
import type { PagePeople } from '../page-person.js';
import type { PageRealm } from '../page-realm.js';
import { accountCaller, accountPrefix, field, formOf, refusal, sendAccountPage, type AccountCaller } from './common.js';

const text: Texts<'title' | 'intro' | 'caption' | 'started' | 'lastSeen' | 'address' | 'secondFactor' | 'yes' | 'no' | 'thisSession' | 'end' | 'endThis' | 'endOthers' | 'ended' | 'othersEnded' | 'noOthers' | 'session'> = {
  en: {
    title: 'Where you are signed in',
    intro: 'Each sign-in is a session. End any you do not recognise or no longer use; a session also ends by itself after 15 minutes without use and 12 hours after it started.',
    caption: 'Your live sessions',
    started: 'Started',
    lastSeen: 'Last seen',
    address: 'From address',
    secondFactor: 'Second factor',
    yes: 'yes',
    no: 'no',
    thisSession: 'this session',
    end: 'End session',
    endThis: 'End this session (sign out)',
    endOthers: 'End all other sessions',
    ended: 'The session has ended.',
    othersEnded: 'Every other session has ended: {n}.',
    noOthers: 'You have no other sessions.',
    session: 'Session',
  },
  de: {
    title: 'Wo Sie angemeldet sind',
    intro: 'Jede Anmeldung ist eine Sitzung. Beenden Sie jede, die Sie nicht kennen oder nicht mehr brauchen; eine Sitzung endet auch von selbst nach 15 Minuten ohne Nutzung und 12 Stunden nach ihrem Beginn.',
    caption: 'Ihre laufenden Sitzungen',
    started: 'Begonnen',
    lastSeen: 'Zuletzt aktiv',
    address: 'Von Adresse',
    secondFactor: 'Zweiter Faktor',
    yes: 'ja',
    no: 'nein',
    thisSession: 'diese Sitzung',
    end: 'Sitzung beenden',
    endThis: 'Diese Sitzung beenden (abmelden)',
    endOthers: 'Alle anderen Sitzungen beenden',
    ended: 'Die Sitzung ist beendet.',
    othersEnded: 'Alle anderen Sitzungen sind beendet: {n}.',
    noOthers: 'Sie haben keine anderen Sitzungen.',
    session: 'Sitzung',
  },
};

/**
 * `…/account/sessions`, both realms: one's own live sessions (as `GET …/auth/sessions`), ending
 * one (as `DELETE …/auth/sessions/{id}`) or every other one — both through `ownSessions`, which
 * audits them as the API does. Ending a session needs no password (it only removes access; see
 * docs/accounts.md) but the session's CSRF token, like every change.
 */
export function sessionsPages(realm: PageRealm, { sessions, people, own }: { sessions: Sessions; people: PagePeople; own: OwnSessions }) {
  async function list(request: FastifyRequest, reply: FastifyReply, c: AccountCaller, input: { notice?: string; error?: string; status?: number } = {}) {
    const { me, locale } = c;
    const t = text[locale];
    const mine = await sessions.list(me.realmId, me.account.id);
    // This session first, then the most recently used.
    mine.sort((a, b) => (a.id === me.session.id ? -1 : b.id === me.session.id ? 1 : b.lastSeenAt.localeCompare(a.lastSeenAt)));
    const action = `${c.base}/sessions`;
    const body = html`<p>${t.intro}</p>
<table>
<caption>${t.caption}</caption>
<thead><tr><th scope="col">${t.started}</th><th scope="col">${t.lastSeen}</th><th scope="col">${t.address}</th><th scope="col">${t.secondFactor}</th><th scope="col">${t.end}</th></tr></thead>
<tbody>${mine.map((s, i) => {
      const current = s.id === me.session.id;
      return html`<tr${current ? html` aria-current="true"` : undefined}><th scope="row">${formatDateTime(locale, s.createdAt)}${current ? html` <strong>(${t.thisSession})</strong>` : undefined}</th><td>${formatDateTime(locale, s.lastSeenAt)}</td><td>${s.sourceIp}</td><td>${s.secondFactor ? t.yes : t.no}</td>
<td><form method="post" action="${action}/end" class="inline"><input type="hidden" name="csrf" value="${me.csrf}"><input type="hidden" name="session" value="${s.id}"><button type="submit" aria-label="${current ? t.endThis : `${t.end} ${String(i + 1)}: ${formatDateTime(locale, s.createdAt)}, ${s.sourceIp}`}">${current ? t.endThis : t.end}</button></form></td></tr>`;
    })}</tbody>
</table>
${mine.length > 1
  ? html`<form method="post" action="${action}/end-others"><input type="hidden" name="csrf" value="${me.csrf}"><div class="actions"><button class="danger" type="submit">${t.endOthers}</button></div></form>`
  : html`<p>${t.noOthers}</p>`}`;
    return sendAccountPage(request, reply, realm, c, { title: t.title, body, current: action, wide: true, ...input });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    const prefix = accountPrefix(realm);
    const caller = (request: FastifyRequest, reply: FastifyReply) => accountCaller(request, reply, realm, people, sessions);
    const context = (c: AccountCaller, request: FastifyRequest) => ({ tenantId: c.me.realmId, accountId: c.me.account.id, sourceIp: request.ip, requestId: request.id });

    app.get(`${prefix}/sessions`, async (request, reply) => {
      const c = await caller(request, reply);
      if (c === undefined) return reply;
      const query = request.query as Record<string, unknown>;
      const t = text[c.locale];
      const others = typeof query['others'] === 'string' && /^\d{1,4}$/.test(query['others']) ? t.othersEnded.replace('{n}', query['others']) : undefined;
      return list(request, reply, c, query['ended'] === '1' ? { notice: t.ended } : others === undefined ? {} : { notice: others });
    });

    app.post(`${prefix}/sessions/end`, { bodyLimit: formLimit }, async (request, reply) => {
      const c = await caller(request, reply);
      if (c === undefined) return reply;
      const sessionId = field(formOf(request), 'session');
      try {
        await own.end(context(c, request), sessionId);
      } catch (error) {
        const known = refusal(error);
        if (known === undefined) throw error;
        return list(request, reply, c, { error: known.message, status: known.status });
      }
      if (sessionId === c.me.session.id) {
        reply.header('set-cookie', `${sessionCookie}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`);
        return seeOther(reply, `${c.base}/sign-in?signedOut=1`);
      }
      return seeOther(reply, `${c.base}/sessions?ended=1`);
    });

    app.post(`${prefix}/sessions/end-others`, { bodyLimit: formLimit }, async (request, reply) => {
      const c = await caller(request, reply);
      if (c === undefined) return reply;
      const ended = await own.endOthers(context(c, request), c.me.session.id);
      return seeOther(reply, `${c.base}/sessions?others=${String(ended)}`);
    });
  };
}
