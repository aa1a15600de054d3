import type { FastifyInstance } from 'fastify';
import { callerOf, type ExportView, type SubjectExports } from '../../privacy/index.js';
import { formatDateTime, formatNumber, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { portalCaller, portalPath, sendPortalPage, type PortalDeps } from './portal-page.js';

const text: Texts<
  | 'intro'
  | 'start'
  | 'again'
  | 'started'
  | 'preparing'
  | 'progress'
  | 'refresh'
  | 'ready'
  | 'until'
  | 'newLinks'
  | 'failed'
  | 'expired'
  | 'files'
  | 'records.json'
  | 'summary.pdf'
  | 'summary.html'
  | 'account.json'
  | 'consents.json'
  | 'access-log.json'
> = {
  en: {
    intro: 'Download a copy of everything the clinic holds about you: your records in the FHIR format other health apps read, a readable summary (PDF and web page), your account, your consents and connected apps, and the list of who accessed your data and why. Preparing it takes a moment; the links work for you only, while you are signed in.',
    start: 'Prepare my download',
    again: 'Prepare a new download',
    started: 'Your download is being prepared.',
    preparing: 'Your download is being prepared',
    progress: 'Records copied',
    refresh: 'Refresh to see the progress',
    ready: 'Your download is ready',
    until: 'The links work until',
    newLinks: 'Opening this page again gives new links; older ones stop working.',
    failed: 'Your last download could not be prepared. Please start it again.',
    expired: 'Your last download has expired and was deleted.',
    files: 'Files',
    'records.json': 'Your records (FHIR R4 Bundle, JSON)',
    'summary.pdf': 'Summary (PDF)',
    'summary.html': 'Summary (web page)',
    'account.json': 'Your account (JSON)',
    'consents.json': 'Your consents and connected apps (JSON)',
    'access-log.json': 'Who accessed your data (JSON)',
  },
  de: {
    intro: 'Laden Sie eine Kopie von allem herunter, was die Praxis über Sie gespeichert hat: Ihre Daten im FHIR-Format, das andere Gesundheits-Apps lesen, eine lesbare Zusammenfassung (PDF und Webseite), Ihr Konto, Ihre Einwilligungen und verbundenen Apps sowie die Liste, wer auf Ihre Daten zugegriffen hat und warum. Die Vorbereitung dauert einen Moment; die Links funktionieren nur für Sie, solange Sie angemeldet sind.',
    start: 'Download vorbereiten',
    again: 'Neuen Download vorbereiten',
    started: 'Ihr Download wird vorbereitet.',
    preparing: 'Ihr Download wird vorbereitet',
    progress: 'Kopierte Einträge',
    refresh: 'Aktualisieren, um den Fortschritt zu sehen',
    ready: 'Ihr Download ist bereit',
    until: 'Die Links funktionieren bis',
    newLinks: 'Wenn Sie diese Seite erneut öffnen, erhalten Sie neue Links; ältere funktionieren dann nicht mehr.',
    failed: 'Ihr letzter Download konnte nicht vorbereitet werden. Bitte starten Sie ihn erneut.',
    expired: 'Ihr letzter Download ist abgelaufen und wurde gelöscht.',
    files: 'Dateien',
    'records.json': 'Ihre Daten (FHIR-R4-Bundle, JSON)',
    'summary.pdf': 'Zusammenfassung (PDF)',
    'summary.html': 'Zusammenfassung (Webseite)',
    'account.json': 'Ihr Konto (JSON)',
    'consents.json': 'Ihre Einwilligungen und verbundenen Apps (JSON)',
    'access-log.json': 'Wer auf Ihre Daten zugegriffen hat (JSON)',
  },
};

const size = (locale: Locale, bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1_048_576 ? `${formatNumber(locale, bytes / 1024, 0)} KB` : `${formatNumber(locale, bytes / 1_048_576, 1)} MB`);

/**
 * `/tenants/{t}/me/data`: "Download your data" (GDPR Art. 15 and 20). The patient starts a
 * download (a form: CSRF, Post/Redirect/Get), watches its progress (the page asks the browser to
 * reload itself with a `Refresh` header while it is prepared — no script), and downloads each
 * file through links minted for this view. The same service and rules as the JSON API.
 */
export function portalDataPage({ guard, realm, exports }: PortalDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    if (exports === undefined) return;
    const service: SubjectExports = exports;

    async function latest(tenantId: string, patient: string, locale: Locale, csrf: string): Promise<{ body: Html; busy: boolean }> {
      const t = text[locale];
      const [newest] = await service.list(tenantId, patient);
      const startForm = (label: string) =>
        html`<form method="post" action="${portalPath(tenantId, 'data')}"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="primary">${label}</button></form>`;
      if (newest === undefined) return { body: startForm(t.start), busy: false };
      if (newest.state === 'queued' || newest.state === 'running') {
        return {
          busy: true,
          body: html`<section aria-labelledby="preparing"><h2 id="preparing">${t.preparing}</h2>
<p><label for="export-progress">${t.progress}</label> <progress id="export-progress" max="${String(Math.max(newest.total, 1))}" value="${String(newest.done)}">${String(newest.done)} / ${String(newest.total)}</progress> ${formatNumber(locale, newest.done)} / ${formatNumber(locale, newest.total)}</p>
<p><a href="${portalPath(tenantId, 'data')}">${t.refresh}</a></p></section>`,
        };
      }
      if (newest.state === 'ready') return { body: html`${await readyView(tenantId, newest, locale)}${startForm(t.again)}`, busy: false };
      return { body: html`<p class="notice">${newest.state === 'failed' ? t.failed : t.expired}</p>${startForm(t.start)}`, busy: false };
    }

    async function readyView(tenantId: string, view: ExportView, locale: Locale): Promise<Html> {
      const t = text[locale];
      const { token, expiresAt } = await service.links(tenantId, view.id);
      const base = `/tenants/${tenantId}/privacy/exports/${view.id}`;
      return html`<section aria-labelledby="ready"><h2 id="ready">${t.ready}</h2>
<p>${t.until} ${formatDateTime(locale, expiresAt)}. ${t.newLinks}</p>
<table><caption>${t.files}</caption><tbody>${view.files.map(
        (f) => html`<tr><th scope="row"><a href="${base}/${f.name}?token=${token}" download="${f.name}">${t[f.name as 'records.json'] ?? f.name}</a></th><td class="num">${size(locale, f.bytes)}</td></tr>`,
      )}</tbody></table></section>`;
    }

    app.get('/tenants/:tenant/me/data', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'data');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      const t = text[caller.locale];
      const { body, busy } = await latest(caller.me.realmId, patient, caller.locale, caller.me.csrf);
      // While it is prepared the browser reloads the page every few seconds (no script under the strict CSP).
      if (busy) reply.header('refresh', '3');
      reply.header('cache-control', 'no-store');
      // "Being prepared" only while it is: once ready, the page itself says so.
      const started = busy && (request.query as Record<string, unknown>)['done'] === 'started';
      const page = html`<p>${t.intro}</p>${started ? html`<p class="notice" role="status">${t.started}</p>` : undefined}${body}`;
      return sendPortalPage(request, reply, caller, { section: 'data', body: page });
    });

    app.post('/tenants/:tenant/me/data', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'data');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      service.admit(caller.principal, patient, 'start');
      // The summary in the language the patient reads the portal in.
      await service.start(caller.me.realmId, patient, { by: callerOf(request, caller.principal), locale: caller.locale });
      return seeOther(reply, `${portalPath(caller.me.realmId, 'data')}?done=started`);
    });
  };
}
