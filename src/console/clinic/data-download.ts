import type { FastifyInstance } from 'fastify';
import { callerOf, type SubjectExports } from '../../privacy/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, formatNumber, html, seeOther, type Texts } from '../../platform/pages/index.js';
import type { PageGuard } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { buttonForm, doneOf, lookOnly, mayChange } from './forms.js';

const text: Texts<'title' | 'intro' | 'start' | 'started' | 'none' | 'caption' | 'created' | 'state' | 'progress' | 'expires' | 'queued' | 'running' | 'ready' | 'failed' | 'expired' | 'refresh'> = {
  en: {
    title: 'Data download for',
    intro: 'Prepare this patient’s personal download when they asked for a copy of their data (for example by letter). Only the patient can open it: they download it in their portal, signed in. You see its progress, not its contents.',
    start: 'Prepare this patient’s data download',
    started: 'The download is being prepared; the patient finds it in their portal under “Download my data”.',
    none: 'No download was prepared for this patient yet.',
    caption: 'Downloads of this patient, newest first',
    created: 'Started',
    state: 'State',
    progress: 'Records',
    expires: 'Links expire',
    queued: 'waiting',
    running: 'being prepared',
    ready: 'ready for the patient',
    failed: 'failed — start it again',
    expired: 'expired and deleted',
    refresh: 'Refresh',
  },
  de: {
    title: 'Datenexport für',
    intro: 'Bereiten Sie den persönlichen Download dieser Patientin oder dieses Patienten vor, wenn eine Kopie der Daten verlangt wurde (zum Beispiel per Brief). Nur die Person selbst kann ihn öffnen: angemeldet in ihrem Portal. Sie sehen den Fortschritt, nicht den Inhalt.',
    start: 'Datenexport für diese Person vorbereiten',
    started: 'Der Download wird vorbereitet; die Person findet ihn in ihrem Portal unter „Meine Daten herunterladen“.',
    none: 'Für diese Person wurde noch kein Download vorbereitet.',
    caption: 'Downloads dieser Person, neueste zuerst',
    created: 'Gestartet',
    state: 'Status',
    progress: 'Einträge',
    expires: 'Links gültig bis',
    queued: 'wartet',
    running: 'wird vorbereitet',
    ready: 'bereit für die Person',
    failed: 'fehlgeschlagen — bitte neu starten',
    expired: 'abgelaufen und gelöscht',
    refresh: 'Aktualisieren',
  },
};

const idPattern = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * `/tenants/{t}/console/patients/{id}/data-download`: staff with `privacy:manage` prepare a
 * patient's personal download (a request made by letter) and follow its progress — the same
 * service and rules as `POST /tenants/{t}/privacy/exports`; a change needs two factors.
 */
export function dataDownloadPages({ guard, realm, exports }: { guard: PageGuard; realm: PageRealm; exports: SubjectExports }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    // The console is staff's: a patient prepares their own in the portal.
    const staffOnly = (role: string) => {
      if (role === 'patient') throw new AppError('forbidden', 'Patients prepare their download in their portal.', { status: 403, expose: true });
    };
    const patientOf = (params: unknown): string => {
      const { id } = params as { id: string };
      if (!idPattern.test(id)) throw new AppError('id-invalid', 'Not a patient id.', { status: 404, expose: true });
      return `Patient/${id}`;
    };

    app.get('/tenants/:tenant/console/patients/:id/data-download', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      staffOnly(caller.principal.role);
      const patient = patientOf(request.params);
      exports.admit(caller.principal, patient, 'status');
      const { locale } = caller;
      const t = text[locale];
      const list = await exports.list(caller.me.realmId, patient);
      if (list.some((e) => e.state === 'queued' || e.state === 'running')) reply.header('refresh', '5');
      const body = html`<p>${t.intro}</p>
${
  list.length === 0
    ? html`<p>${t.none}</p>`
    : html`<table><caption>${t.caption}</caption><thead><tr><th scope="col">${t.created}</th><th scope="col">${t.state}</th><th scope="col" class="num">${t.progress}</th><th scope="col">${t.expires}</th></tr></thead>
<tbody>${list.map((e) => html`<tr><th scope="row">${formatDateTime(locale, e.createdAt)}</th><td>${t[e.state]}</td><td class="num">${formatNumber(locale, e.done)} / ${formatNumber(locale, e.total)}</td><td>${e.state === 'ready' ? formatDateTime(locale, e.expiresAt) : ''}</td></tr>`)}</tbody></table>
<p><a href="${request.url.split('?')[0] as string}">${t.refresh}</a></p>`
}
${mayChange(caller) ? buttonForm(request.url.split('?')[0] as string, caller.me.csrf, t.start, 'primary') : lookOnly(caller)}`;
      const done = doneOf(request, ['started'] as const);
      return sendClinicPage(request, reply, caller, { section: 'patients', title: `${t.title} ${patient}`, body, ...(done === undefined ? {} : { notice: t.started }) });
    });

    app.post('/tenants/:tenant/console/patients/:id/data-download', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      staffOnly(caller.principal.role);
      const patient = patientOf(request.params);
      exports.admit(caller.principal, patient, 'start');
      if (!mayChange(caller)) throw new AppError('second-factor-required', 'Changes need you signed in with a second factor.', { status: 403, expose: true });
      await exports.start(caller.me.realmId, patient, { by: callerOf(request, caller.principal) });
      return seeOther(reply, `/tenants/${caller.me.realmId}/console/patients/${patient.slice(8)}/data-download?done=started`);
    });
  };
}
