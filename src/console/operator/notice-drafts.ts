import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Audit, AuditAction } from '../../audit/index.js';
import { operatorRealm } from '../../identity/index.js';
import type { FrozenScopes, FrozenScopeSummary, IncidentCaller, Incidents } from '../../incidents/index.js';
import { freeTextFields, noticeKinds, renderHtmlBody, type DeliveryView, type DraftRow, type FreeText, type NoticeDrafts, type NoticeKind } from '../../notification/index.js';
import type { AppError } from '../../platform/errors.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { incidentRecorder } from '../incident-pages.js';
import type { PageGuard } from '../page-guard.js';
import { field, sectionRole, sendOperatorPage } from './nav.js';
import { incidentForm } from '../incident-form.js';

type Key =
  | 'title' | 'intro' | 'back' | 'backDraft' | 'none' | 'caption' | 'kind' | 'tenant' | 'state' | 'version' | 'editedBy' | 'approvedBy' | 'sent' | 'open'
  | 'generate' | 'scope' | 'kinds' | 'generateButton' | 'noScope'
  | 'individual' | 'customer' | 'authority' | 'media' | 'draft' | 'approved'
  | 'preview' | 'downloads' | 'html' | 'pdf' | 'text' | 'batch' | 'lettersNote'
  | 'edit' | 'whatHappened' | 'measures' | 'consequences' | 'contact' | 'save' | 'editHint'
  | 'approve' | 'approveHint' | 'send' | 'sendHint' | 'fileHint' | 'log' | 'logCaption' | 'recipient' | 'channel' | 'status' | 'code' | 'messageId' | 'at' | 'noLog' | 'saved' | 'notSaved' | 'german' | 'english';

const text: Texts<Key> = {
  en: {
    title: 'Breach notices', intro: 'Drafts generated from a frozen breach scope. The facts come from the scope; you edit the free text. Nothing is sent before a second person approved it.', back: 'Back to the incident', backDraft: 'All notices of this incident', none: 'No draft yet.', caption: 'Drafts, oldest first', kind: 'Notice', tenant: 'Tenant', state: 'State', version: 'Version', editedBy: 'Last edited by', approvedBy: 'Approved by', sent: 'Sent', open: 'Open',
    generate: 'Generate drafts', scope: 'Frozen scope', kinds: 'Notices', generateButton: 'Generate drafts', noScope: 'Freeze a breach scope into the incident first.',
    individual: 'Letters to affected people', customer: 'Notice to the customer (tenant)', authority: 'Report to the authority', media: 'Media notice', draft: 'draft', approved: 'approved',
    preview: 'Preview', downloads: 'Download', html: 'HTML', pdf: 'PDF', text: 'Text', batch: 'Print batch (PDF): letters for those without e-mail', lettersNote: 'Each letter is written for one person from their own record when it is downloaded or sent; a download is recorded in the clinic’s audit trail.',
    edit: 'Free text', whatHappened: 'What happened', measures: 'What we are doing', consequences: 'Likely consequences', contact: 'Contact', save: 'Save text', editHint: 'Saving an approved draft withdraws its approval.',
    approve: 'Approve', approveHint: 'Someone other than the last editor approves.', send: 'Send', sendHint: 'Letters go by mail to those with an e-mail address; the rest go to the print batch or are counted unreachable. Sending again only sends what is missing.', fileHint: 'Tresor does not file this: download it, file it, then record it as filed.',
    log: 'Delivery log', logCaption: 'One row per recipient and channel', recipient: 'Recipient', channel: 'Channel', status: 'Status', code: 'Code', messageId: 'Notice id', at: 'When', noLog: 'Not sent yet.', saved: 'Saved.', notSaved: 'Not saved', german: 'German', english: 'English',
  },
  de: {
    title: 'Benachrichtigungen', intro: 'Entwürfe aus einem festgehaltenen Umfang. Die Fakten stammen aus dem Umfang; den freien Text bearbeiten Sie. Nichts geht hinaus, bevor eine zweite Person es freigegeben hat.', back: 'Zurück zum Vorfall', backDraft: 'Alle Benachrichtigungen dieses Vorfalls', none: 'Noch kein Entwurf.', caption: 'Entwürfe, älteste zuerst', kind: 'Benachrichtigung', tenant: 'Mandant', state: 'Status', version: 'Version', editedBy: 'Zuletzt bearbeitet von', approvedBy: 'Freigegeben von', sent: 'Gesendet', open: 'Öffnen',
    generate: 'Entwürfe erzeugen', scope: 'Festgehaltener Umfang', kinds: 'Benachrichtigungen', generateButton: 'Entwürfe erzeugen', noScope: 'Halten Sie zuerst einen Umfang im Vorfall fest.',
    individual: 'Briefe an Betroffene', customer: 'Mitteilung an den Kunden (Mandanten)', authority: 'Meldung an die Behörde', media: 'Mitteilung an die Medien', draft: 'Entwurf', approved: 'freigegeben',
    preview: 'Vorschau', downloads: 'Herunterladen', html: 'HTML', pdf: 'PDF', text: 'Text', batch: 'Druckstapel (PDF): Briefe an Personen ohne E-Mail', lettersNote: 'Jeder Brief wird beim Herunterladen oder Senden aus dem Datensatz der Person geschrieben; ein Herunterladen steht im Protokoll der Praxis.',
    edit: 'Freier Text', whatHappened: 'Was ist passiert', measures: 'Was wir tun', consequences: 'Wahrscheinliche Folgen', contact: 'Kontakt', save: 'Text speichern', editHint: 'Speichern nimmt eine Freigabe zurück.',
    approve: 'Freigeben', approveHint: 'Freigeben darf nur, wer nicht zuletzt bearbeitet hat.', send: 'Senden', sendHint: 'Briefe gehen per E-Mail an Personen mit Adresse; die übrigen kommen in den Druckstapel oder zählen als unerreichbar. Erneutes Senden schickt nur, was fehlt.', fileHint: 'Tresor reicht dies nicht ein: herunterladen, einreichen, dann als eingereicht festhalten.',
    log: 'Zustellprotokoll', logCaption: 'Eine Zeile je Empfänger und Weg', recipient: 'Empfänger', channel: 'Weg', status: 'Status', code: 'Code', messageId: 'Kennung', at: 'Wann', noLog: 'Noch nicht gesendet.', saved: 'Gespeichert.', notSaved: 'Nicht gespeichert', german: 'Deutsch', english: 'Englisch',
  },
};

interface Page {
  readonly caller: IncidentCaller;
  readonly locale: Locale;
  readonly csrf: Html;
  readonly record: (action: AuditAction, resources: readonly string[], error?: AppError) => Promise<void>;
  readonly send: (page: { title: string; body: Html; notice?: string; error?: string; status?: number }) => FastifyReply;
}

const base = (incidentId: string) => `/platform/console/incidents/${incidentId}/drafts`;
const time = (locale: Locale, at: number | null): Html | string => (at === null ? '–' : html`<time datetime="${new Date(at).toISOString()}">${formatDateTime(locale, at)}</time>`);
const kindLabel = (t: Record<Key, string>, kind: NoticeKind) => t[kind];
const stateLabel = (t: Record<Key, string>, d: DraftRow) => (d.state === 'sent' ? t.sent : t[d.state]);

function listBody(page: Page, incidentId: string, drafts: readonly DraftRow[], scopes: readonly FrozenScopeSummary[]): Html {
  const t = text[page.locale];
  const table =
    drafts.length === 0
      ? html`<p>${t.none}</p>`
      : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.kind}</th><th scope="col">${t.tenant}</th><th scope="col">${t.state}</th><th scope="col">${t.version}</th><th scope="col">${t.editedBy}</th><th scope="col">${t.approvedBy}</th><th scope="col">${t.sent}</th></tr></thead>
<tbody>${drafts.map((d) => html`<tr><th scope="row"><a href="${base(incidentId)}/${d.id}">${kindLabel(t, d.kind)}</a></th><td>${d.tenantId}</td><td>${stateLabel(t, d)}</td><td>${d.version}</td><td>${d.editedBy}</td><td>${d.approvedBy ?? '–'}</td><td>${time(page.locale, d.sentAt)}</td></tr>`)}</tbody></table>`;
  const form =
    scopes.length === 0
      ? html`<p>${t.noScope}</p>`
      : html`<form method="post" action="${base(incidentId)}" aria-labelledby="generate-heading"><h2 id="generate-heading">${t.generate}</h2>${page.csrf}
<label for="scope">${t.scope}</label><select id="scope" name="scopeId">${[...scopes].reverse().map((s) => html`<option value="${s.id}">${formatDateTime(page.locale, s.computedAt)} · ${s.totals.patients} · ${s.hash.slice(0, 12)}</option>`)}</select>
<fieldset><legend>${t.kinds}</legend>${noticeKinds.map((k) => html`<label class="check"><input type="checkbox" name="kind-${k}" value="yes"${k === 'media' ? undefined : html` checked`}> ${t[k]}</label>`)}</fieldset>
<button type="submit" class="primary">${t.generateButton}</button></form>`;
  return html`<p><a href="/platform/console/incidents/${incidentId}">${t.back}</a></p><p>${t.intro}</p>${table}${form}`;
}

function logTable(page: Page, rows: readonly DeliveryView[]): Html {
  const t = text[page.locale];
  if (rows.length === 0) return html`<p>${t.noLog}</p>`;
  return html`<table><caption>${t.logCaption}</caption><thead><tr><th scope="col">${t.recipient}</th><th scope="col">${t.channel}</th><th scope="col">${t.status}</th><th scope="col">${t.code}</th><th scope="col">${t.messageId}</th><th scope="col">${t.at}</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><th scope="row">${r.recipient}</th><td>${r.channel}</td><td>${r.status}</td><td>${r.code ?? '–'}</td><td><code>${r.messageId ?? '–'}</code></td><td>${time(page.locale, r.at)}</td></tr>`)}</tbody></table>`;
}

function draftBody(page: Page, draft: DraftRow, preview: Html | undefined, rows: readonly DeliveryView[]): Html {
  const t = text[page.locale];
  const here = `${base(draft.incidentId)}/${draft.id}`;
  const api = `/platform/incidents/${draft.incidentId}/drafts/${draft.id}`;
  const facts = html`<dl class="facts"><dt>${t.tenant}</dt><dd>${draft.tenantId}</dd><dt>${t.state}</dt><dd>${stateLabel(t, draft)}</dd><dt>${t.version}</dt><dd>${draft.version}</dd>
<dt>${t.editedBy}</dt><dd>${draft.editedBy}, ${time(page.locale, draft.editedAt)}</dd><dt>${t.approvedBy}</dt><dd>${draft.approvedBy === null ? '–' : html`${draft.approvedBy}, ${time(page.locale, draft.approvedAt)}`}</dd><dt>${t.sent}</dt><dd>${draft.sentBy === null ? '–' : html`${draft.sentBy}, ${time(page.locale, draft.sentAt)}`}</dd></dl>`;
  const downloads =
    draft.kind === 'individual'
      ? html`<p>${t.lettersNote}</p><ul><li><a href="${api}?format=html">${t.individual} (${t.html})</a></li><li><a href="${api}?format=pdf">${t.individual} (${t.pdf})</a></li><li><a href="${api}?format=pdf&amp;batch=post">${t.batch}</a></li></ul>`
      : html`<ul>${(['de', 'en'] as const).map((l) => html`<li>${l === 'de' ? t.german : t.english}: <a href="${api}?format=html&amp;language=${l}">${t.html}</a> · <a href="${api}?format=pdf&amp;language=${l}">${t.pdf}</a> · <a href="${api}?format=text&amp;language=${l}">${t.text}</a></li>`)}</ul>`;
  const labels: Record<keyof FreeText, string> = { whatHappened: t.whatHappened, measures: t.measures, consequences: t.consequences, contact: t.contact };
  const edit =
    draft.state === 'sent'
      ? undefined
      : html`<form method="post" action="${here}" aria-labelledby="edit-heading"><h2 id="edit-heading">${t.edit}</h2>${page.csrf}<p class="hint">${t.editHint}</p>
${(['de', 'en'] as const).map((l) => html`<fieldset lang="${l}"><legend>${l === 'de' ? t.german : t.english}</legend>${freeTextFields.map((f) => html`<label for="${l}-${f}">${labels[f]}</label><textarea id="${l}-${f}" name="${l}.${f}" rows="4" maxlength="8000" required>${draft.freeText[l][f]}</textarea>`)}</fieldset>`)}
<button type="submit">${t.save}</button></form>`;
  const approve = draft.state === 'draft' ? html`<form class="inline" method="post" action="${here}/approve">${page.csrf}<p class="hint" id="approve-hint">${t.approveHint}</p><button type="submit" class="primary" aria-describedby="approve-hint">${t.approve}</button></form>` : undefined;
  const sendForm = draft.state === 'draft' ? undefined : html`<form class="inline" method="post" action="${here}/send">${page.csrf}<p class="hint" id="send-hint">${draft.kind === 'authority' || draft.kind === 'media' ? t.fileHint : t.sendHint}</p><button type="submit" class="primary" aria-describedby="send-hint">${t.send}</button></form>`;
  return html`<p><a href="${base(draft.incidentId)}">${t.backDraft}</a></p>${facts}
<section aria-labelledby="downloads-heading"><h2 id="downloads-heading">${t.downloads}</h2>${downloads}</section>
${preview === undefined ? undefined : html`<section aria-labelledby="preview-heading" class="notice-preview"><h2 id="preview-heading">${t.preview}</h2><article lang="${page.locale}">${preview}</article></section>`}
${approve}${sendForm}${edit}
<section aria-labelledby="log-heading"><h2 id="log-heading">${t.log}</h2>${logTable(page, rows)}</section>`;
}

/**
 * `/platform/console/incidents/{id}/drafts`: the breach notices of an incident for the `operator`
 * role — generate from a frozen scope, preview, edit the free text, approve (four eyes), send,
 * and the delivery log. The same service as `/platform/incidents/{id}/drafts` (downloads link
 * there); forms post and redirect (PRG), a refusal re-renders with the reason.
 */
export function operatorNoticePages({ guard, audit, drafts, incidents, scopes }: { guard: PageGuard; audit: Audit; drafts: NoticeDrafts; incidents: Incidents; scopes: FrozenScopes }) {
  async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Page | undefined> {
    const who = await guard.operator(request, reply, sectionRole.incidents);
    if (who === undefined) return undefined;
    const caller: IncidentCaller = { kind: 'operator', actor: { id: `operator:${who.principal.id}`, role: who.principal.role, client: 'session' }, accountId: who.principal.id, requestId: request.id, sourceIp: request.ip, status: 200 };
    return { caller, locale: who.locale, csrf: html`<input type="hidden" name="csrf" value="${who.me.csrf}">`, record: incidentRecorder(audit, operatorRealm, caller), send: (page) => sendOperatorPage(request, reply, who, { section: 'incidents', ...page }) };
  }
  const params = (request: FastifyRequest) => request.params as { id: string; draftId: string };

  async function showList(request: FastifyRequest, page: Page, extra: { notice?: string; error?: string; status?: number } = {}) {
    const { id } = params(request);
    await incidents.get(page.caller, id);
    const list = await drafts.list(page.caller, id);
    const frozen = (await scopes.list(page.caller, id)) as FrozenScopeSummary[];
    await page.record('audit.read', [`Incident/${id}`]);
    return page.send({ title: text[page.locale].title, body: listBody(page, id, list, frozen), ...extra });
  }

  async function showDraft(request: FastifyRequest, page: Page, extra: { notice?: string; error?: string; status?: number } = {}) {
    const { id, draftId } = params(request);
    const draft = await drafts.get(page.caller, id, draftId);
    const docs = await drafts.preview(page.caller, id, draftId, page.locale);
    const rows = await drafts.deliveries(page.caller, id, draftId);
    await page.record('audit.read', [`Incident/${id}`]);
    const preview = docs.length === 0 ? undefined : html`${docs.map((d) => renderHtmlBody(d, 3))}`;
    return page.send({ title: `${text[page.locale].title}: ${kindLabel(text[page.locale], draft.kind)} (${draft.tenantId})`, body: draftBody(page, draft, preview, rows), ...extra });
  }

  function act(app: FastifyInstance, path: string, action: AuditAction, work: (request: FastifyRequest, page: Page) => Promise<string>, onError: typeof showDraft): void {
    incidentForm(app, path, { admit, action, work, refused: (request, page, error) => onError(request, page, { error: `${text[page.locale].notSaved}: ${error.message}`, status: error.status }) });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    const list = '/platform/console/incidents/:id/drafts';
    const one = `${list}/:draftId`;
    app.get(list, async (request, reply) => {
      const page = await admit(request, reply);
      return page === undefined ? reply : showList(request, page);
    });
    app.get(one, async (request, reply) => {
      const page = await admit(request, reply);
      if (page === undefined) return reply;
      return showDraft(request, page, typeof (request.query as Record<string, unknown>)['done'] === 'string' ? { notice: text[page.locale].saved } : {});
    });
    act(app, list, 'notice.drafted', async (request, page) => {
      const { id } = params(request);
      const kinds = noticeKinds.filter((k) => field(request, `kind-${k}`) === 'yes');
      await drafts.generate(page.caller, id, { scopeId: field(request, 'scopeId'), kinds });
      return `${base(id)}?done=generate`;
    }, showList);
    act(app, one, 'notice.edited', async (request, page) => {
      const { id, draftId } = params(request);
      const changes: Record<string, Record<string, string>> = {};
      for (const l of ['de', 'en']) for (const f of freeTextFields) {
        const value = field(request, `${l}.${f}`);
        if (value !== '') (changes[l] ??= {})[f] = value;
      }
      await drafts.edit(page.caller, id, draftId, changes);
      return `${base(id)}/${draftId}?done=edit`;
    }, showDraft);
    act(app, `${one}/approve`, 'notice.approved', async (request, page) => {
      const { id, draftId } = params(request);
      await drafts.approve(page.caller, id, draftId);
      return `${base(id)}/${draftId}?done=approve`;
    }, showDraft);
    act(app, `${one}/send`, 'notice.sent', async (request, page) => {
      const { id, draftId } = params(request);
      await drafts.send(page.caller, id, draftId);
      return `${base(id)}/${draftId}?done=send`;
    }, showDraft);
  };
}
