import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { auditActions, auditEventJson, type Audit, type EventFilter, type StoredEvent } from '../../audit/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { accessEvent, parseAuditFilter, type RecordAccess } from '../../records/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { csvCell, csvLine } from './csv.js';
import { pageAccessContext } from '../page-access.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'filter' | 'person' | 'personHint' | 'patient' | 'patientHint' | 'action' | 'any' | 'from' | 'to' | 'outcome' | 'success' | 'failure' | 'apply'
  | 'events' | 'when' | 'who' | 'resource' | 'client' | 'none' | 'older' | 'newest' | 'export' | 'csv' | 'json' | 'exportHint' | 'invalid';

const text: Texts<Key> = {
  en: {
    title: 'Audit trail', filter: 'Filter the trail', person: 'Person', personHint: 'An actor id as shown in the table, e.g. account:…', patient: 'Patient', patientHint: 'A patient id, e.g. Patient/… or just the id',
    action: 'Action', any: 'Any', from: 'From (date)', to: 'To (date)', outcome: 'Outcome', success: 'success', failure: 'failure', apply: 'Show events',
    events: 'Events, newest first', when: 'When', who: 'Who', resource: 'Resource', client: 'Client', none: 'No event matches.', older: 'Older events', newest: 'Newest events',
    export: 'Download the filtered events', csv: 'Download CSV', json: 'Download JSON', exportHint: 'At most 10,000 events, newest first; narrow the filter for more. Downloading is recorded in the trail.',
    invalid: 'A filter is not valid',
  },
  de: {
    title: 'Protokoll', filter: 'Protokoll filtern', person: 'Person', personHint: 'Eine Akteurs-Kennung wie in der Tabelle, z. B. account:…', patient: 'Patient', patientHint: 'Eine Patienten-Kennung, z. B. Patient/… oder nur die Kennung',
    action: 'Aktion', any: 'Alle', from: 'Von (Datum)', to: 'Bis (Datum)', outcome: 'Ergebnis', success: 'Erfolg', failure: 'Fehlschlag', apply: 'Ereignisse zeigen',
    events: 'Ereignisse, neueste zuerst', when: 'Wann', who: 'Wer', resource: 'Ressource', client: 'Anwendung', none: 'Kein Ereignis passt.', older: 'Ältere Ereignisse', newest: 'Neueste Ereignisse',
    export: 'Gefilterte Ereignisse herunterladen', csv: 'CSV herunterladen', json: 'JSON herunterladen', exportHint: 'Höchstens 10.000 Ereignisse, neueste zuerst; für mehr den Filter einschränken. Das Herunterladen wird protokolliert.',
    invalid: 'Ein Filter ist ungültig',
  },
};

/** Rows per page on screen, and the most an export holds (documented in docs/clinic-console.md). */
const pageSize = 50;
export const exportLimit = 10_000;
const exportBatch = 1000;

const datePattern = /^\d{4}-\d{2}-\d{2}$/;
const formFields = ['actor', 'patient', 'action', 'from', 'to', 'outcome'] as const;
type FormField = (typeof formFields)[number];
type FormValues = Partial<Record<FormField, string>>;

/** The page's filter fields as the audit API's filter (the same parser as `GET /audit`). */
function filterOf(values: FormValues, count: number, before?: number): EventFilter {
  const q: Record<string, string[]> = {};
  const add = (name: string, value: string) => (q[name] = [...(q[name] ?? []), value]);
  if (values.actor !== undefined) add('agent', values.actor);
  if (values.patient !== undefined) add('patient', values.patient);
  if (values.action !== undefined) add('subtype', values.action);
  if (values.outcome !== undefined) add('outcome', values.outcome);
  // Dates are whole days: from the start of `from` to the end of `to` (UTC).
  if (values.from !== undefined) add('date', `ge${values.from}`);
  if (values.to !== undefined) add('date', `le${values.to}`);
  const filter = parseAuditFilter(q);
  return { ...filter, count, ...(before === undefined ? {} : { before }) };
}

function valuesOf(query: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const field of formFields) {
    const raw = query[field];
    const value = typeof raw === 'string' ? raw.trim() : '';
    if (value === '') continue;
    if (field === 'action' && !(auditActions as readonly string[]).includes(value)) throw new AppError('search-invalid', 'action: not an action of the trail', { status: 400, expose: true });
    if ((field === 'from' || field === 'to') && !datePattern.test(value)) throw new AppError('search-invalid', `${field}: a date (YYYY-MM-DD)`, { status: 400, expose: true });
    values[field] = value;
  }
  return values;
}

const queryString = (values: FormValues, extra: Record<string, string> = {}): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) params.set(k, v);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
};

export interface AuditPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly access: RecordAccess;
}

/**
 * `/tenants/{t}/console/audit/` (`audit:read`): the trail filtered and paged, and its export as
 * CSV or JSON. Each view and each export is itself an `audit.read` event naming the patient
 * filtered on, as `GET /audit` records it.
 */
export function auditPages({ guard, realm, audit, access }: AuditPagesDeps) {
  /** The `audit.read` event of this view or export, durable before anything is shown (fail closed). */
  async function recordRead(request: FastifyRequest, caller: StaffCaller, filter: EventFilter): Promise<void> {
    const ctx = pageAccessContext(request, caller);
    await audit.record(ctx.tenantId, [accessEvent(ctx, 'audit.read', filter.patient === undefined ? [] : [{ ref: filter.patient, subject: filter.patient, classes: [] }], 200)]);
  }

  /** Parses the filter; an invalid one is audited as a failed read and shown on the form. */
  async function parsed(request: FastifyRequest, caller: StaffCaller, before?: number, count = pageSize): Promise<{ values: FormValues; filter: EventFilter } | { values: FormValues; error: string }> {
    const query = request.query as Record<string, unknown>;
    const raw: FormValues = {};
    for (const field of formFields) if (typeof query[field] === 'string') raw[field] = query[field] as string;
    try {
      const values = valuesOf(query);
      return { values, filter: filterOf(values, count, before) };
    } catch (error) {
      if (!(error instanceof AppError) || error.status !== 400) throw error;
      await access.failed(pageAccessContext(request, caller), 'audit.read', '', error);
      return { values: raw, error: error.message };
    }
  }

  function form(locale: Locale, action: string, values: FormValues, error?: string): Html {
    const t = text[locale];
    const v = (k: FormField) => values[k] ?? '';
    const describedBy = (hint: string) => (error === undefined ? hint : `filter-error ${hint}`);
    return html`<form method="get" action="${action}" aria-labelledby="filter-heading">
<h2 id="filter-heading">${t.filter}</h2>
${error === undefined ? undefined : html`<p class="alert" role="alert" id="filter-error">${t.invalid}: ${error}</p>`}
<div class="filters">
<div><label for="actor">${t.person}</label><input type="text" id="actor" name="actor" value="${v('actor')}" autocomplete="off" aria-describedby="${describedBy('actor-hint')}"></div>
<div><label for="patient">${t.patient}</label><input type="text" id="patient" name="patient" value="${v('patient')}" autocomplete="off" aria-describedby="${describedBy('patient-hint')}"></div>
<div><label for="action">${t.action}</label><select id="action" name="action"><option value="">${t.any}</option>${auditActions.map((a) => html`<option value="${a}"${a === values.action ? html` selected` : undefined}>${a}</option>`)}</select></div>
<div><label for="outcome">${t.outcome}</label><select id="outcome" name="outcome"><option value="">${t.any}</option>${(['success', 'failure'] as const).map((o) => html`<option value="${o}"${o === values.outcome ? html` selected` : undefined}>${t[o]}</option>`)}</select></div>
<div><label for="from">${t.from}</label><input type="date" id="from" name="from" value="${v('from')}"></div>
<div><label for="to">${t.to}</label><input type="date" id="to" name="to" value="${v('to')}"></div>
</div>
<p class="hint"><span id="actor-hint">${t.person}: ${t.personHint}</span> · <span id="patient-hint">${t.patient}: ${t.patientHint}</span></p>
<button type="submit" class="primary">${t.apply}</button>
</form>`;
  }

  function table(locale: Locale, base: string, events: readonly StoredEvent[], values: FormValues): Html {
    const t = text[locale];
    if (events.length === 0) return html`<p role="status">${t.none}</p>`;
    return html`<table><caption>${t.events}</caption><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.who}</th><th scope="col">${t.action}</th><th scope="col">${t.resource}</th><th scope="col">${t.outcome}</th><th scope="col">${t.client}</th></tr></thead>
<tbody>${events.map(
      (e) => html`<tr><th scope="row"><time datetime="${new Date(e.at).toISOString()}">${formatDateTime(locale, e.at)}</time></th><td><a href="${base}${queryString({ ...values, actor: e.actor.id })}">${e.actor.id}</a> <span class="role">(${e.actor.role})</span></td><td>${e.action}</td><td>${e.resources.slice(0, 3).join(', ')}${e.resources.length > 3 ? ` (+${e.resources.length - 3})` : ''}${e.subjects.length === 0 ? undefined : html`<br>${e.subjects.map((s, i) => html`${i === 0 ? '' : ', '}<a href="${base}${queryString({ ...values, patient: s })}">${s}</a>`)}`}</td><td>${e.outcome === 'success' ? t.success : `${t.failure} (${e.status}${e.detail === '' ? '' : ` ${e.detail}`})`}</td><td>${e.actor.client}</td></tr>`,
    )}</tbody></table>`;
  }

  /** Newest first, in batches, up to the export limit: the rows are written as they are read. */
  async function* exported(tenantId: string, filter: EventFilter): AsyncGenerator<StoredEvent> {
    let before = filter.before;
    let left = exportLimit;
    while (left > 0) {
      const batch = await audit.query(tenantId, { ...filter, count: Math.min(exportBatch, left), ...(before === undefined ? {} : { before }) });
      for (const event of batch) yield event;
      if (batch.length < Math.min(exportBatch, left)) return;
      left -= batch.length;
      before = (batch.at(-1) as StoredEvent).seq;
    }
  }

  const csvColumns = ['id', 'time', 'actor', 'role', 'client', 'action', 'outcome', 'status', 'purpose', 'resources', 'patients', 'dataClasses', 'requestId', 'sourceIp', 'detail'] as const;
  const csvRow = (e: StoredEvent): string =>
    csvLine([String(e.seq), new Date(e.at).toISOString(), e.actor.id, e.actor.role, e.actor.client, e.action, e.outcome, String(e.status), e.purpose, e.resources.join(' '), e.subjects.join(' '), e.classes.join(' '), e.requestId, e.sourceIp, e.detail].map(csvCell));

  async function* csvStream(tenantId: string, filter: EventFilter): AsyncGenerator<string> {
    yield `${csvLine([...csvColumns])}`;
    for await (const e of exported(tenantId, filter)) yield csvRow(e);
  }
  async function* jsonStream(tenantId: string, filter: EventFilter): AsyncGenerator<string> {
    yield '{"events":[';
    let first = true;
    for await (const e of exported(tenantId, filter)) {
      yield `${first ? '' : ','}\n${JSON.stringify(auditEventJson(e))}`;
      first = false;
    }
    yield `\n],"limit":${exportLimit}}\n`;
  }

  async function download(request: FastifyRequest, reply: FastifyReply, format: 'csv' | 'json'): Promise<FastifyReply> {
    const caller = await guard.person(request, reply, realm);
    if (caller === undefined) return reply;
    requireSection(caller, 'audit');
    const result = await parsed(request, caller, undefined, exportBatch);
    if ('error' in result) throw new AppError('search-invalid', result.error, { status: 400, expose: true });
    await recordRead(request, caller, result.filter);
    const tenantId = caller.me.realmId;
    const day = new Date().toISOString().slice(0, 10);
    return reply
      .status(200)
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-${tenantId}-${day}.${format}"`)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; sandbox")
      .send(Readable.from(format === 'csv' ? csvStream(tenantId, result.filter) : jsonStream(tenantId, result.filter)));
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/audit/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'audit');
      const t = text[caller.locale];
      const base = `/tenants/${caller.me.realmId}/console/audit/`;
      const rawBefore = (request.query as Record<string, unknown>)['before'];
      const before = typeof rawBefore === 'string' && /^\d{1,15}$/.test(rawBefore) ? Number(rawBefore) : undefined;
      const result = await parsed(request, caller, before, pageSize + 1);
      if ('error' in result) {
        return sendClinicPage(request, reply, caller, { section: 'audit', title: t.title, status: 400, body: form(caller.locale, base, result.values, result.error) });
      }
      const events = await audit.query(caller.me.realmId, result.filter);
      await recordRead(request, caller, result.filter);
      const page = events.slice(0, pageSize);
      const last = page.at(-1);
      const paging = html`<p class="actions">${before === undefined ? undefined : html`<a href="${base}${queryString(result.values)}">${t.newest}</a>`}${events.length > pageSize && last !== undefined ? html`<a href="${base}${queryString(result.values, { before: String(last.seq) })}">${t.older}</a>` : undefined}</p>`;
      const exports = html`<section aria-labelledby="export-heading"><h2 id="export-heading">${t.export}</h2><p class="hint">${t.exportHint}</p>
<p class="actions"><a href="${base}export.csv${queryString(result.values)}" download>${t.csv}</a><a href="${base}export.json${queryString(result.values)}" download>${t.json}</a></p></section>`;
      return sendClinicPage(request, reply, caller, { section: 'audit', title: t.title, body: html`${form(caller.locale, base, result.values)}${table(caller.locale, base, page, result.values)}${paging}${exports}` });
    });
    app.get('/tenants/:tenant/console/audit/export.csv', (request, reply) => download(request, reply, 'csv'));
    app.get('/tenants/:tenant/console/audit/export.json', (request, reply) => download(request, reply, 'json'));
  };
}
