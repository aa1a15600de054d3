import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FrozenScopes, FrozenScopeSummary } from '../incidents/index.js';
import { answers, countdown, NotificationError, type Answer, type Assessments, type AssessmentView, type ItemView } from '../notification/index.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../platform/pages/index.js';
import type { IncidentPage } from './incident-pages.js';
import { formText, isoDateTime } from './form-values.js';
import { incidentForm } from './incident-form.js';

type Key =
  | 'title' | 'notAdvice' | 'back' | 'none' | 'noneTenant' | 'compute' | 'recompute' | 'scope' | 'newest' | 'computeButton'
  | 'facts' | 'fromScope' | 'awareAt' | 'awareSet' | 'awareDefault' | 'role' | 'processor' | 'controller' | 'regimes' | 'computedBy' | 'changed'
  | 'tenant' | 'caption' | 'rule' | 'question' | 'answer' | 'due' | 'notify' | 'computed' | 'overriddenBy' | 'doneBy'
  | 'yes' | 'no' | 'not-applicable' | 'decide' | 'noDeadline' | 'noDuty' | 'done' | 'reasons' | 'contents'
  | 'change' | 'override' | 'newAnswer' | 'removeOverride' | 'reason' | 'reasonHint' | 'saveAnswer' | 'markDone' | 'how' | 'howHint' | 'doneAt' | 'doneAtHint' | 'saveDone' | 'undoDone'
  | 'awareHeading' | 'awareField' | 'awareHint' | 'awareReason' | 'saveAware' | 'saved' | 'notSaved' | 'stage-two-thirds' | 'stage-ninety' | 'stage-overdue';

const text: Texts<Key> = {
  en: {
    title: 'Notification assessment', notAdvice: 'This checklist is not legal advice. Each answer shows the rule and the numbers that led to it, so that the person responsible can check it, override it with a reason, and decide.', back: 'Back to the incident',
    none: 'Not assessed yet. Freeze a breach scope into the incident, then compute the checklist from it.', noneTenant: 'The platform operators have not assessed this incident for your organisation yet.',
    compute: 'Compute the checklist', recompute: 'Compute again', scope: 'From the frozen scope', newest: 'newest', computeButton: 'Compute',
    facts: 'Basis', fromScope: 'Frozen scope', awareAt: 'Aware since', awareSet: 'set by', awareDefault: 'when the incident says', role: 'Platform’s role', processor: 'processor (business associate) — each clinic is the controller', controller: 'controller (covered entity) itself', regimes: 'Regimes', computedBy: 'Computed', changed: 'Answers changed by the last computation',
    tenant: 'Duties of', caption: 'Checklist', rule: 'Rule', question: 'Question', answer: 'Answer', due: 'Due', notify: 'Who is told', computed: 'computed', overriddenBy: 'Answer set by', doneBy: 'Done — recorded by',
    yes: 'yes', no: 'no', 'not-applicable': 'not applicable', decide: 'decide', noDeadline: 'no fixed time', noDuty: '–', done: 'done', reasons: 'Why', contents: 'What the notice contains',
    change: 'Change the answer or record the notification', override: 'Change the answer', newAnswer: 'Answer', removeOverride: 'back to the computed answer', reason: 'Reason', reasonHint: 'Required: why the answer differs (e.g. the risk assessment). Kept with the answer.', saveAnswer: 'Save answer',
    markDone: 'Record the notification', how: 'How and to whom', howHint: 'E.g. the authority’s online form, its reference number.', doneAt: 'When (optional)', doneAtHint: 'ISO 8601 with a zone; empty: now.', saveDone: 'Mark done', undoDone: 'Mark not done',
    awareHeading: 'Time of awareness', awareField: 'Aware since', awareHint: 'Every deadline counts from this time. ISO 8601 with a zone, e.g. 2026-03-03T12:00:00Z.', awareReason: 'Why then', saveAware: 'Set the time of awareness', saved: 'Saved.', notSaved: 'Not saved',
    'stage-two-thirds': 'two thirds of the time gone', 'stage-ninety': '90 % of the time gone', 'stage-overdue': 'overdue',
  },
  de: {
    title: 'Bewertung der Meldepflichten', notAdvice: 'Diese Checkliste ist keine Rechtsberatung. Jede Antwort nennt die Vorschrift und die Zahlen, die zu ihr führten, damit die verantwortliche Person sie prüfen, mit Begründung ändern und entscheiden kann.', back: 'Zurück zum Vorfall',
    none: 'Noch nicht bewertet. Halten Sie einen Umfang der Verletzung im Vorfall fest und berechnen Sie daraus die Checkliste.', noneTenant: 'Die Plattformbetreiber haben diesen Vorfall für Ihre Organisation noch nicht bewertet.',
    compute: 'Checkliste berechnen', recompute: 'Neu berechnen', scope: 'Aus dem festgehaltenen Umfang', newest: 'neuester', computeButton: 'Berechnen',
    facts: 'Grundlage', fromScope: 'Festgehaltener Umfang', awareAt: 'Bekannt seit', awareSet: 'gesetzt von', awareDefault: 'laut Vorfall', role: 'Rolle der Plattform', processor: 'Auftragsverarbeiter (Business Associate) — jede Praxis ist Verantwortliche', controller: 'selbst Verantwortliche (Covered Entity)', regimes: 'Regelwerke', computedBy: 'Berechnet', changed: 'Durch die letzte Berechnung geänderte Antworten',
    tenant: 'Pflichten von', caption: 'Checkliste', rule: 'Vorschrift', question: 'Frage', answer: 'Antwort', due: 'Fällig', notify: 'Wer benachrichtigt wird', computed: 'berechnet', overriddenBy: 'Antwort gesetzt von', doneBy: 'Erledigt — festgehalten von',
    yes: 'ja', no: 'nein', 'not-applicable': 'nicht anwendbar', decide: 'zu entscheiden', noDeadline: 'keine feste Frist', noDuty: '–', done: 'erledigt', reasons: 'Begründung', contents: 'Inhalt der Meldung',
    change: 'Antwort ändern oder Meldung festhalten', override: 'Antwort ändern', newAnswer: 'Antwort', removeOverride: 'zurück zur berechneten Antwort', reason: 'Begründung', reasonHint: 'Pflicht: warum die Antwort abweicht (z. B. die Risikobewertung). Bleibt bei der Antwort.', saveAnswer: 'Antwort speichern',
    markDone: 'Meldung festhalten', how: 'Wie und an wen', howHint: 'Z. B. das Online-Formular der Behörde, ihr Aktenzeichen.', doneAt: 'Wann (optional)', doneAtHint: 'ISO 8601 mit Zone; leer: jetzt.', saveDone: 'Als erledigt markieren', undoDone: 'Als nicht erledigt markieren',
    awareHeading: 'Zeitpunkt der Kenntnis', awareField: 'Bekannt seit', awareHint: 'Alle Fristen laufen ab diesem Zeitpunkt. ISO 8601 mit Zone, z. B. 2026-03-03T12:00:00Z.', awareReason: 'Warum dann', saveAware: 'Zeitpunkt setzen', saved: 'Gespeichert.', notSaved: 'Nicht gespeichert',
    'stage-two-thirds': 'zwei Drittel der Frist verstrichen', 'stage-ninety': '90 % der Frist verstrichen', 'stage-overdue': 'überfällig',
  },
};

const time = (locale: Locale, at: number): Html => html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`;
const answerLabel = (t: Record<Key, string>, answer: Answer) => t[answer];
/** A safe fragment id from an item key (`gdpr.33-1@clinic` → `item-gdpr-33-1-clinic`). */
const anchor = (key: string) => `item-${key.replace(/[^a-z0-9-]/gi, '-')}`;

function dueCell(locale: Locale, t: Record<Key, string>, item: ItemView, now: number): Html {
  if (item.done !== null) return html`${t.done} ${time(locale, item.done.at)}`;
  // No duty (no, not applicable): no countdown to run out.
  if (item.effective === 'no' || item.effective === 'not-applicable') return html`${t.noDuty}`;
  if (item.dueAt === null) return html`${item.deadline.wording}`;
  const words = countdown(item.dueAt, now, locale);
  return html`<strong class="${item.dueAt < now ? 'severity severity-critical' : item.stage === null ? '' : 'severity severity-high'}">${words}</strong><br>${time(locale, item.dueAt)}${item.stage === null || item.stage === 'overdue' ? undefined : html`<br><span class="hint">${t[`stage-${item.stage}`]}</span>`}`;
}

function itemDetail(page: IncidentPage, t: Record<Key, string>, item: ItemView, action: string): Html {
  const csrf = html`<input type="hidden" name="csrf" value="${page.csrf}">`;
  const id = anchor(item.key);
  const manage = page.caller.kind === 'operator';
  return html`<section aria-labelledby="${id}" class="assessment-item"><h4 id="${id}">${item.cite} — ${item.question}</h4>
<p><strong>${t.answer}:</strong> ${answerLabel(t, item.effective)}${item.override === null ? undefined : html` (${t.computed}: ${answerLabel(t, item.answer)})`}</p>
<p><strong>${t.reasons}:</strong> ${item.reasoning}</p>
<p><strong>${t.notify}:</strong> ${item.notify} · <strong>${t.due}:</strong> ${item.deadline.wording}</p>
${item.contents === undefined || item.contents.length === 0 ? undefined : html`<details><summary>${t.contents}</summary><ul>${item.contents.map((c) => html`<li>${c}</li>`)}</ul></details>`}
${item.override === null ? undefined : html`<p class="prewrap">${t.overriddenBy} ${item.override.by}, ${time(page.locale, item.override.at)}: ${item.override.reason}</p>`}
${item.done === null ? undefined : html`<p class="prewrap">${t.doneBy} ${item.done.by}, ${time(page.locale, item.done.at)}: ${item.done.how}</p>`}
${
  manage
    ? html`<details class="item-forms"><summary>${t.change}: ${item.cite}</summary><form method="post" action="${action}items/${item.key}/answer" aria-label="${t.override}: ${item.cite}">${csrf}
<label for="${id}-answer">${t.newAnswer}</label><select id="${id}-answer" name="answer">${answers.map((a) => html`<option value="${a}"${a === item.effective ? html` selected` : undefined}>${t[a]}</option>`)}${item.override === null ? undefined : html`<option value="computed">${t.removeOverride}</option>`}</select>
<label for="${id}-reason">${t.reason}</label><textarea id="${id}-reason" name="reason" rows="2" required maxlength="2000" aria-describedby="${id}-reason-hint"></textarea><p class="hint" id="${id}-reason-hint">${t.reasonHint}</p>
<button type="submit">${t.saveAnswer}</button></form>
${
  item.done === null
    ? html`<form method="post" action="${action}items/${item.key}/done" aria-label="${t.markDone}: ${item.cite}">${csrf}
<label for="${id}-how">${t.how}</label><input type="text" id="${id}-how" name="how" required maxlength="2000" aria-describedby="${id}-how-hint"><p class="hint" id="${id}-how-hint">${t.howHint}</p>
<label for="${id}-at">${t.doneAt}</label><input type="text" id="${id}-at" name="at" aria-describedby="${id}-at-hint"><p class="hint" id="${id}-at-hint">${t.doneAtHint}</p>
<button type="submit">${t.saveDone}</button></form>`
    : html`<form class="inline" method="post" action="${action}items/${item.key}/undone">${csrf}<button type="submit" aria-label="${t.undoDone}: ${item.cite}">${t.undoDone}</button></form>`
}</details>`
    : undefined
}</section>`;
}

/** The checklist page: the basis, per tenant a table of the items with countdowns, then each item's reasons (and, for operators, its forms). */
export function assessmentBody(page: IncidentPage, incidentId: string, view: AssessmentView | undefined, scopes: readonly FrozenScopeSummary[], now: number): Html {
  const t = text[page.locale];
  const base = `${page.base}${incidentId}/assessment/`;
  const csrf = html`<input type="hidden" name="csrf" value="${page.csrf}">`;
  const operator = page.caller.kind === 'operator';
  const back = html`<p><a href="${page.base}${incidentId}">${t.back}</a></p><p class="notice">${t.notAdvice}</p>`;
  const compute =
    !operator || scopes.length === 0
      ? undefined
      : html`<section aria-labelledby="compute-heading"><h2 id="compute-heading">${view === undefined ? t.compute : t.recompute}</h2><form method="post" action="${base}compute">${csrf}
<label for="scope-id">${t.scope}</label><select id="scope-id" name="scopeId">${[...scopes].reverse().map((s, i) => html`<option value="${s.id}">${s.id} (${formatDateTime(page.locale, s.computedAt)}, ${s.hash.slice(0, 12)})${i === 0 ? ` — ${t.newest}` : ''}</option>`)}</select>
<button type="submit" class="primary">${t.computeButton}</button></form></section>`;
  if (view === undefined) return html`${back}<p role="status">${operator ? t.none : t.noneTenant}</p>${compute}`;
  const facts = html`<section aria-labelledby="facts-heading"><h2 id="facts-heading">${t.facts}</h2><dl class="facts">
${operator ? html`<dt>${t.fromScope}</dt><dd><code class="hash">${view.scopeId}</code> (<code class="hash">${view.scopeHash.slice(0, 12)}</code>)</dd>` : undefined}
<dt>${t.awareAt}</dt><dd>${time(page.locale, view.awareAt)} ${view.awareness === null ? html`(${t.awareDefault})` : html`(${t.awareSet} ${view.awareness.by}: ${view.awareness.reason})`}</dd>
<dt>${t.role}</dt><dd>${t[view.role]}</dd><dt>${t.regimes}</dt><dd>${view.regimes.map((r) => r.toUpperCase()).join(', ')}</dd>
<dt>${t.computedBy}</dt><dd>${time(page.locale, view.computedAt)}, ${view.computedBy}</dd>
${view.changed.length === 0 ? undefined : html`<dt>${t.changed}</dt><dd>${view.changed.join(', ')}</dd>`}
</dl></section>`;
  const tenants = [...new Set(view.items.map((i) => i.tenantId))];
  const lists = tenants.map((tenant) => {
    const items = view.items.filter((i) => i.tenantId === tenant);
    const headingId = `tenant-${tenant}`;
    return html`<section aria-labelledby="${headingId}"><h2 id="${headingId}">${t.tenant} ${tenant}</h2>
<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.rule}</th><th scope="col">${t.question}</th><th scope="col">${t.answer}</th><th scope="col">${t.due}</th></tr></thead><tbody>${items.map(
      (item) =>
        html`<tr><th scope="row"><a href="#${anchor(item.key)}">${item.cite}</a></th><td>${item.question}</td><td><strong class="answer answer-${item.effective}">${answerLabel(t, item.effective)}</strong>${item.override === null ? undefined : html` <span class="hint">(${t.computed}: ${answerLabel(t, item.answer)})</span>`}</td><td>${dueCell(page.locale, t, item, now)}</td></tr>`,
    )}</tbody></table>
${items.map((item) => itemDetail(page, t, item, base))}</section>`;
  });
  const aware = !operator
    ? undefined
    : html`<section aria-labelledby="aware-heading"><h2 id="aware-heading">${t.awareHeading}</h2><form method="post" action="${base}awareness">${csrf}
<label for="aware-at">${t.awareField}</label><input type="text" id="aware-at" name="at" required value="${new Date(view.awareAt).toISOString()}" aria-describedby="aware-hint"><p class="hint" id="aware-hint">${t.awareHint}</p>
<label for="aware-reason">${t.awareReason}</label><input type="text" id="aware-reason" name="reason" required maxlength="2000">
<button type="submit">${t.saveAware}</button></form></section>`;
  return html`${back}${facts}${lists}${aware}${compute}`;
}

export interface AssessmentPagesOptions {
  /** The incidents' route prefix, without the trailing slash. */
  readonly route: string;
  readonly admit: (request: FastifyRequest, reply: FastifyReply, manage: boolean) => Promise<IncidentPage | undefined>;
  readonly assessments: Assessments;
  readonly scopes?: FrozenScopes | undefined;
  /** The clinic console: the page only, no forms (changing the checklist is the operators'). */
  readonly readOnly?: boolean;
  readonly now: () => number;
}

const field = formText;
const isoTime = (value: string, name: string): number => isoDateTime(value, name, (message) => new NotificationError('assessment-invalid', message, { status: 400, expose: true }));

/**
 * `<incidents>/{id}/assessment`: the notification checklist of an incident, in the operator
 * console (compute, override with a reason, record the notification, set the time of
 * awareness) and read-only in the clinic console (its own items). The same service as the API;
 * reads audited as its reads; forms post and redirect (PRG); a refusal re-renders with the reason.
 */
export function assessmentPages({ route, admit, assessments, scopes, readOnly = false, now }: AssessmentPagesOptions) {
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  async function show(request: FastifyRequest, page: IncidentPage, extra: { notice?: string; error?: string; status?: number } = {}) {
    const id = idOf(request);
    let view: AssessmentView | undefined;
    try {
      view = await assessments.get(page.caller, id);
    } catch (error) {
      if (!(error instanceof NotificationError && error.code === 'assessment-not-found')) throw error;
    }
    const list = page.caller.kind === 'operator' && scopes !== undefined ? ((await scopes.list(page.caller, id)) as FrozenScopeSummary[]) : [];
    await page.record('audit.read', [`Incident/${id}`]);
    return page.send({ title: text[page.locale].title, body: assessmentBody(page, id, view, list, now()), ...extra });
  }

  function act(app: FastifyInstance, path: string, action: 'notification.assessed' | 'notification.item_changed' | 'notification.awareness_set', work: (request: FastifyRequest, page: IncidentPage) => Promise<unknown>): void {
    incidentForm(app, `${route}/:id/assessment/${path}`, {
      admit: (request, reply) => admit(request, reply, true),
      action,
      work: async (request, page) => (await work(request, page), `${page.base}${idOf(request)}/assessment?done=${path.split('/').at(-1) ?? ''}`),
      refused: (request, page, error) => show(request, page, { error: `${text[page.locale].notSaved}: ${error.message}`, status: error.status }),
    });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(`${route}/:id/assessment`, async (request, reply) => {
      const page = await admit(request, reply, false);
      if (page === undefined) return reply;
      return show(request, page, typeof (request.query as Record<string, unknown>)['done'] === 'string' ? { notice: text[page.locale].saved } : {});
    });
    if (readOnly) return;
    act(app, 'compute', 'notification.assessed', (request, page) => assessments.compute(page.caller, idOf(request), field(request, 'scopeId') || undefined));
    act(app, 'items/:item/answer', 'notification.item_changed', (request, page) => {
      const answer = field(request, 'answer');
      if (answer !== 'computed' && !(answers as readonly string[]).includes(answer)) throw new NotificationError('assessment-invalid', `answer: one of ${answers.join(', ')}`, { status: 400, expose: true });
      return assessments.changeItem(page.caller, idOf(request), (request.params as { item: string }).item, { answer: answer === 'computed' ? null : (answer as Answer), reason: field(request, 'reason') });
    });
    act(app, 'items/:item/done', 'notification.item_changed', (request, page) => {
      const at = field(request, 'at');
      return assessments.changeItem(page.caller, idOf(request), (request.params as { item: string }).item, { done: { how: field(request, 'how'), ...(at === '' ? {} : { at: isoTime(at, 'at') }) } });
    });
    act(app, 'items/:item/undone', 'notification.item_changed', (request, page) => assessments.changeItem(page.caller, idOf(request), (request.params as { item: string }).item, { done: null }));
    act(app, 'awareness', 'notification.awareness_set', (request, page) => assessments.setAwareness(page.caller, idOf(request), isoTime(field(request, 'at'), 'at'), field(request, 'reason')));
  };
}
