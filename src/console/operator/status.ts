import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { componentIds, componentNames, type ComponentId, type EntryInput, type StatusActor, type StatusEntry, type StatusService } from '../../status/index.js';
import type { OperatorCaller, PageGuard } from '../page-guard.js';
import { field, queryValue, sectionRole, sendOperatorPage } from './nav.js';

type Key =
  | 'title' | 'intro' | 'entries' | 'none' | 'kind' | 'heading' | 'state' | 'when' | 'edit' | 'maintenance' | 'notice' | 'incident' | 'newMaintenance' | 'newNotice'
  | 'entryTitle' | 'text' | 'components' | 'starts' | 'ends' | 'utc' | 'create' | 'publicHint' | 'saved' | 'editTitle' | 'update' | 'updateHint' | 'save' | 'back' | 'incidentHint';

const text: Texts<Key> = {
  en: {
    title: 'Status page', intro: 'What the public status page at /status shows besides the components’ checked states. Everything here is public: never name a tenant or a patient.', entries: 'Published', none: 'Nothing published yet.',
    kind: 'Kind', heading: 'Title', state: 'State', when: 'When', edit: 'Edit', maintenance: 'Maintenance', notice: 'Security notice', incident: 'Incident', newMaintenance: 'Schedule maintenance', newNotice: 'Publish a security notice',
    entryTitle: 'Title', text: 'Text', components: 'Components affected', starts: 'Starts', ends: 'Ends', utc: '(UTC)', create: 'Publish', publicHint: 'Shown to everyone, in the feeds too.', saved: 'Saved and published:',
    editTitle: 'Edit', update: 'New update', updateHint: 'Optional: appended to the entry’s updates with the time and state.', save: 'Save and publish', back: 'Back to the status page entries', incidentHint: 'Incidents are published from the incident itself.',
  },
  de: {
    title: 'Statusseite', intro: 'Was die öffentliche Statusseite unter /status neben dem geprüften Zustand der Komponenten zeigt. Alles hier ist öffentlich: nennen Sie nie einen Mandanten oder Patienten.', entries: 'Veröffentlicht', none: 'Noch nichts veröffentlicht.',
    kind: 'Art', heading: 'Titel', state: 'Stand', when: 'Wann', edit: 'Bearbeiten', maintenance: 'Wartung', notice: 'Sicherheitshinweis', incident: 'Störung', newMaintenance: 'Wartung planen', newNotice: 'Sicherheitshinweis veröffentlichen',
    entryTitle: 'Titel', text: 'Text', components: 'Betroffene Komponenten', starts: 'Beginn', ends: 'Ende', utc: '(UTC)', create: 'Veröffentlichen', publicHint: 'Für alle sichtbar, auch in den Feeds.', saved: 'Gespeichert und veröffentlicht:',
    editTitle: 'Bearbeiten', update: 'Neue Meldung', updateHint: 'Freiwillig: wird mit Zeit und Stand an die Meldungen angehängt.', save: 'Speichern und veröffentlichen', back: 'Zurück zu den Einträgen', incidentHint: 'Störungen werden aus dem Vorfall selbst veröffentlicht.',
  },
};

const base = '/platform/console/status/';
const maintenanceStates = ['scheduled', 'in_progress', 'completed'] as const;
// datetime-local carries no zone: the form says UTC and reads it so.
const localValue = (at: number | undefined): string => (at === undefined ? '' : new Date(at).toISOString().slice(0, 16));
const fromLocal = (value: string): number | undefined => (value === '' ? undefined : Date.parse(`${value}:00Z`));

function entryForm(t: (typeof text)[Locale], csrf: string, kind: 'maintenance' | 'notice', action: string, e: StatusEntry | undefined, prefix: string): Html {
  const chosen = new Set<ComponentId>(e?.components ?? []);
  return html`<form method="post" action="${action}">
<input type="hidden" name="csrf" value="${csrf}">
<label for="${prefix}-title">${t.entryTitle}</label><input type="text" id="${prefix}-title" name="title" required maxlength="200" value="${e?.title ?? ''}">
<label for="${prefix}-text">${t.text}</label><p class="hint" id="${prefix}-text-hint">${t.publicHint}</p><textarea id="${prefix}-text" name="text" rows="3" maxlength="5000" aria-describedby="${prefix}-text-hint">${e?.text ?? ''}</textarea>
${kind === 'maintenance'
    ? html`<fieldset><legend>${t.components}</legend>${componentIds.map((c) => html`<label><input type="checkbox" name="component-${c}" value="1"${chosen.has(c) ? html` checked` : undefined}> ${componentNames[c]}</label>`)}</fieldset>
<label for="${prefix}-starts">${t.starts} ${t.utc}</label><input type="datetime-local" id="${prefix}-starts" name="startsAt" required value="${localValue(e?.startsAt)}">
<label for="${prefix}-ends">${t.ends} ${t.utc}</label><input type="datetime-local" id="${prefix}-ends" name="endsAt" required value="${localValue(e?.endsAt)}">
${e === undefined ? undefined : html`<label for="${prefix}-state">${t.state}</label><select id="${prefix}-state" name="status">${maintenanceStates.map((s) => html`<option value="${s}"${s === e.status ? html` selected` : undefined}>${s}</option>`)}</select>`}`
    : undefined}
${e === undefined ? undefined : html`<label for="${prefix}-update">${t.update}</label><p class="hint" id="${prefix}-update-hint">${t.updateHint}</p><textarea id="${prefix}-update" name="update" rows="2" maxlength="5000" aria-describedby="${prefix}-update-hint"></textarea>`}
<p class="actions"><button type="submit" class="primary">${e === undefined ? t.create : t.save}</button></p>
</form>`;
}

function formInput(request: FastifyRequest, kind: 'maintenance' | 'notice', editing: boolean): EntryInput {
  const input: { -readonly [K in keyof EntryInput]: EntryInput[K] } = { title: field(request, 'title'), text: field(request, 'text') };
  if (kind === 'maintenance') {
    input.components = componentIds.filter((c) => field(request, `component-${c}`) === '1');
    const startsAt = fromLocal(field(request, 'startsAt'));
    const endsAt = fromLocal(field(request, 'endsAt'));
    if (startsAt !== undefined) input.startsAt = startsAt;
    input.endsAt = endsAt;
    if (editing && field(request, 'status') !== '') input.status = field(request, 'status');
  }
  if (editing && field(request, 'update').trim() !== '') input.update = field(request, 'update');
  return input;
}

/**
 * `/platform/console/status/`: the maintenance and security notices of the public status page,
 * created and edited through the same service calls (and audit events) as `/platform/status/…`.
 */
export function statusPages({ guard, status }: { guard: PageGuard; status: StatusService }) {
  const signedIn = (request: FastifyRequest, reply: FastifyReply) => guard.operator(request, reply, sectionRole.status);
  const by = (request: FastifyRequest, caller: OperatorCaller): StatusActor => ({ actor: { id: `operator:${caller.principal.id}`, role: caller.principal.role, client: 'session' }, requestId: request.id, sourceIp: request.ip });
  const fixable = (error: unknown): error is AppError => error instanceof AppError && error.expose && error.status < 500 && error.status !== 403;

  async function list(request: FastifyRequest, reply: FastifyReply, caller: OperatorCaller, error?: AppError) {
    const { locale } = caller;
    const t = text[locale];
    const entries = await status.listEntries();
    const saved = queryValue(request, 'saved');
    const savedTitle = saved === undefined ? undefined : entries.find((e) => e.id === saved)?.title;
    const rows = entries.map(
      (e) => html`<tr><td>${t[e.kind]}</td><th scope="row">${e.title}</th><td>${e.status}</td><td>${formatDateTime(locale, e.startsAt)}${e.endsAt === undefined ? undefined : html` – ${formatDateTime(locale, e.endsAt)}`}</td><td>${e.kind === 'incident' ? html`<span class="hint">${t.incidentHint}</span>` : html`<a href="${base}${e.id}" aria-label="${t.edit}: ${e.title}">${t.edit}</a>`}</td></tr>`,
    );
    const body = html`<p>${t.intro} <a href="/status">/status</a></p>
<h2>${t.entries}</h2>
${entries.length === 0 ? html`<p>${t.none}</p>` : html`<table><thead><tr><th scope="col">${t.kind}</th><th scope="col">${t.heading}</th><th scope="col">${t.state}</th><th scope="col">${t.when}</th><th scope="col">${t.edit}</th></tr></thead><tbody>${rows}</tbody></table>`}
<h2 id="new-maintenance">${t.newMaintenance}</h2>
${entryForm(t, caller.me.csrf, 'maintenance', `${base}maintenances`, undefined, 'm')}
<h2 id="new-notice">${t.newNotice}</h2>
${entryForm(t, caller.me.csrf, 'notice', `${base}notices`, undefined, 'n')}`;
    return sendOperatorPage(request, reply, caller, { section: 'status', title: t.title, body, notice: savedTitle === undefined ? undefined : `${t.saved} ${savedTitle}`, error: error?.message, status: error?.status ?? 200 });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get(base, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      return list(request, reply, caller);
    });
    for (const [kind, path] of [['maintenance', 'maintenances'], ['notice', 'notices']] as const) {
      app.post(`${base}${path}`, async (request, reply) => {
        const caller = await signedIn(request, reply);
        if (caller === undefined) return reply;
        try {
          const made = await status.createEntry(by(request, caller), kind, formInput(request, kind, false));
          return seeOther(reply, `${base}?saved=${encodeURIComponent(made.id)}`);
        } catch (error) {
          if (!fixable(error)) throw error;
          return list(request, reply, caller, error);
        }
      });
    }
    app.get(`${base}:id`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const t = text[caller.locale];
      const entry = (await status.listEntries()).find((e) => e.id === (request.params as { id: string }).id);
      if (entry === undefined || entry.kind === 'incident') return seeOther(reply, base);
      const body = html`${entryForm(t, caller.me.csrf, entry.kind, `${base}${entry.id}`, entry, 'e')}<p><a href="${base}">${t.back}</a></p>`;
      return sendOperatorPage(request, reply, caller, { section: 'status', title: `${t.editTitle}: ${entry.title}`, body });
    });
    app.post(`${base}:id`, async (request, reply) => {
      const caller = await signedIn(request, reply);
      if (caller === undefined) return reply;
      const id = (request.params as { id: string }).id;
      const entry = (await status.listEntries()).find((e) => e.id === id);
      if (entry === undefined || entry.kind === 'incident') return seeOther(reply, base);
      try {
        await status.updateEntry(by(request, caller), entry.kind, id, formInput(request, entry.kind, true));
        return seeOther(reply, `${base}?saved=${encodeURIComponent(id)}`);
      } catch (error) {
        if (!fixable(error)) throw error;
        return list(request, reply, caller, error);
      }
    });
  };
}
