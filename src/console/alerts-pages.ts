import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { StoredEvent } from '../audit/index.js';
import { attemptAs, nextPageBefore, parseAlertFilter, refOf, runbookPath, severities, type Admitted, type Alert, type AlertDetail, type Alerts, type AlertSettings, type Severity } from '../detection/index.js';
import { AppError } from '../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../platform/pages/index.js';

type Key =
  | 'title' | 'filter' | 'state' | 'severity' | 'rule' | 'any' | 'apply' | 'unresolved' | 'caption' | 'alert' | 'subject' | 'count' | 'lastSeen' | 'firstSeen' | 'none' | 'older' | 'newest'
  | 'open' | 'acknowledged' | 'resolved' | 'low' | 'medium' | 'high' | 'critical' | 'invalid' | 'settingsLink'
  | 'what' | 'summary' | 'runbook' | 'runbookText' | 'history' | 'raised' | 'acknowledgedBy' | 'resolvedBy' | 'note' | 'events' | 'when' | 'who' | 'action' | 'resource' | 'outcome' | 'client'
  | 'noEvents' | 'eventsCaption' | 'eventsCapped' | 'acknowledge' | 'acknowledgeHint' | 'resolve' | 'resolveNote' | 'resolveHint' | 'resolveButton' | 'didAcknowledge' | 'didResolve' | 'back' | 'success' | 'failure' | 'openIncident'
  | 'settingsTitle' | 'settingsIntro' | 'timeZone' | 'timeZoneHint' | 'workingHours' | 'days' | 'from' | 'to' | 'securityContact' | 'securityContactHint' | 'quietHours' | 'quietHoursHint' | 'save' | 'saved' | 'settingsInvalid'
  | 'day1' | 'day2' | 'day3' | 'day4' | 'day5' | 'day6' | 'day7';

const text: Texts<Key> = {
  en: {
    title: 'Alerts', filter: 'Filter alerts', state: 'State', severity: 'Severity', rule: 'Rule', any: 'Any', apply: 'Show alerts', unresolved: 'Not yet resolved, by severity',
    caption: 'Alerts, newest first', alert: 'Alert', subject: 'About', count: 'Findings', lastSeen: 'Last seen', firstSeen: 'First seen', none: 'No alert matches.', older: 'Older alerts', newest: 'Newest alerts',
    open: 'open', acknowledged: 'acknowledged', resolved: 'resolved', low: 'low', medium: 'medium', high: 'high', critical: 'critical', invalid: 'A filter is not valid', settingsLink: 'Who is told, and when (settings)',
    what: 'What it means', summary: 'Latest finding', runbook: 'Runbook', runbookText: 'What to check and do for this rule', history: 'History', raised: 'Raised', acknowledgedBy: 'Acknowledged by', resolvedBy: 'Resolved by', note: 'Note',
    events: 'The events that raised it', when: 'When', who: 'Who', action: 'Action', resource: 'Resource', outcome: 'Outcome', client: 'Client', noEvents: 'No event of the audit trail is linked (a check of the platform raised it).',
    eventsCaption: 'Linked events of the audit trail, oldest first',
    eventsCapped: 'The first 100 events are kept with the alert; the count says how many findings there were.',
    acknowledge: 'Acknowledge', acknowledgeHint: 'Someone is looking into it: escalation stops.', resolve: 'Resolve', resolveNote: 'Resolution note', resolveHint: 'Required, at most 2,000 characters: what you found and what was done. It is recorded with your name; write no patient data.',
    resolveButton: 'Resolve with this note', didAcknowledge: 'The alert is acknowledged.', didResolve: 'The alert is resolved.', back: 'All alerts', success: 'success', failure: 'failure', openIncident: 'Open an incident from this alert',
    settingsTitle: 'Alert settings', settingsIntro: 'The working hours the off-hours rules measure against, who is told beyond the administrators, and when mail about non-critical alerts waits. Critical alerts are never held back.',
    timeZone: 'Time zone', timeZoneHint: 'An IANA time zone, e.g. Europe/Berlin.', workingHours: 'Working hours', days: 'Days', from: 'From', to: 'To',
    securityContact: 'Security contact (e-mail)', securityContactHint: 'Told when nobody acknowledges an alert in time; leave empty for none.', quietHours: 'Quiet hours',
    quietHoursHint: 'Mail about non-critical alerts waits until they end; leave both empty for none.', save: 'Save settings', saved: 'The settings are saved.', settingsInvalid: 'The settings were not saved',
    day1: 'Monday', day2: 'Tuesday', day3: 'Wednesday', day4: 'Thursday', day5: 'Friday', day6: 'Saturday', day7: 'Sunday',
  },
  de: {
    title: 'Warnmeldungen', filter: 'Warnmeldungen filtern', state: 'Status', severity: 'Schweregrad', rule: 'Regel', any: 'Alle', apply: 'Warnmeldungen zeigen', unresolved: 'Noch nicht erledigt, nach Schweregrad',
    caption: 'Warnmeldungen, neueste zuerst', alert: 'Warnmeldung', subject: 'Betrifft', count: 'Befunde', lastSeen: 'Zuletzt', firstSeen: 'Zuerst', none: 'Keine Warnmeldung passt.', older: 'Ältere Warnmeldungen', newest: 'Neueste Warnmeldungen',
    open: 'offen', acknowledged: 'bestätigt', resolved: 'erledigt', low: 'niedrig', medium: 'mittel', high: 'hoch', critical: 'kritisch', invalid: 'Ein Filter ist ungültig', settingsLink: 'Wer wann benachrichtigt wird (Einstellungen)',
    what: 'Bedeutung', summary: 'Letzter Befund', runbook: 'Handlungsanleitung', runbookText: 'Was bei dieser Regel zu prüfen und zu tun ist (englisch)', history: 'Verlauf', raised: 'Ausgelöst', acknowledgedBy: 'Bestätigt von', resolvedBy: 'Erledigt von', note: 'Vermerk',
    events: 'Die auslösenden Ereignisse', when: 'Wann', who: 'Wer', action: 'Aktion', resource: 'Ressource', outcome: 'Ergebnis', client: 'Anwendung', noEvents: 'Kein Ereignis des Protokolls ist verknüpft (eine Prüfung der Plattform hat sie ausgelöst).',
    eventsCaption: 'Verknüpfte Ereignisse des Protokolls, älteste zuerst',
    eventsCapped: 'Die ersten 100 Ereignisse bleiben bei der Warnmeldung; die Anzahl nennt alle Befunde.',
    acknowledge: 'Bestätigen', acknowledgeHint: 'Jemand kümmert sich darum: Die Eskalation endet.', resolve: 'Erledigen', resolveNote: 'Vermerk zur Erledigung', resolveHint: 'Pflicht, höchstens 2.000 Zeichen: was Sie festgestellt haben und was getan wurde. Er wird mit Ihrem Namen festgehalten; schreiben Sie keine Patientendaten hinein.',
    resolveButton: 'Mit diesem Vermerk erledigen', didAcknowledge: 'Die Warnmeldung ist bestätigt.', didResolve: 'Die Warnmeldung ist erledigt.', back: 'Alle Warnmeldungen', success: 'Erfolg', failure: 'Fehlschlag', openIncident: 'Vorfall zu dieser Warnmeldung eröffnen',
    settingsTitle: 'Einstellungen für Warnmeldungen', settingsIntro: 'Die Arbeitszeiten, an denen die Regeln zu Zugriffen außerhalb der Arbeitszeit messen, wer außer den Administratoren benachrichtigt wird und wann E-Mails zu nicht kritischen Warnmeldungen warten. Kritische Warnmeldungen werden nie zurückgehalten.',
    timeZone: 'Zeitzone', timeZoneHint: 'Eine IANA-Zeitzone, z. B. Europe/Berlin.', workingHours: 'Arbeitszeiten', days: 'Tage', from: 'Von', to: 'Bis',
    securityContact: 'Sicherheitskontakt (E-Mail)', securityContactHint: 'Wird benachrichtigt, wenn niemand eine Warnmeldung rechtzeitig bestätigt; leer lassen für keinen.', quietHours: 'Ruhezeiten',
    quietHoursHint: 'E-Mails zu nicht kritischen Warnmeldungen warten bis zu ihrem Ende; beide Felder leer lassen für keine.', save: 'Einstellungen speichern', saved: 'Die Einstellungen sind gespeichert.', settingsInvalid: 'Die Einstellungen wurden nicht gespeichert',
    day1: 'Montag', day2: 'Dienstag', day3: 'Mittwoch', day4: 'Donnerstag', day5: 'Freitag', day6: 'Samstag', day7: 'Sonntag',
  },
};

const pageSize = 50;
const days = [1, 2, 3, 4, 5, 6, 7] as const;

/** A page of the alerts, admitted: its realm's audit, how it renders, what the caller may do. */
export interface AlertPage {
  readonly admitted: Admitted;
  readonly locale: Locale;
  /** The session's CSRF token for the forms. */
  readonly csrf: string;
  /** Whether the caller may acknowledge, resolve and change the settings (`alerts:manage`). */
  readonly mayManage: boolean;
  /** The section's path, ending in `/` (`/tenants/{t}/console/alerts/`, `/platform/console/alerts/`). */
  readonly base: string;
  /** Where incidents are opened (`…/incidents/new`), when the caller may open one; the alert's page links there. */
  readonly newIncident?: string;
  send(page: { title: string; body: Html; notice?: string; error?: string; status?: number }): FastifyReply;
}

export interface AlertPagesSurface {
  /** The route pattern of the section, without the trailing slash (`/tenants/:tenant/console/alerts`). */
  readonly route: string;
  /** Links above the list to the section's other lists (the operators' escalated tenant alerts). */
  readonly tabs?: (locale: Locale) => Html;
  /** The page's caller admitted for `alerts:read` or `alerts:manage` (audited refusal), or undefined when it already answered (to sign in). */
  admit(request: FastifyRequest, reply: FastifyReply, need: 'alerts:read' | 'alerts:manage'): Promise<AlertPage | undefined>;
}

/**
 * The rule's runbook. The runbooks are written in English only: the link says so in its
 * language (the German text names it) and in `hreflang` (HTML §4.6.2; WCAG 2.2 SC 3.1.2).
 */
export const runbookLink = (rule: string, label: string): Html => html`<a href="${runbookPath(rule)}" hreflang="en">${label}</a>`;

const stateLabel = (t: Record<Key, string>, state: string) => (state === 'open' || state === 'acknowledged' || state === 'resolved' ? t[state] : state);
const time = (locale: Locale, at: number): Html => html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`;
const severityBadge = (t: Record<Key, string>, severity: Severity): Html => html`<strong class="severity severity-${severity}">${t[severity]}</strong>`;

type FormValues = Partial<Record<'state' | 'severity' | 'rule', string>>;
const queryString = (values: Record<string, string | undefined>): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== '') params.set(k, v);
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
};

/** A settings form's fields as the settings object `alerts.saveSettings` validates (the same as the API's PUT). */
export function settingsFromForm(form: Record<string, unknown>): Record<string, unknown> {
  const value = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
  const settings: Record<string, unknown> = {
    timeZone: value('timeZone'),
    workingHours: { days: days.filter((d) => value(`day${d}`) !== ''), start: value('start'), end: value('end') },
  };
  if (value('securityContact') !== '') settings['securityContact'] = value('securityContact');
  if (value('quietStart') !== '' || value('quietEnd') !== '') settings['quietHours'] = { start: value('quietStart'), end: value('quietEnd') };
  return settings;
}

/**
 * The alerts section of a console — the clinic's (`/tenants/{t}/console/alerts/`) and the
 * operators' (`/platform/console/alerts/`) are the same pages over another realm: the list
 * (filters, counts per severity), one alert (its rule, state history, linked events, runbook;
 * forms to acknowledge and resolve), and the settings. Each view is an `audit.read` event and
 * each change an `alert.*` event, exactly as over the API (detection/routes.ts, whose admission
 * and audit the pages share); forms carry the session's CSRF token and answer 303 (PRG).
 */
export function alertPages(alerts: Alerts, surface: AlertPagesSurface) {
  const rules = alerts.rules;
  const ruleIds = rules.map((r) => r.id);

  function filterForm(page: AlertPage, values: FormValues, error?: string): Html {
    const t = text[page.locale];
    const option = (value: string, label: string, chosen: string | undefined) => html`<option value="${value}"${value === chosen ? html` selected` : undefined}>${label}</option>`;
    return html`<form method="get" action="${page.base}" aria-labelledby="filter-heading">
<h2 id="filter-heading">${t.filter}</h2>
${error === undefined ? undefined : html`<p class="alert" role="alert" id="filter-error">${t.invalid}: ${error}</p>`}
<div class="filters">
<div><label for="state">${t.state}</label><select id="state" name="state"><option value="">${t.any}</option>${(['open', 'acknowledged', 'resolved'] as const).map((s) => option(s, t[s], values.state))}</select></div>
<div><label for="severity">${t.severity}</label><select id="severity" name="severity"><option value="">${t.any}</option>${[...severities].reverse().map((s) => option(s, t[s], values.severity))}</select></div>
<div><label for="rule">${t.rule}</label><select id="rule" name="rule"><option value="">${t.any}</option>${rules.map((r) => option(r.id, r.title, values.rule))}</select></div>
</div>
<button type="submit" class="primary">${t.apply}</button>
</form>`;
  }

  function countsOf(page: AlertPage, counts: Record<Severity, number>): Html {
    const t = text[page.locale];
    return html`<section aria-labelledby="counts-heading"><h2 id="counts-heading">${t.unresolved}</h2>
<p class="actions">${[...severities].reverse().map((s) => html`<a href="${page.base}${queryString({ severity: s })}">${t[s]}: ${counts[s]}</a>`)}</p></section>`;
  }

  function table(page: AlertPage, list: readonly Alert[]): Html {
    const t = text[page.locale];
    if (list.length === 0) return html`<p role="status">${t.none}</p>`;
    return html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.alert}</th><th scope="col">${t.severity}</th><th scope="col">${t.state}</th><th scope="col">${t.subject}</th><th scope="col">${t.count}</th><th scope="col">${t.lastSeen}</th></tr></thead>
<tbody>${list.map(
      (a) => html`<tr><th scope="row"><a href="${page.base}${a.id}">${a.title}</a></th><td>${severityBadge(t, a.severity)}</td><td>${stateLabel(t, a.state)}</td><td>${a.subject}</td><td>${a.count}</td><td>${time(page.locale, a.lastAt)}</td></tr>`,
    )}</tbody></table>`;
  }

  function eventsTable(page: AlertPage, events: readonly StoredEvent[], count: number): Html {
    const t = text[page.locale];
    if (events.length === 0) return html`<p>${t.noEvents}</p>`;
    return html`<table><caption>${t.eventsCaption}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.who}</th><th scope="col">${t.action}</th><th scope="col">${t.resource}</th><th scope="col">${t.outcome}</th><th scope="col">${t.client}</th></tr></thead>
<tbody>${events.map(
      (e) => html`<tr><th scope="row">${time(page.locale, e.at)}</th><td>${e.actor.id} <span class="role">(${e.actor.role})</span></td><td>${e.action}</td><td>${e.resources.slice(0, 3).join(', ')}${e.resources.length > 3 ? ` (+${e.resources.length - 3})` : ''}</td><td>${e.outcome === 'success' ? t.success : `${t.failure} (${e.status}${e.detail === '' ? '' : ` ${e.detail}`})`}</td><td>${e.actor.client}</td></tr>`,
    )}</tbody></table>${count > events.length && events.length >= 100 ? html`<p class="hint">${t.eventsCapped}</p>` : undefined}`;
  }

  function detailBody(page: AlertPage, detail: AlertDetail, noteError?: { note: string; error: string }): Html {
    const t = text[page.locale];
    const a = detail.alert;
    const history = [
      html`<li>${t.raised}: ${time(page.locale, a.firstAt)}</li>`,
      a.acknowledgedBy === undefined ? undefined : html`<li>${t.acknowledgedBy} ${a.acknowledgedBy}: ${time(page.locale, a.acknowledgedAt ?? a.firstAt)}</li>`,
      a.resolvedBy === undefined ? undefined : html`<li>${t.resolvedBy} ${a.resolvedBy}: ${time(page.locale, a.resolvedAt ?? a.firstAt)}${a.note === undefined ? undefined : html`<br>${t.note}: <q>${a.note}</q>`}</li>`,
    ];
    const action = `${page.base}${a.id}`;
    const forms = !page.mayManage || a.state === 'resolved'
      ? undefined
      : html`<section aria-labelledby="act-heading"><h2 id="act-heading">${a.state === 'open' ? `${t.acknowledge} / ${t.resolve}` : t.resolve}</h2>
${a.state !== 'open' ? undefined : html`<form method="post" action="${action}/acknowledge"><input type="hidden" name="csrf" value="${page.csrf}"><p class="hint" id="ack-hint">${t.acknowledgeHint}</p><button type="submit" class="primary" aria-describedby="ack-hint">${t.acknowledge}</button></form>`}
<form method="post" action="${action}/resolve" novalidate>
<input type="hidden" name="csrf" value="${page.csrf}">
${noteError === undefined ? undefined : html`<p class="alert" role="alert" id="note-error">${noteError.error}</p>`}
<label for="note">${t.resolveNote}</label>
<textarea id="note" name="note" rows="3" required maxlength="2000" aria-describedby="${noteError === undefined ? 'note-hint' : 'note-error note-hint'}"${noteError === undefined ? undefined : html` aria-invalid="true"`}>${noteError?.note}</textarea>
<p class="hint" id="note-hint">${t.resolveHint}</p>
<button type="submit">${t.resolveButton}</button>
</form></section>`;
    const incident = page.newIncident === undefined ? undefined : html`<p class="actions"><a href="${page.newIncident}?alert=${encodeURIComponent(a.realm)}/${encodeURIComponent(a.id)}">${t.openIncident}</a></p>`;
    return html`<p><a href="${page.base}">${t.back}</a></p>${incident}
<dl class="facts">
<dt>${t.rule}</dt><dd>${detail.rule?.title ?? a.title} (<code>${a.rule}</code>)</dd>
<dt>${t.what}</dt><dd>${detail.rule?.describe ?? ''}</dd>
<dt>${t.severity}</dt><dd>${severityBadge(t, a.severity)}</dd>
<dt>${t.state}</dt><dd>${stateLabel(t, a.state)}</dd>
<dt>${t.subject}</dt><dd>${a.subject}</dd>
<dt>${t.summary}</dt><dd>${a.summary}</dd>
<dt>${t.count}</dt><dd>${a.count}</dd>
<dt>${t.firstSeen}</dt><dd>${time(page.locale, a.firstAt)}</dd>
<dt>${t.lastSeen}</dt><dd>${time(page.locale, a.lastAt)}</dd>
<dt>${t.runbook}</dt><dd>${runbookLink(a.rule, t.runbookText)}</dd>
</dl>
<section aria-labelledby="history-heading"><h2 id="history-heading">${t.history}</h2><ul>${history}</ul></section>
${forms}
<section aria-labelledby="events-heading"><h2 id="events-heading">${t.events}</h2>${eventsTable(page, detail.events, a.count)}</section>`;
  }

  function settingsBody(page: AlertPage, s: AlertSettings, form?: Record<string, unknown>, error?: string): Html {
    const t = text[page.locale];
    const v = (name: string, fallback: string) => (form === undefined ? fallback : typeof form[name] === 'string' ? (form[name] as string) : '');
    const dayChecked = (d: number) => (form === undefined ? s.workingHours.days.includes(d) : typeof form[`day${d}`] === 'string');
    const described = (hint: string) => (error === undefined ? hint : `settings-error ${hint}`);
    return html`<p>${t.settingsIntro}</p>
<form method="post" action="${page.base}settings" novalidate>
<input type="hidden" name="csrf" value="${page.csrf}">
${error === undefined ? undefined : html`<p class="alert" role="alert" id="settings-error">${t.settingsInvalid}: ${error}</p>`}
<label for="timeZone">${t.timeZone}</label>
<input type="text" id="timeZone" name="timeZone" value="${v('timeZone', s.timeZone)}" autocomplete="off" required aria-describedby="${described('timeZone-hint')}">
<p class="hint" id="timeZone-hint">${t.timeZoneHint}</p>
<fieldset><legend>${t.workingHours}</legend>
<fieldset><legend>${t.days}</legend>${days.map((d) => html`<label><input type="checkbox" name="day${d}" value="1"${dayChecked(d) ? html` checked` : undefined}> ${t[`day${d}`]}</label> `)}</fieldset>
<div class="filters"><div><label for="start">${t.from}</label><input type="time" id="start" name="start" value="${v('start', s.workingHours.start)}" required></div>
<div><label for="end">${t.to}</label><input type="time" id="end" name="end" value="${v('end', s.workingHours.end)}" required></div></div>
</fieldset>
<label for="securityContact">${t.securityContact}</label>
<input type="email" id="securityContact" name="securityContact" value="${v('securityContact', s.securityContact ?? '')}" autocomplete="email" aria-describedby="${described('securityContact-hint')}">
<p class="hint" id="securityContact-hint">${t.securityContactHint}</p>
<fieldset aria-describedby="quiet-hint"><legend>${t.quietHours}</legend>
<div class="filters"><div><label for="quietStart">${t.from}</label><input type="time" id="quietStart" name="quietStart" value="${v('quietStart', s.quietHours?.start ?? '')}"></div>
<div><label for="quietEnd">${t.to}</label><input type="time" id="quietEnd" name="quietEnd" value="${v('quietEnd', s.quietHours?.end ?? '')}"></div></div>
<p class="hint" id="quiet-hint">${t.quietHoursHint}</p>
</fieldset>
<button type="submit" class="primary">${t.save}</button>
</form>`;
  }

  async function showDetail(page: AlertPage, id: string, options: { notice?: string; noteError?: { note: string; error: string }; error?: string; status?: number } = {}): Promise<FastifyReply> {
    const detail = await attemptAs(page.admitted, 'read', refOf(id), () => alerts.get(page.admitted.realm, id));
    await page.admitted.recordRead([`Alert/${detail.alert.id}`]);
    return page.send({
      title: detail.alert.title,
      body: detailBody(page, detail, options.noteError),
      ...(options.notice === undefined ? {} : { notice: options.notice }),
      ...(options.error === undefined ? {} : { error: options.error }),
      ...(options.status === undefined ? {} : { status: options.status }),
    });
  }

  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  return async function plugin(app: FastifyInstance): Promise<void> {
    const { route } = surface;

    app.get(`${route}/`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:read');
      if (page === undefined) return reply;
      const t = text[page.locale];
      const query = request.query as Record<string, unknown>;
      const values: FormValues = {};
      for (const name of ['state', 'severity', 'rule'] as const) if (typeof query[name] === 'string' && query[name] !== '') values[name] = query[name] as string;
      const { lang: _lang, ...filterQuery } = query;
      let filter: ReturnType<typeof parseAlertFilter>;
      try {
        filter = await attemptAs(page.admitted, 'read', '', async () => parseAlertFilter({ ...filterQuery, limit: String(pageSize + 1) }, ruleIds));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 400) throw error;
        return page.send({ title: t.title, status: 400, body: filterForm(page, values, error.message) });
      }
      const list = await alerts.list(page.admitted.realm, filter);
      const shown = list.slice(0, pageSize);
      await page.admitted.recordRead(shown.map((a) => `Alert/${a.id}`));
      const counts = await alerts.counts(page.admitted.realm);
      const last = shown.at(-1);
      const paging = html`<p class="actions">${query['before'] === undefined ? undefined : html`<a href="${page.base}${queryString(values)}">${t.newest}</a>`}${list.length > pageSize && last !== undefined ? html`<a href="${page.base}${queryString({ ...values, before: nextPageBefore(last) })}">${t.older}</a>` : undefined}</p>`;
      const settings = page.mayManage ? html`<p><a href="${page.base}settings">${t.settingsLink}</a></p>` : undefined;
      return page.send({ title: t.title, body: html`${surface.tabs?.(page.locale)}${countsOf(page, counts)}${filterForm(page, values)}${table(page, shown)}${paging}${settings}` });
    });

    app.get(`${route}/settings`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:manage');
      if (page === undefined) return reply;
      const t = text[page.locale];
      const settings = await alerts.settings(page.admitted.realm);
      await page.admitted.recordRead(['AlertSettings']);
      return page.send({ title: t.settingsTitle, body: settingsBody(page, settings), ...((request.query as Record<string, unknown>)['saved'] === '1' ? { notice: t.saved } : {}) });
    });

    app.post(`${route}/settings`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:manage');
      if (page === undefined) return reply;
      const t = text[page.locale];
      const form = (request.body ?? {}) as Record<string, unknown>;
      try {
        await attemptAs(page.admitted, 'settings', 'AlertSettings', () => alerts.saveSettings(page.admitted.realm, settingsFromForm(form), page.admitted.by));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 400) throw error;
        return page.send({ title: t.settingsTitle, status: 400, body: settingsBody(page, await alerts.settings(page.admitted.realm), form, error.message) });
      }
      // PRG: the settings again (RFC 9110 §15.4.4 303).
      return seeOther(reply, `${page.base}settings?saved=1`);
    });

    app.get(`${route}/:id`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:read');
      if (page === undefined) return reply;
      const t = text[page.locale];
      const done = (request.query as Record<string, unknown>)['done'];
      return showDetail(page, idOf(request), done === 'acknowledged' ? { notice: t.didAcknowledge } : done === 'resolved' ? { notice: t.didResolve } : {});
    });

    app.post(`${route}/:id/acknowledge`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:manage');
      if (page === undefined) return reply;
      const id = idOf(request);
      try {
        await attemptAs(page.admitted, 'acknowledge', refOf(id), () => alerts.acknowledge(page.admitted.realm, id, page.admitted.by));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 409) throw error;
        return showDetail(page, id, { error: error.message, status: 409 });
      }
      return seeOther(reply, `${page.base}${id}?done=acknowledged`);
    });

    app.post(`${route}/:id/resolve`, async (request, reply) => {
      const page = await surface.admit(request, reply, 'alerts:manage');
      if (page === undefined) return reply;
      const id = idOf(request);
      const raw = (request.body as Record<string, unknown> | undefined)?.['note'];
      const note = typeof raw === 'string' ? raw : '';
      try {
        await attemptAs(page.admitted, 'resolve', refOf(id), () => alerts.resolve(page.admitted.realm, id, page.admitted.by, note));
      } catch (error) {
        if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 409)) throw error;
        return showDetail(page, id, error.status === 400 ? { noteError: { note, error: error.message }, status: 400 } : { error: error.message, status: 409 });
      }
      return seeOther(reply, `${page.base}${id}?done=resolved`);
    });
  };
}

