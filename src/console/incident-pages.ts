import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit, AuditAction } from '../audit/index.js';
import { severities } from '../detection/index.js';
import { callerEvent, incidentStates, parseAlertRef, type FrozenScopes, type FrozenScopeSummary, type Incident, type IncidentCaller, type IncidentDetail, type Incidents, type IncidentState, type TenantScopePart } from '../incidents/index.js';
import { AppError } from '../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../platform/pages/index.js';
import { operatorScopeSection, suspectKinds, tenantScopeSection, verifyNotice } from './incident-scope-section.js';
import { formText, isoDateTime } from './form-values.js';
import { incidentForm } from './incident-form.js';

type Key =
  | 'title' | 'intro' | 'filter' | 'state' | 'any' | 'openOnly' | 'apply' | 'caption' | 'incident' | 'severity' | 'owner' | 'age' | 'tenants' | 'none' | 'newIncident'
  | 'triage' | 'contained' | 'eradicated' | 'recovered' | 'closed' | 'low' | 'medium' | 'high' | 'critical'
  | 'openedAt' | 'awareAt' | 'awareHint' | 'nobody' | 'platformOnly' | 'timeline' | 'timelineCaption' | 'when' | 'who' | 'what' | 'kind'
  | 'k-opened' | 'k-note' | 'k-action' | 'k-state' | 'k-alert' | 'k-task' | 'k-update' | 'k-scope' | 'public'
  | 'alerts' | 'noAlerts' | 'tasks' | 'noTasks' | 'due' | 'dueIn' | 'overdue' | 'done' | 'markDone' | 'taskTitle' | 'taskDue' | 'dueHint' | 'addTask'
  | 'changeState' | 'to' | 'reason' | 'reasonHint' | 'move' | 'addNote' | 'noteText' | 'noteHint' | 'saveNote'
  | 'update' | 'updateText' | 'updateHint' | 'makePublic' | 'publicText' | 'publicHint' | 'postUpdate' | 'deliveries' | 'deliveriesCaption' | 'recipient' | 'status' | 'noDeliveries' | 'securityContact'
  | 'changeAware' | 'awareField' | 'awareReason' | 'saveAware' | 'back' | 'saved' | 'notSaved'
  | 'newTitle' | 'incidentTitle' | 'tenantsField' | 'tenantsHint' | 'fromAlert' | 'firstNote' | 'openButton' | 'assessment';

const text: Texts<Key> = {
  en: {
    title: 'Incidents', intro: 'Security incidents and their handling: triage, containment, eradication, recovery, closing. Every change is recorded in the audit trail under your name.',
    filter: 'Filter incidents', state: 'State', any: 'Any', openOnly: 'Not closed', apply: 'Show incidents', caption: 'Incidents, newest first', incident: 'Incident', severity: 'Severity', owner: 'Owner', age: 'Open for', tenants: 'Tenants', none: 'No incident matches.', newIncident: 'Open an incident',
    triage: 'triage', contained: 'contained', eradicated: 'eradicated', recovered: 'recovered', closed: 'closed', low: 'low', medium: 'medium', high: 'high', critical: 'critical',
    openedAt: 'Opened', awareAt: 'Aware since', awareHint: 'Notification deadlines (GDPR Art. 33: 72 hours) count from this time.', nobody: 'nobody yet', platformOnly: 'the platform only',
    timeline: 'Timeline', timelineCaption: 'What happened and who did it, oldest first', when: 'When', who: 'Who', what: 'What', kind: 'Kind',
    'k-opened': 'opened', 'k-note': 'note', 'k-action': 'change', 'k-state': 'state', 'k-alert': 'alert linked', 'k-task': 'task done', 'k-update': 'customer update', 'k-scope': 'breach scope', public: 'public',
    alerts: 'Linked alerts', noAlerts: 'No alert is linked.', tasks: 'Tasks', noTasks: 'No task yet.', due: 'Due', dueIn: 'due in', overdue: 'overdue by', done: 'done', markDone: 'Mark done', taskTitle: 'Task', taskDue: 'Due (optional)', dueHint: 'ISO 8601 with a zone, e.g. 2026-03-03T12:00:00Z.', addTask: 'Add task',
    changeState: 'Change the state', to: 'New state', reason: 'Reason', reasonHint: 'Required to close (the resolution) and to reopen. Every affected tenant reads it.', move: 'Change state', addNote: 'Add a note', noteText: 'Note', noteHint: 'Kept in the timeline; no patient data.', saveNote: 'Add note',
    update: 'Customer update', updateText: 'Text for the affected tenants', updateHint: 'Mailed to each affected tenant’s administrators and security contact, and shown in their console.', makePublic: 'Also publish on the status page', publicText: 'Public text', publicHint: 'Read by anyone: never name a customer or a patient.', postUpdate: 'Send update',
    deliveries: 'Deliveries', deliveriesCaption: 'Mail of customer updates, per recipient', recipient: 'Recipient', status: 'Status', noDeliveries: 'No customer update sent yet.', securityContact: 'security contact',
    changeAware: 'Awareness time', awareField: 'Aware since', awareReason: 'Why it changes', saveAware: 'Change awareness time', back: 'All incidents', saved: 'Saved.', notSaved: 'Not saved',
    newTitle: 'Open an incident', incidentTitle: 'Title', tenantsField: 'Affected tenants', tenantsHint: 'Tenant ids, separated by commas; empty: the platform only.', fromAlert: 'Linked alert', firstNote: 'First note (optional)', openButton: 'Open incident',
    assessment: 'Notification assessment: who must be told, by when',
  },
  de: {
    title: 'Sicherheitsvorfälle', intro: 'Sicherheitsvorfälle und ihre Bearbeitung: Sichtung, Eindämmung, Beseitigung, Wiederherstellung, Abschluss. Jede Änderung wird unter Ihrem Namen im Protokoll festgehalten.',
    filter: 'Vorfälle filtern', state: 'Status', any: 'Alle', openOnly: 'Nicht abgeschlossen', apply: 'Vorfälle zeigen', caption: 'Vorfälle, neueste zuerst', incident: 'Vorfall', severity: 'Schweregrad', owner: 'Verantwortlich', age: 'Offen seit', tenants: 'Mandanten', none: 'Kein Vorfall passt.', newIncident: 'Vorfall eröffnen',
    triage: 'Sichtung', contained: 'eingedämmt', eradicated: 'beseitigt', recovered: 'wiederhergestellt', closed: 'abgeschlossen', low: 'niedrig', medium: 'mittel', high: 'hoch', critical: 'kritisch',
    openedAt: 'Eröffnet', awareAt: 'Bekannt seit', awareHint: 'Meldefristen (DSGVO Art. 33: 72 Stunden) laufen ab diesem Zeitpunkt.', nobody: 'noch niemand', platformOnly: 'nur die Plattform',
    timeline: 'Verlauf', timelineCaption: 'Was geschah und wer es tat, älteste zuerst', when: 'Wann', who: 'Wer', what: 'Was', kind: 'Art',
    'k-opened': 'eröffnet', 'k-note': 'Notiz', 'k-action': 'Änderung', 'k-state': 'Status', 'k-alert': 'Warnmeldung verknüpft', 'k-task': 'Aufgabe erledigt', 'k-update': 'Kundeninformation', 'k-scope': 'Umfang der Verletzung', public: 'öffentlich',
    alerts: 'Verknüpfte Warnmeldungen', noAlerts: 'Keine Warnmeldung verknüpft.', tasks: 'Aufgaben', noTasks: 'Noch keine Aufgabe.', due: 'Fällig', dueIn: 'fällig in', overdue: 'überfällig seit', done: 'erledigt', markDone: 'Als erledigt markieren', taskTitle: 'Aufgabe', taskDue: 'Fällig (optional)', dueHint: 'ISO 8601 mit Zone, z. B. 2026-03-03T12:00:00Z.', addTask: 'Aufgabe anlegen',
    changeState: 'Status ändern', to: 'Neuer Status', reason: 'Begründung', reasonHint: 'Pflicht beim Abschließen (das Ergebnis) und Wiedereröffnen. Alle betroffenen Mandanten lesen sie.', move: 'Status ändern', addNote: 'Notiz hinzufügen', noteText: 'Notiz', noteHint: 'Bleibt im Verlauf; keine Patientendaten.', saveNote: 'Notiz hinzufügen',
    update: 'Kundeninformation', updateText: 'Text für die betroffenen Mandanten', updateHint: 'Geht per E-Mail an die Administrator:innen und den Sicherheitskontakt jedes betroffenen Mandanten und erscheint in ihrer Konsole.', makePublic: 'Auch auf der Statusseite veröffentlichen', publicText: 'Öffentlicher Text', publicHint: 'Für alle lesbar: nennen Sie nie Kunden oder Patienten.', postUpdate: 'Information senden',
    deliveries: 'Zustellungen', deliveriesCaption: 'E-Mails der Kundeninformationen, je Empfänger', recipient: 'Empfänger', status: 'Status', noDeliveries: 'Noch keine Kundeninformation gesendet.', securityContact: 'Sicherheitskontakt',
    changeAware: 'Zeitpunkt der Kenntnis', awareField: 'Bekannt seit', awareReason: 'Grund der Änderung', saveAware: 'Zeitpunkt ändern', back: 'Alle Vorfälle', saved: 'Gespeichert.', notSaved: 'Nicht gespeichert',
    newTitle: 'Vorfall eröffnen', incidentTitle: 'Titel', tenantsField: 'Betroffene Mandanten', tenantsHint: 'Mandanten-IDs, durch Kommas getrennt; leer: nur die Plattform.', fromAlert: 'Verknüpfte Warnmeldung', firstNote: 'Erste Notiz (optional)', openButton: 'Vorfall eröffnen',
    assessment: 'Bewertung der Meldepflichten: wer bis wann zu benachrichtigen ist',
  },
};

/** A page of the incidents, admitted: who acts, how it renders, what they may do. */
export interface IncidentPage {
  readonly caller: IncidentCaller;
  readonly locale: Locale;
  readonly csrf: string;
  /** `incidents:manage` (tenant) or the `operator` role. */
  readonly mayManage: boolean;
  /** The console's path of the incidents, ending in `/`. */
  readonly base: string;
  /** A linked alert's console page, when the caller has one. */
  readonly alertHref: (realm: string, alertId: string) => string | undefined;
  /** Records a read (`audit.read`) or a refusal in the caller's trail. */
  readonly record: (action: AuditAction, resources: readonly string[], error?: AppError) => Promise<void>;
  readonly send: (page: { title: string; body: Html; notice?: string; error?: string; status?: number }) => FastifyReply;
}

export interface IncidentPagesOptions {
  /** The route prefix, without the trailing slash (`/platform/console/incidents`). */
  readonly route: string;
  readonly admit: (request: FastifyRequest, reply: FastifyReply, manage: boolean) => Promise<IncidentPage | undefined>;
  /** Breach scopes frozen into incidents: the operators' section and form, a clinic admin's own part. */
  readonly scopes?: FrozenScopes;
  /** A section under the list's introduction (the operators': the last notification drill). */
  readonly listNote?: (page: IncidentPage) => Html | undefined;
  /** Links the incident's notification checklist (assessment-pages.ts). */
  readonly assessment?: boolean;
  /** A further section at the page's end (a clinic's breach notices), for those who manage incidents. */
  readonly extraSection?: (page: IncidentPage, incidentId: string) => Promise<Html | undefined>;
}

const time = (locale: Locale, at: number): Html => html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`;
const span = (ms: number): string => {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  return minutes < 120 ? `${minutes} min` : minutes < 72 * 60 ? `${Math.round(minutes / 60)} h` : `${Math.round(minutes / 1440)} d`;
};
const stateOf = (t: Record<Key, string>, state: string) => ((incidentStates as readonly string[]).includes(state) ? t[state as IncidentState] : state);
const ownerOf = (t: Record<Key, string>, incident: Incident) => (incident.owner.accountId === '' ? t.nobody : `${incident.owner.realm}/${incident.owner.accountId}`);

function listBody(page: IncidentPage, incidents: readonly Incident[], state: string | undefined, now: number, note?: Html): Html {
  const t = text[page.locale];
  const operator = page.caller.kind === 'operator';
  const option = (value: string, label: string) => html`<option value="${value}"${value === (state ?? '') ? html` selected` : undefined}>${label}</option>`;
  const filter = html`<form method="get" action="${page.base}" aria-labelledby="filter-heading"><h2 id="filter-heading">${t.filter}</h2>
<label for="state">${t.state}</label><select id="state" name="state">${option('', t.any)}${option('open', t.openOnly)}${incidentStates.map((s) => option(s, t[s]))}</select>
<button type="submit">${t.apply}</button></form>`;
  const table =
    incidents.length === 0
      ? html`<p role="status">${t.none}</p>`
      : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.incident}</th><th scope="col">${t.severity}</th><th scope="col">${t.state}</th><th scope="col">${t.owner}</th><th scope="col">${t.age}</th>${operator ? html`<th scope="col">${t.tenants}</th>` : undefined}</tr></thead>
<tbody>${incidents.map(
          (i) =>
            html`<tr><th scope="row"><a href="${page.base}${i.id}">${i.title}</a></th><td><strong class="severity severity-${i.severity}">${t[i.severity]}</strong></td><td>${stateOf(t, i.state)}</td><td>${ownerOf(t, i)}</td><td>${span(now - i.openedAt)}</td>${operator ? html`<td>${i.tenants.join(', ') || t.platformOnly}</td>` : undefined}</tr>`,
        )}</tbody></table>`;
  return html`<p>${t.intro}</p>${page.mayManage ? html`<p class="actions"><a href="${page.base}new">${t.newIncident}</a></p>` : undefined}${note}${filter}${table}`;
}

function newBody(page: IncidentPage, alert: string | undefined): Html {
  const t = text[page.locale];
  return html`<p><a href="${page.base}">${t.back}</a></p>
<form method="post" action="${page.base}new"><input type="hidden" name="csrf" value="${page.csrf}">
${alert === undefined ? undefined : html`<input type="hidden" name="alert" value="${alert}"><p>${t.fromAlert}: <code>${alert}</code></p>`}
<label for="title">${t.incidentTitle}</label><input type="text" id="title" name="title" required maxlength="200">
<label for="severity">${t.severity}</label><select id="severity" name="severity">${severities.map((s) => html`<option value="${s}"${s === 'medium' ? html` selected` : undefined}>${t[s]}</option>`)}</select>
${page.caller.kind === 'operator' ? html`<label for="tenants">${t.tenantsField}</label><input type="text" id="tenants" name="tenants" aria-describedby="tenants-hint"><p class="hint" id="tenants-hint">${t.tenantsHint}</p>` : undefined}
<label for="note">${t.firstNote}</label><textarea id="note" name="note" rows="3" maxlength="8000"></textarea>
<button type="submit" class="primary">${t.openButton}</button></form>`;
}

function detailBody(page: IncidentPage, detail: IncidentDetail, now: number, scopeSection?: Html, assessment = false): Html {
  const t = text[page.locale];
  const i = detail.incident;
  const operator = page.caller.kind === 'operator';
  const action = (path: string) => `${page.base}${i.id}/${path}`;
  const csrf = html`<input type="hidden" name="csrf" value="${page.csrf}">`;
  const facts = html`<dl class="facts">
<dt>${t.severity}</dt><dd><strong class="severity severity-${i.severity}">${t[i.severity]}</strong></dd>
<dt>${t.state}</dt><dd>${stateOf(t, i.state)}</dd>
<dt>${t.owner}</dt><dd>${ownerOf(t, i)}</dd>
<dt>${t.openedAt}</dt><dd>${time(page.locale, i.openedAt)}</dd>
<dt>${t.awareAt}</dt><dd>${time(page.locale, i.awareAt)} <span class="hint">${t.awareHint}</span></dd>
${operator ? html`<dt>${t.tenants}</dt><dd>${i.tenants.join(', ') || t.platformOnly}</dd>` : undefined}
</dl>`;
  const alerts = html`<section aria-labelledby="alerts-heading"><h2 id="alerts-heading">${t.alerts}</h2>${
    detail.alerts.length === 0
      ? html`<p>${t.noAlerts}</p>`
      : html`<ul>${detail.alerts.map((a) => {
          const href = page.alertHref(a.realm, a.alertId);
          const label = html`${a.title} (${a.realm}, ${t[a.severity]}): ${a.summary}`;
          return html`<li>${href === undefined ? label : html`<a href="${href}">${label}</a>`}</li>`;
        })}</ul>`
  }</section>`;
  const tasks = html`<section aria-labelledby="tasks-heading"><h2 id="tasks-heading">${t.tasks}</h2>${
    detail.tasks.length === 0
      ? html`<p>${t.noTasks}</p>`
      : html`<ul>${detail.tasks.map((task) => {
          const due = task.dueAt === undefined ? undefined : task.dueAt >= now ? html` — ${t.dueIn} ${span(task.dueAt - now)} (${time(page.locale, task.dueAt)})` : html` — <strong>${t.overdue} ${span(now - task.dueAt)}</strong> (${time(page.locale, task.dueAt)})`;
          return html`<li>${task.title}${task.assignee === undefined ? undefined : html` (${task.assignee})`}${task.doneAt === undefined ? due : html` — ${t.done} ${time(page.locale, task.doneAt)}, ${task.doneBy ?? ''}`}${
            task.doneAt === undefined && page.mayManage ? html` <form class="inline" method="post" action="${action(`tasks/${task.id}/done`)}">${csrf}<button type="submit" aria-label="${t.markDone}: ${task.title}">${t.markDone}</button></form>` : undefined
          }</li>`;
        })}</ul>`
  }${
    page.mayManage
      ? html`<form method="post" action="${action('tasks')}">${csrf}<label for="task-title">${t.taskTitle}</label><input type="text" id="task-title" name="title" required maxlength="200"><label for="task-due">${t.taskDue}</label><input type="text" id="task-due" name="due" aria-describedby="due-hint"><p class="hint" id="due-hint">${t.dueHint}</p><button type="submit">${t.addTask}</button></form>`
      : undefined
  }</section>`;
  const kindLabel = (kind: string) => t[`k-${kind}` as Key] ?? kind;
  const timeline = html`<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">${t.timeline}</h2><table><caption>${t.timelineCaption}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.kind}</th><th scope="col">${t.who}</th><th scope="col">${t.what}</th></tr></thead><tbody>${detail.timeline.map(
    (e) =>
      html`<tr><td>${time(page.locale, e.at)}</td><td>${kindLabel(e.kind)}${e.kind === 'state' ? html`: ${stateOf(t, String(e.data['from']))} → ${stateOf(t, String(e.data['to']))}` : undefined}${e.data['public'] === true ? html` (${t.public})` : undefined}</td><td>${e.by}</td><td class="prewrap">${e.text}</td></tr>`,
  )}</tbody></table></section>`;
  const next = i.state === 'closed' ? (['triage'] as IncidentState[]) : incidentStates.filter((s) => incidentStates.indexOf(s) > incidentStates.indexOf(i.state));
  const manage = !page.mayManage
    ? undefined
    : html`<section aria-labelledby="state-heading"><h2 id="state-heading">${t.changeState}</h2><form method="post" action="${action('state')}">${csrf}
<label for="to">${t.to}</label><select id="to" name="to">${next.map((s) => html`<option value="${s}">${t[s]}</option>`)}</select>
<label for="reason">${t.reason}</label><textarea id="reason" name="reason" rows="2" maxlength="8000" aria-describedby="reason-hint"></textarea><p class="hint" id="reason-hint">${t.reasonHint}</p>
<button type="submit" class="primary">${t.move}</button></form></section>
<section aria-labelledby="note-heading"><h2 id="note-heading">${t.addNote}</h2><form method="post" action="${action('notes')}">${csrf}
<label for="note-text">${t.noteText}</label><textarea id="note-text" name="text" rows="3" required maxlength="8000" aria-describedby="note-hint"></textarea><p class="hint" id="note-hint">${t.noteHint}</p>
<button type="submit">${t.saveNote}</button></form></section>
<section aria-labelledby="aware-heading"><h2 id="aware-heading">${t.changeAware}</h2><form method="post" action="${action('aware')}">${csrf}
<label for="aware">${t.awareField}</label><input type="text" id="aware" name="awareAt" required value="${new Date(i.awareAt).toISOString()}" aria-describedby="aware-hint"><p class="hint" id="aware-hint">${t.awareHint} ${t.dueHint}</p>
<label for="aware-reason">${t.awareReason}</label><input type="text" id="aware-reason" name="reason" required maxlength="2000">
<button type="submit">${t.saveAware}</button></form></section>`;
  const update = !operator
    ? undefined
    : html`<section aria-labelledby="update-heading"><h2 id="update-heading">${t.update}</h2><form method="post" action="${action('updates')}">${csrf}
<label for="update-text">${t.updateText}</label><textarea id="update-text" name="text" rows="4" required maxlength="8000" aria-describedby="update-hint"></textarea><p class="hint" id="update-hint">${t.updateHint}</p>
<p><input type="checkbox" id="public" name="public" value="yes"> <label for="public" class="inline">${t.makePublic}</label></p>
<label for="public-text">${t.publicText}</label><textarea id="public-text" name="publicText" rows="3" maxlength="8000" aria-describedby="public-hint"></textarea><p class="hint" id="public-hint">${t.publicHint}</p>
<button type="submit">${t.postUpdate}</button></form>
${
  detail.deliveries.length === 0
    ? html`<p>${t.noDeliveries}</p>`
    : html`<table><caption>${t.deliveriesCaption}</caption><thead><tr><th scope="col">#</th><th scope="col">${t.tenants}</th><th scope="col">${t.recipient}</th><th scope="col">${t.status}</th><th scope="col">${t.when}</th></tr></thead><tbody>${detail.deliveries.map(
        (d) => html`<tr><td>${d.seq}</td><td>${d.tenant}</td><td>${d.recipient === 'security-contact' ? t.securityContact : d.recipient}</td><td>${d.status}</td><td>${time(page.locale, d.at)}</td></tr>`,
      )}</tbody></table>`
}</section>`;
  const checklist = assessment ? html`<p class="actions"><a href="${action('assessment')}">${t.assessment}</a></p>` : undefined;
  return html`<p><a href="${page.base}">${t.back}</a></p>${facts}${checklist}${alerts}${tasks}${timeline}${manage}${update}${scopeSection}`;
}

const field = formText;
const isoTime = (value: string, name: string): number => isoDateTime(value, name, (message) => new AppError('incident-invalid', message, { status: 400, expose: true }));

/**
 * The incidents' pages, for the operator console and the clinic console alike: the list (by
 * state), one incident (facts, linked alerts with links to their pages, tasks with due
 * countdowns, the timeline) with its forms (state, note, task, awareness time; customer update
 * for the operators) and the form that opens one (from an alert: `new?alert=<realm>/<id>`).
 * The same service as the API; reads are audited as its reads are. Forms post and redirect
 * (PRG); a refusal re-renders the page with the reason.
 */
export function incidentPages(incidents: Incidents, now: () => number, options: IncidentPagesOptions) {
  const { route } = options;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  async function showDetail(request: FastifyRequest, page: IncidentPage, extra: { notice?: string; error?: string; status?: number } = {}) {
    const detail = await incidents.get(page.caller, idOf(request));
    await page.record('audit.read', [`Incident/${detail.incident.id}`]);
    const extraSection = page.mayManage ? await options.extraSection?.(page, detail.incident.id) : undefined;
    return page.send({ title: detail.incident.title, body: detailBody(page, detail, now(), html`${await scopeSection(page, detail.incident.id)}${extraSection}`, options.assessment === true), ...extra });
  }

  // Operators see every frozen scope and freeze new ones; a clinic's admins (incidents:manage)
  // their own tenant's part with its patients — they are the data controller; an auditor none.
  async function scopeSection(page: IncidentPage, id: string): Promise<Html | undefined> {
    const { scopes } = options;
    if (scopes === undefined || !page.mayManage) return undefined;
    const list = await scopes.list(page.caller, id);
    const csrf = html`<input type="hidden" name="csrf" value="${page.csrf}">`;
    return page.caller.kind === 'operator' ? operatorScopeSection(page.locale, list as FrozenScopeSummary[], (path) => `${page.base}${id}/${path}`, csrf) : tenantScopeSection(page.locale, list as TenantScopePart[]);
  }

  function act(app: FastifyInstance, path: string, action: AuditAction, work: (request: FastifyRequest, page: IncidentPage) => Promise<unknown>): void {
    incidentForm(app, `${route}/:id/${path}`, {
      admit: (request, reply) => options.admit(request, reply, true),
      action,
      // `done` names the act, so each form's result has its own address.
      work: async (request, page) => (await work(request, page), `${page.base}${idOf(request)}?done=${path.split('/').at(-1) ?? ''}`),
      refused: (request, page, error) => showDetail(request, page, { error: `${text[page.locale].notSaved}: ${error.message}`, status: error.status }),
    });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(`${route}/`, async (request, reply) => {
      const page = await options.admit(request, reply, false);
      if (page === undefined) return reply;
      const raw = (request.query as Record<string, unknown>)['state'];
      const state = typeof raw === 'string' && (raw === 'open' || (incidentStates as readonly string[]).includes(raw)) ? raw : undefined;
      const list = await incidents.list(page.caller, { limit: 200, ...(state === 'open' ? { open: true } : state === undefined ? {} : { state: state as IncidentState }) });
      await page.record('audit.read', list.map((i) => `Incident/${i.id}`));
      return page.send({ title: text[page.locale].title, body: listBody(page, list, state, now(), options.listNote?.(page)) });
    });

    app.get(`${route}/new`, async (request, reply) => {
      const page = await options.admit(request, reply, true);
      if (page === undefined) return reply;
      const raw = (request.query as Record<string, unknown>)['alert'];
      const alert = typeof raw === 'string' && /^[a-z0-9-]{1,40}\/[0-9a-f-]{36}$/.test(raw) ? raw : undefined;
      return page.send({ title: text[page.locale].newTitle, body: newBody(page, alert) });
    });

    app.post(`${route}/new`, async (request, reply) => {
      const page = await options.admit(request, reply, true);
      if (page === undefined) return reply;
      let id: string;
      try {
        const alert = field(request, 'alert');
        const tenants = field(request, 'tenants').split(',').map((s) => s.trim()).filter((s) => s !== '');
        const severity = field(request, 'severity');
        const title = field(request, 'title');
        if (title === '' || title.length > 200) throw new AppError('incident-invalid', 'title: 1 to 200 characters', { status: 400, expose: true });
        if (!(severities as readonly string[]).includes(severity)) throw new AppError('incident-invalid', `severity: one of ${severities.join(', ')}`, { status: 400, expose: true });
        if (!tenants.every((s) => /^[a-z0-9-]{1,40}$/.test(s))) throw new AppError('incident-invalid', 'tenants: tenant ids, separated by commas', { status: 400, expose: true });
        const note = field(request, 'note');
        const opened = await incidents.open(page.caller, {
          title,
          severity: severity as (typeof severities)[number],
          ...(page.caller.kind === 'operator' && tenants.length > 0 ? { tenants } : {}),
          ...(alert === '' ? {} : { alerts: [parseAlertRef(alert, 'alert')] }),
          ...(note === '' ? {} : { note }),
        });
        id = opened.incident.id;
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500) throw error;
        await page.record('incident.opened', [], error);
        const t = text[page.locale];
        return page.send({ title: t.newTitle, body: newBody(page, field(request, 'alert') || undefined), error: `${t.notSaved}: ${error.message}`, status: error.status });
      }
      return seeOther(reply, `${page.base}${id}`);
    });

    app.get(`${route}/:id`, async (request, reply) => {
      const page = await options.admit(request, reply, false);
      if (page === undefined) return reply;
      try {
        return await showDetail(request, page, typeof (request.query as Record<string, unknown>)['done'] === 'string' ? { notice: text[page.locale].saved } : {});
      } catch (error) {
        if (error instanceof AppError && error.status === 404) await page.record('audit.read', [], error);
        throw error;
      }
    });

    const { scopes } = options;
    if (scopes !== undefined) {
      act(app, 'scopes', 'incident.scope_frozen', (request, page) => {
        const kind = field(request, 'kind');
        if (!(suspectKinds as readonly string[]).includes(kind)) throw new AppError('incident-invalid', `kind: one of ${suspectKinds.join(', ')}`, { status: 400, expose: true });
        const values = field(request, 'values').split(/\r?\n/).map((v) => v.trim()).filter((v) => v !== '');
        const suspect = kind.startsWith('raw-files') ? { kind: 'raw-files', keysExposed: kind === 'raw-files-keys' } : { kind, values };
        const tenants = field(request, 'tenants').split(',').map((v) => v.trim()).filter((v) => v !== '');
        return scopes.freezeScope(page.caller, idOf(request), { from: isoTime(field(request, 'from'), 'from'), to: isoTime(field(request, 'to'), 'to'), suspect, tenants: tenants.length === 0 ? 'all' : tenants });
      });
      // Verify: the result is the page's notice, not a redirect (it is not stored anywhere).
      app.post(`${route}/:id/scopes/:scopeId/verify`, async (request, reply) => {
        const page = await options.admit(request, reply, true);
        if (page === undefined) return reply;
        const check = await scopes.verifyFrozen(page.caller, idOf(request), (request.params as { scopeId: string }).scopeId);
        const sentence = verifyNotice(page.locale, check);
        return showDetail(request, page, check.intact && check.matchesTrail ? { notice: sentence } : { error: sentence });
      });
      // The whole scope as JSON (operators): it lists patients, so never cached and read as a read.
      app.get(`${route}/:id/scopes/:scopeId`, async (request, reply) => {
        const page = await options.admit(request, reply, true);
        if (page === undefined) return reply;
        const { scopeId } = request.params as { scopeId: string };
        const json = await scopes.get(page.caller, idOf(request), scopeId);
        await page.record('audit.read', [`Incident/${idOf(request)}`]);
        return reply.header('cache-control', 'no-store').header('content-disposition', `attachment; filename="scope-${scopeId}.json"`).type('application/json; charset=utf-8').send(json);
      });
    }

    act(app, 'state', 'incident.state_changed', (request, page) => {
      const to = field(request, 'to');
      if (!(incidentStates as readonly string[]).includes(to)) throw new AppError('incident-invalid', `to: one of ${incidentStates.join(', ')}`, { status: 400, expose: true });
      return incidents.transition(page.caller, idOf(request), to as IncidentState, field(request, 'reason'));
    });
    act(app, 'notes', 'incident.noted', (request, page) => {
      const note = field(request, 'text');
      if (note === '') throw new AppError('incident-invalid', 'text: must not be empty', { status: 400, expose: true });
      return incidents.note(page.caller, idOf(request), note);
    });
    act(app, 'tasks', 'incident.task_added', (request, page) => {
      const title = field(request, 'title');
      if (title === '') throw new AppError('incident-invalid', 'title: must not be empty', { status: 400, expose: true });
      const due = field(request, 'due');
      return incidents.addTask(page.caller, idOf(request), { title, ...(due === '' ? {} : { dueAt: isoTime(due, 'due') }) });
    });
    act(app, 'tasks/:taskId/done', 'incident.task_changed', (request, page) => incidents.changeTask(page.caller, idOf(request), (request.params as { taskId: string }).taskId, { done: true }));
    act(app, 'aware', 'incident.changed', (request, page) => incidents.change(page.caller, idOf(request), { awareAt: isoTime(field(request, 'awareAt'), 'awareAt'), reason: field(request, 'reason') }));
    act(app, 'updates', 'incident.update_posted', (request, page) => {
      const body = field(request, 'text');
      if (body === '') throw new AppError('incident-invalid', 'text: must not be empty', { status: 400, expose: true });
      const isPublic = field(request, 'public') === 'yes';
      const publicText = field(request, 'publicText');
      if (isPublic && publicText === '') throw new AppError('incident-invalid', 'publicText: a public update needs its own text', { status: 400, expose: true });
      return incidents.postUpdate(page.caller, idOf(request), { text: body, ...(isPublic ? { publicText } : {}) });
    });
  };
}

/** Records a page's read or refusal in `realm`'s trail, as the API's routes record theirs. */
export function incidentRecorder(audit: Audit, realm: string, caller: IncidentCaller): IncidentPage['record'] {
  return async (action, resources, error) => {
    const recorded = error === undefined ? action : error.status === 403 ? 'access.denied' : action;
    const detail = error?.code ?? (action === 'audit.read' ? 'incidents' : '');
    await audit.record(realm, [callerEvent(caller, recorded, resources, error === undefined ? 'success' : 'failure', error?.status ?? 200, detail)]);
  };
}
