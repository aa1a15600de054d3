import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from '../../platform/http/index.js';
import { formatDateTime, formatNumber, html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import type { PageGuard } from '../page-guard.js';
import { bytesText, durationText } from './backups.js';
import { sectionRole, sendOperatorPage } from './nav.js';

type Format = 'age' | 'seconds' | 'yesNo' | 'count' | 'bytes' | 'time';
interface Shown {
  readonly name: string;
  readonly format: Format;
  readonly label: { readonly [L in Locale]: string };
}

/** The /metrics values the page shows, by group; a value never measured is left out (as /metrics leaves it out). */
const groups: readonly { readonly title: { readonly [L in Locale]: string }; readonly metrics: readonly Shown[] }[] = [
  {
    title: { en: 'Storage', de: 'Speicher' },
    metrics: [{ name: 'tresor_storage_open_tenants', format: 'count', label: { en: 'Tenant data sets open in this process', de: 'Offene Mandanten-Datenbestände in diesem Prozess' } }],
  },
  {
    title: { en: 'Backups', de: 'Sicherungen' },
    metrics: [
      { name: 'tresor_backup_last_snapshot_timestamp_seconds', format: 'age', label: { en: 'Age of the newest snapshot', de: 'Alter der neuesten Sicherung' } },
      { name: 'tresor_backup_rpo_seconds', format: 'seconds', label: { en: 'Recovery point (RPO): age of the newest verified snapshot', de: 'Wiederherstellungspunkt (RPO): Alter der neuesten geprüften Sicherung' } },
      { name: 'tresor_backup_restore_seconds', format: 'seconds', label: { en: 'Recovery time (RTO) of the last restore drill', de: 'Wiederherstellungszeit (RTO) der letzten Übung' } },
      { name: 'tresor_backup_last_drill_success', format: 'yesNo', label: { en: 'Last restore drill passed', de: 'Letzte Wiederherstellungsübung bestanden' } },
      { name: 'tresor_backup_failures_total', format: 'count', label: { en: 'Failed backup operations', de: 'Fehlgeschlagene Sicherungsvorgänge' } },
      { name: 'tresor_backup_unreadable_total', format: 'count', label: { en: 'Snapshots unreadable with the keys on hand', de: 'Mit den vorhandenen Schlüsseln unlesbare Sicherungen' } },
    ],
  },
  {
    title: { en: 'Incident response', de: 'Reaktion auf Sicherheitsvorfälle' },
    metrics: [
      { name: 'tresor_incident_drill_last_success_timestamp_seconds', format: 'age', label: { en: 'Since the last notification drill passed', de: 'Seit der letzten bestandenen Meldeübung' } },
      { name: 'tresor_incident_drill_last_success', format: 'yesNo', label: { en: 'Last notification drill passed', de: 'Letzte Meldeübung bestanden' } },
    ],
  },
  {
    title: { en: 'PostgreSQL replication', de: 'PostgreSQL-Replikation' },
    metrics: [
      { name: 'tresor_postgres_synchronous_standbys', format: 'count', label: { en: 'Standbys a commit waits for', de: 'Standbys, auf die ein Commit wartet' } },
      { name: 'tresor_postgres_standby_streaming', format: 'yesNo', label: { en: 'Standby streaming', de: 'Standby empfängt laufend' } },
      { name: 'tresor_postgres_replication_lag_bytes', format: 'bytes', label: { en: 'Replication lag', de: 'Replikationsrückstand' } },
      { name: 'tresor_postgres_replication_lag_seconds', format: 'seconds', label: { en: 'Replay lag', de: 'Rückstand beim Einspielen' } },
      { name: 'tresor_postgres_wal_archive_last_success_timestamp_seconds', format: 'time', label: { en: 'Last WAL segment archived', de: 'Letztes archiviertes WAL-Segment' } },
      { name: 'tresor_postgres_wal_archive_failed_total', format: 'count', label: { en: 'WAL archiving failures', de: 'Fehler beim WAL-Archivieren' } },
      { name: 'tresor_physical_backup_age_seconds', format: 'seconds', label: { en: 'Age of the newest physical (pgBackRest) backup', de: 'Alter der neuesten physischen Sicherung (pgBackRest)' } },
    ],
  },
];

const text: Texts<'title' | 'readiness' | 'status' | 'ready' | 'notReady' | 'engine' | 'ping' | 'metric' | 'value' | 'name' | 'yes' | 'no' | 'nothing' | 'ago' | 'source'> = {
  en: {
    title: 'Health',
    readiness: 'Readiness (what /readyz answers)',
    status: 'Status',
    ready: 'ready',
    notReady: 'not ready',
    engine: 'Storage engine',
    ping: 'Storage ping',
    metric: 'Measure',
    value: 'Value',
    name: 'In /metrics',
    yes: 'yes',
    no: 'no',
    nothing: 'Nothing measured yet.',
    ago: 'ago',
    source: 'Values from this server process’s metrics registry, read when this page was built; monitoring should scrape /metrics.',
  },
  de: {
    title: 'Zustand',
    readiness: 'Bereitschaft (was /readyz antwortet)',
    status: 'Status',
    ready: 'bereit',
    notReady: 'nicht bereit',
    engine: 'Speicher',
    ping: 'Antwortzeit des Speichers',
    metric: 'Messgröße',
    value: 'Wert',
    name: 'In /metrics',
    yes: 'ja',
    no: 'nein',
    nothing: 'Noch nichts gemessen.',
    ago: 'her',
    source: 'Werte aus der Metrik-Registry dieses Serverprozesses, gelesen beim Aufbau dieser Seite; die Überwachung sollte /metrics abfragen.',
  },
};

interface Reading {
  readonly labels: string;
  readonly value: number;
}

/** A metric's values now (collected as a scrape would), with their labels; none when never measured. */
async function read(registry: Registry, name: string): Promise<Reading[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const got = await metric.get();
  return got.values.map((v) => ({ value: v.value, labels: Object.entries(v.labels ?? {}).map(([k, l]) => `${k}=${String(l)}`).join(', ') }));
}

/**
 * `/platform/console/health/` (role `operator`): what `/readyz` says (the storage pinged now,
 * through the same function), and selected values of `/metrics` read from the registry the
 * server exports (never by scraping HTTP): backup age, RPO and RTO, and on PostgreSQL the
 * replication lag, WAL archiving and physical backups.
 */
export function healthPages({ guard, readiness, registry, now }: { guard: PageGuard; readiness: () => Promise<ReadinessReport>; registry: Registry; now: () => number }) {
  const format = (locale: Locale, t: (typeof text)[Locale], shown: Shown, value: number): string => {
    switch (shown.format) {
      case 'age':
        return `${durationText(locale, Math.max(0, now() / 1000 - value))} ${t.ago}`;
      case 'time':
        return formatDateTime(locale, value * 1000);
      case 'seconds':
        return durationText(locale, value);
      case 'yesNo':
        return value === 1 ? t.yes : t.no;
      case 'bytes':
        return bytesText(locale, value);
      case 'count':
        return formatNumber(locale, value);
    }
  };
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/platform/console/health/', async (request, reply) => {
      const caller = await guard.operator(request, reply, sectionRole.health);
      if (caller === undefined) return reply;
      const { locale } = caller;
      const t = text[locale];
      const ready = await readiness();
      const sections: Html[] = [];
      for (const group of groups) {
        const rows: Html[] = [];
        for (const shown of group.metrics) {
          for (const reading of await read(registry, shown.name)) {
            rows.push(html`<tr><th scope="row">${shown.label[locale]}${reading.labels === '' ? undefined : html` <span class="hint">(${reading.labels})</span>`}</th><td class="num">${format(locale, t, shown, reading.value)}</td><td><code>${shown.name}</code></td></tr>`);
          }
        }
        // Replication only where there is any: a SQLite deployment has none to show.
        if (rows.length === 0 && group.metrics.some((m) => m.name.startsWith('tresor_postgres_'))) continue;
        const id = `metrics-${sections.length}`;
        sections.push(html`<h2 id="${id}">${group.title[locale]}</h2>${rows.length === 0 ? html`<p>${t.nothing}</p>` : html`<table aria-labelledby="${id}"><thead><tr><th scope="col">${t.metric}</th><th scope="col" class="num">${t.value}</th><th scope="col">${t.name}</th></tr></thead><tbody>${rows}</tbody></table>`}`);
      }
      const body = html`<h2>${t.readiness}</h2>
<dl class="facts">
<dt>${t.status}</dt><dd><strong>${ready.ready ? t.ready : t.notReady}</strong>${ready.error === undefined ? undefined : html` (${ready.error.code})`}</dd>
<dt>${t.engine}</dt><dd>${ready.engine}</dd>
<dt>${t.ping}</dt><dd>${formatNumber(locale, ready.pingSeconds * 1000, 1)} ms</dd>
</dl>
${sections}
<p class="hint">${t.source}</p>`;
      return sendOperatorPage(request, reply, caller, { section: 'health', title: t.title, body });
    });
  };
}
