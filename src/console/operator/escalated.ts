import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit } from '../../audit/index.js';
import { admitOperator, alertStates, attemptAs, currentAlert, levelsReached, nextEscalatedBefore, parseEscalatedFilter, recordDetailRead, type Admitted, type EscalatedAlerts, type EscalatedDetail, type EscalatedView } from '../../detection/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { runbookLink } from '../alerts-pages.js';
import type { OperatorCaller, PageGuard } from '../page-guard.js';
import { sectionRole, sendOperatorPage } from './nav.js';

type Key =
  | 'tabs' | 'platformTab' | 'escalatedTab' | 'title' | 'intro' | 'filter' | 'state' | 'any' | 'apply' | 'invalid' | 'caption' | 'alert' | 'tenant' | 'severity' | 'subject' | 'reached' | 'none' | 'older' | 'newest'
  | 'open' | 'acknowledged' | 'resolved' | 'low' | 'medium' | 'high' | 'critical' | 'rule' | 'what' | 'summary' | 'count' | 'firstSeen' | 'lastSeen' | 'runbook' | 'runbookText' | 'stale'
  | 'steps' | 'stepsIntro' | 'admins' | 'security-contact' | 'operators' | 'lastStep' | 'history' | 'raised' | 'acknowledgedBy' | 'resolvedBy' | 'notShown' | 'acknowledge' | 'acknowledgeHint' | 'didAcknowledge' | 'back' | 'openIncident';

const text: Texts<Key> = {
  en: {
    tabs: 'Alert lists', platformTab: 'Platform alerts', escalatedTab: 'Escalated from tenants', title: 'Alerts escalated from tenants',
    intro: 'Tenant alerts that nobody at the tenant acknowledged in time, so that the escalation reached the platform operators. You see what the alert is and how it was escalated — not the tenant’s audit events, which stay the tenant’s to read.',
    filter: 'Filter escalated alerts', state: 'State', any: 'Any', apply: 'Show alerts', invalid: 'A filter is not valid', caption: 'Escalated tenant alerts, newest escalation first', alert: 'Alert', tenant: 'Tenant', severity: 'Severity', subject: 'About',
    reached: 'Reached the operators', none: 'No tenant alert has been escalated to the operators.', older: 'Older escalations', newest: 'Newest escalations',
    open: 'open', acknowledged: 'acknowledged', resolved: 'resolved', low: 'low', medium: 'medium', high: 'high', critical: 'critical', rule: 'Rule', what: 'What it means', summary: 'Latest finding', count: 'Findings', firstSeen: 'First seen', lastSeen: 'Last seen',
    runbook: 'Runbook', runbookText: 'What to check and do for this rule', stale: 'The tenant’s data could not be read just now: this is the state last known.',
    steps: 'Escalation', stepsIntro: 'The levels it passed, in order, because nobody acknowledged it in time (a level with nobody on it is passed on at once):', admins: 'the tenant’s administrators', 'security-contact': 'the tenant’s security contact (if one is set)', operators: 'the platform operators',
    lastStep: 'Last step', history: 'History', raised: 'Raised', acknowledgedBy: 'Acknowledged by', resolvedBy: 'Resolved by', notShown: 'The tenant’s audit events and resolution note are not shown here: they are the tenant’s to read.',
    acknowledge: 'Acknowledge', acknowledgeHint: 'You are looking into it: the escalation stops. This is recorded in the tenant’s audit trail and in the operators’ under your name.', didAcknowledge: 'The alert is acknowledged.', back: 'All escalated alerts', openIncident: 'Open an incident from this alert',
  },
  de: {
    tabs: 'Listen der Warnmeldungen', platformTab: 'Warnmeldungen der Plattform', escalatedTab: 'Von Mandanten eskaliert', title: 'Von Mandanten eskalierte Warnmeldungen',
    intro: 'Warnmeldungen von Mandanten, die dort niemand rechtzeitig bestätigt hat, sodass die Eskalation die Plattform-Betreiber erreicht hat. Sie sehen, was die Warnmeldung ist und wie sie eskaliert wurde – nicht die Protokollereignisse des Mandanten, die allein er einsieht.',
    filter: 'Eskalierte Warnmeldungen filtern', state: 'Status', any: 'Alle', apply: 'Warnmeldungen zeigen', invalid: 'Ein Filter ist ungültig', caption: 'Eskalierte Warnmeldungen von Mandanten, neueste Eskalation zuerst', alert: 'Warnmeldung', tenant: 'Mandant', severity: 'Schweregrad', subject: 'Betrifft',
    reached: 'Bei den Betreibern seit', none: 'Keine Warnmeldung eines Mandanten wurde an die Betreiber eskaliert.', older: 'Ältere Eskalationen', newest: 'Neueste Eskalationen',
    open: 'offen', acknowledged: 'bestätigt', resolved: 'erledigt', low: 'niedrig', medium: 'mittel', high: 'hoch', critical: 'kritisch', rule: 'Regel', what: 'Bedeutung', summary: 'Letzter Befund', count: 'Befunde', firstSeen: 'Zuerst', lastSeen: 'Zuletzt',
    runbook: 'Handlungsanleitung', runbookText: 'Was bei dieser Regel zu prüfen und zu tun ist (englisch)', stale: 'Die Daten des Mandanten waren gerade nicht lesbar: Dies ist der zuletzt bekannte Stand.',
    steps: 'Eskalation', stepsIntro: 'Die Stufen, die sie der Reihe nach durchlaufen hat, weil niemand sie rechtzeitig bestätigt hat (eine Stufe ohne Empfänger wird sofort übersprungen):', admins: 'die Administrator:innen des Mandanten', 'security-contact': 'der Sicherheitskontakt des Mandanten (falls eingetragen)', operators: 'die Plattform-Betreiber',
    lastStep: 'Letzter Schritt', history: 'Verlauf', raised: 'Ausgelöst', acknowledgedBy: 'Bestätigt von', resolvedBy: 'Erledigt von', notShown: 'Die Protokollereignisse des Mandanten und sein Vermerk zur Erledigung stehen nicht hier: Sie sind allein seine.',
    acknowledge: 'Bestätigen', acknowledgeHint: 'Sie kümmern sich darum: Die Eskalation endet. Das wird im Protokoll des Mandanten und in dem der Betreiber unter Ihrem Namen festgehalten.', didAcknowledge: 'Die Warnmeldung ist bestätigt.', back: 'Alle eskalierten Warnmeldungen', openIncident: 'Vorfall zu dieser Warnmeldung eröffnen',
  },
};

const route = '/platform/console/alerts/escalated';
const base = `${route}/`;
const pageSize = 50;
const time = (locale: Locale, at: number): Html => html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`;
const stateLabel = (t: Record<Key, string>, state: string) => (state === 'open' || state === 'acknowledged' || state === 'resolved' ? t[state] : state);
const pathOf = (view: EscalatedView) => `${base}${encodeURIComponent(view.record.realm)}/${encodeURIComponent(view.record.alertId)}`;

/** The operators' two alert lists, as links above each: the platform's own alerts and the tenants' escalated to them. */
export function alertTabs(locale: Locale, current: 'platform' | 'escalated'): Html {
  const t = text[locale];
  const tab = (href: string, label: string, here: boolean) => html`<li><a href="${href}"${here ? html` aria-current="page"` : undefined}>${label}</a></li>`;
  return html`<nav aria-label="${t.tabs}"><ul>${tab('/platform/console/alerts/', t.platformTab, current === 'platform')}${tab(base, t.escalatedTab, current === 'escalated')}</ul></nav>`;
}

function listBody(locale: Locale, views: readonly EscalatedView[], state: string | undefined, paging: { newest: boolean; older: string | undefined }, error?: string): Html {
  const t = text[locale];
  const option = (value: string) => html`<option value="${value}"${value === state ? html` selected` : undefined}>${stateLabel(t, value)}</option>`;
  const filter = html`<form method="get" action="${base}" aria-labelledby="filter-heading"><h2 id="filter-heading">${t.filter}</h2>
${error === undefined ? undefined : html`<p class="alert" role="alert">${t.invalid}: ${error}</p>`}
<label for="state">${t.state}</label><select id="state" name="state"><option value="">${t.any}</option>${alertStates.map(option)}</select>
<button type="submit" class="primary">${t.apply}</button></form>`;
  const table =
    views.length === 0
      ? html`<p role="status">${t.none}</p>`
      : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.alert}</th><th scope="col">${t.tenant}</th><th scope="col">${t.severity}</th><th scope="col">${t.state}</th><th scope="col">${t.subject}</th><th scope="col">${t.reached}</th></tr></thead>
<tbody>${views.map((v) => {
          const a = currentAlert(v);
          return html`<tr><th scope="row"><a href="${pathOf(v)}">${a.title}</a></th><td>${a.realm}</td><td><strong class="severity severity-${a.severity}">${t[a.severity]}</strong></td><td>${stateLabel(t, a.state)}</td><td>${a.subject}</td><td>${time(locale, v.record.reachedAt)}</td></tr>`;
        })}</tbody></table>`;
  const links = html`<p class="actions">${paging.newest ? html`<a href="${base}${state === undefined ? '' : `?state=${state}`}">${t.newest}</a>` : undefined}${paging.older === undefined ? undefined : html`<a href="${paging.older}">${t.older}</a>`}</p>`;
  return html`${alertTabs(locale, 'escalated')}<p>${t.intro}</p>${filter}${table}${links}`;
}

function detailBody(locale: Locale, csrf: string, detail: EscalatedDetail): Html {
  const t = text[locale];
  const a = currentAlert(detail);
  const reached = levelsReached(detail.step?.level);
  const history = [
    html`<li>${t.raised}: ${time(locale, a.firstAt)}</li>`,
    html`<li>${t.reached}: ${time(locale, detail.record.reachedAt)}</li>`,
    a.acknowledgedBy === undefined ? undefined : html`<li>${t.acknowledgedBy} ${a.acknowledgedBy}: ${time(locale, a.acknowledgedAt ?? a.firstAt)}</li>`,
    a.resolvedBy === undefined ? undefined : html`<li>${t.resolvedBy} ${a.resolvedBy}: ${time(locale, a.resolvedAt ?? a.firstAt)}</li>`,
  ];
  const act =
    a.state !== 'open'
      ? undefined
      : html`<section aria-labelledby="act-heading"><h2 id="act-heading">${t.acknowledge}</h2><form method="post" action="${pathOf(detail)}/acknowledge"><input type="hidden" name="csrf" value="${csrf}"><p class="hint" id="ack-hint">${t.acknowledgeHint}</p><button type="submit" class="primary" aria-describedby="ack-hint">${t.acknowledge}</button></form></section>`;
  return html`<p><a href="${base}">${t.back}</a></p>
<p class="actions"><a href="/platform/console/incidents/new?alert=${encodeURIComponent(a.realm)}/${encodeURIComponent(a.id)}">${t.openIncident}</a></p>
${detail.alert === undefined ? html`<p class="alert">${t.stale}</p>` : undefined}
<dl class="facts">
<dt>${t.tenant}</dt><dd>${a.realm}</dd>
<dt>${t.rule}</dt><dd>${detail.rule?.title ?? a.title} (<code>${a.rule}</code>)</dd>
<dt>${t.what}</dt><dd>${detail.rule?.describe ?? ''}</dd>
<dt>${t.severity}</dt><dd><strong class="severity severity-${a.severity}">${t[a.severity]}</strong></dd>
<dt>${t.state}</dt><dd>${stateLabel(t, a.state)}</dd>
<dt>${t.subject}</dt><dd>${a.subject}</dd>
<dt>${t.summary}</dt><dd>${a.summary}</dd>
<dt>${t.count}</dt><dd>${a.count}</dd>
<dt>${t.firstSeen}</dt><dd>${time(locale, a.firstAt)}</dd>
<dt>${t.lastSeen}</dt><dd>${time(locale, a.lastAt)}</dd>
<dt>${t.runbook}</dt><dd>${runbookLink(a.rule, t.runbookText)}</dd>
</dl>
<section aria-labelledby="steps-heading"><h2 id="steps-heading">${t.steps}</h2><p>${t.stepsIntro}</p><ol>${reached.map((level) => html`<li>${t[level]}</li>`)}</ol>
${detail.step === undefined ? undefined : html`<p>${t.lastStep}: ${time(locale, detail.step.notifiedAt)}</p>`}</section>
<section aria-labelledby="history-heading"><h2 id="history-heading">${t.history}</h2><ul>${history}</ul><p class="hint">${t.notShown}</p></section>
${act}`;
}

/**
 * `/platform/console/alerts/escalated/`: the tenant alerts whose escalation reached the
 * operators (detection/escalated.ts), beside the platform's own alerts — the list (by state,
 * newest escalation first), one alert (its outward fields, state and escalation; never the
 * tenant's events) and the form that acknowledges it. The same service and admission as
 * `/platform/alerts/escalated` (detection/escalated-routes.ts); reads and the acknowledgement
 * are audited alike.
 */
export function escalatedAlertPages({ guard, audit, escalated }: { guard: PageGuard; audit: Audit; escalated: EscalatedAlerts }) {
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<{ caller: OperatorCaller; admitted: Admitted } | undefined> {
    const caller = await guard.operator(request, reply, sectionRole.alerts);
    return caller === undefined ? undefined : { caller, admitted: admitOperator(audit, request, caller.principal) };
  }
  const send = (request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, page: { title: string; body: Html; notice?: string; error?: string; status?: number }) =>
    sendOperatorPage(request, reply, caller, { section: 'alerts', ...page });
  const params = (request: FastifyRequest) => request.params as { tenant: string; id: string };
  const ref = (tenant: string, id: string) => (/^[a-z0-9-]{1,40}$/.test(tenant) && /^[0-9a-f-]{36}$/.test(id) ? `Tenant/${tenant}/Alert/${id}` : '');

  async function showDetail(request: FastifyRequest, reply: FastifyReply, who: { caller: OperatorCaller; admitted: Admitted }, options: { notice?: string; error?: string; status?: number } = {}) {
    const { tenant, id } = params(request);
    const detail = await attemptAs(who.admitted, 'read', ref(tenant, id), () => escalated.get(tenant, id));
    await recordDetailRead(audit, who.admitted, detail);
    return send(request, reply, who.caller, { title: currentAlert(detail).title, body: detailBody(who.caller.locale, who.caller.me.csrf, detail), ...options });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(`${route}/`, async (request, reply) => {
      const who = await admit(request, reply);
      if (who === undefined) return reply;
      const t = text[who.caller.locale];
      const { lang: _lang, ...query } = (request.query ?? {}) as Record<string, unknown>;
      const state = typeof query['state'] === 'string' && query['state'] !== '' ? query['state'] : undefined;
      let filter: ReturnType<typeof parseEscalatedFilter>;
      try {
        filter = await attemptAs(who.admitted, 'read', '', async () => parseEscalatedFilter({ ...query, limit: String(pageSize + 1) }));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 400) throw error;
        return send(request, reply, who.caller, { title: t.title, status: 400, body: listBody(who.caller.locale, [], undefined, { newest: true, older: undefined }, error.message) });
      }
      const list = await escalated.list(filter);
      const page = list.slice(0, pageSize);
      const shown = page.filter((v) => filter.state === undefined || currentAlert(v).state === filter.state);
      await who.admitted.recordRead(shown.map((v) => `Tenant/${v.record.realm}/Alert/${v.record.alertId}`));
      const last = page.at(-1);
      const older = list.length > pageSize && last !== undefined ? `${base}?${new URLSearchParams({ ...(state === undefined ? {} : { state }), before: nextEscalatedBefore(last) }).toString()}` : undefined;
      return send(request, reply, who.caller, { title: t.title, body: listBody(who.caller.locale, shown, state, { newest: query['before'] !== undefined, older }) });
    });

    app.get(`${route}/:tenant/:id`, async (request, reply) => {
      const who = await admit(request, reply);
      if (who === undefined) return reply;
      return showDetail(request, reply, who, (request.query as Record<string, unknown>)['done'] === 'acknowledged' ? { notice: text[who.caller.locale].didAcknowledge } : {});
    });

    app.post(`${route}/:tenant/:id/acknowledge`, async (request, reply) => {
      const who = await admit(request, reply);
      if (who === undefined) return reply;
      const { tenant, id } = params(request);
      try {
        await attemptAs(who.admitted, 'acknowledge', ref(tenant, id), () => escalated.acknowledge(tenant, id, who.admitted.by));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 409) throw error;
        return showDetail(request, reply, who, { error: error.message, status: 409 });
      }
      // PRG (RFC 9110 §15.4.4 303).
      return seeOther(reply, `${base}${encodeURIComponent(tenant)}/${encodeURIComponent(id)}?done=acknowledged`);
    });
  };
}
