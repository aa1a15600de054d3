import { formatDate, formatDateTime, formatNumber, html, type Html, type Locale, type Texts } from '../platform/pages/index.js';
import { overallIndicator, type Indicator } from './components.js';
import { openMaintenances, unresolvedIncidents } from './summary.js';
import type { ComponentId, ComponentState, StatusEntry, StatusSnapshot } from './types.js';
import { uptimeBars, uptimeOverall } from './uptime.js';

type Key =
  | 'title' | 'skip' | 'checked' | 'dbDown' | 'incidents' | 'maintenance' | 'components' | 'notices' | 'past' | 'noPast' | 'uptime' | 'daysAgo' | 'today'
  | 'days30' | 'noData' | 'window' | 'feeds' | 'language' | 'report' | 'until' | 'updated' | 'affects' | 'barsLabel' | 'overridden';

const text: Texts<Key> = {
  en: {
    title: 'System status', skip: 'Skip to content', checked: 'Checked', dbDown: 'Our database is not answering. Components are checked live; incidents, maintenance and uptime are as of', incidents: 'Current incidents',
    maintenance: 'Scheduled maintenance', components: 'Components', notices: 'Security notices', past: 'Past incidents (14 days)', noPast: 'No incidents in the last 14 days.', uptime: 'uptime', daysAgo: '90 days ago', days30: '30 days ago', today: 'Today',
    noData: 'no data', window: 'Window', feeds: 'Follow', language: 'Language', report: 'Report a vulnerability', until: 'until', updated: 'Updated', affects: 'Affects', barsLabel: 'Daily uptime, last 90 days', overridden: 'Set by an operator',
  },
  de: {
    title: 'Systemstatus', skip: 'Zum Inhalt springen', checked: 'Geprüft', dbDown: 'Unsere Datenbank antwortet nicht. Die Komponenten werden laufend geprüft; Störungen, Wartungen und Verfügbarkeit zeigen den Stand von', incidents: 'Aktuelle Störungen',
    maintenance: 'Geplante Wartungen', components: 'Komponenten', notices: 'Sicherheitshinweise', past: 'Frühere Störungen (14 Tage)', noPast: 'Keine Störungen in den letzten 14 Tagen.', uptime: 'Verfügbarkeit', daysAgo: 'vor 90 Tagen', days30: 'vor 30 Tagen', today: 'Heute',
    noData: 'keine Daten', window: 'Zeitraum', feeds: 'Abonnieren', language: 'Sprache', report: 'Sicherheitslücke melden', until: 'bis', updated: 'Aktualisiert', affects: 'Betrifft', barsLabel: 'Tägliche Verfügbarkeit, letzte 90 Tage', overridden: 'Von einem Betreiber gesetzt',
  },
};

const componentLabel: Readonly<Record<Locale, Readonly<Record<ComponentId, string>>>> = {
  en: { api: 'API', 'sign-in': 'Sign-in', oauth: 'Apps (OAuth and OpenID Connect)', backups: 'Backups', replication: 'Database replication', certificate: 'TLS certificate' },
  de: { api: 'API', 'sign-in': 'Anmeldung', oauth: 'Apps (OAuth und OpenID Connect)', backups: 'Sicherungen', replication: 'Datenbank-Replikation', certificate: 'TLS-Zertifikat' },
};

const stateLabel: Readonly<Record<Locale, Readonly<Record<ComponentState, string>>>> = {
  en: { operational: 'Operational', degraded_performance: 'Degraded', partial_outage: 'Partial outage', major_outage: 'Major outage', under_maintenance: 'Maintenance' },
  de: { operational: 'In Betrieb', degraded_performance: 'Beeinträchtigt', partial_outage: 'Teilausfall', major_outage: 'Ausfall', under_maintenance: 'Wartung' },
};

const indicatorLabel: Readonly<Record<Locale, Readonly<Record<Indicator, string>>>> = {
  en: { none: 'All systems operational', minor: 'Some systems are degraded', major: 'Partial outage', critical: 'Major outage', maintenance: 'Maintenance in progress' },
  de: { none: 'Alle Systeme in Betrieb', minor: 'Einige Systeme sind beeinträchtigt', major: 'Teilausfall', critical: 'Schwerer Ausfall', maintenance: 'Wartung läuft' },
};

const statusWord: Readonly<Record<Locale, Readonly<Record<string, string>>>> = {
  en: { investigating: 'Investigating', identified: 'Identified', monitoring: 'Monitoring', resolved: 'Resolved', scheduled: 'Scheduled', in_progress: 'In progress', completed: 'Completed', published: 'Published' },
  de: { investigating: 'Wird untersucht', identified: 'Ursache gefunden', monitoring: 'Wird beobachtet', resolved: 'Behoben', scheduled: 'Geplant', in_progress: 'Läuft', completed: 'Abgeschlossen', published: 'Veröffentlicht' },
};

export interface StatusPageInput {
  readonly locale: Locale;
  readonly snapshot: StatusSnapshot;
  readonly now: number;
  /** The page's path with its query, for the language switch. */
  readonly path: string;
  readonly securityTxt: boolean;
}

const percent = (locale: Locale, value: number | undefined): string => (value === undefined ? '—' : `${formatNumber(locale, Math.floor(value * 10_000) / 100, 2)} %`);

function bars(input: StatusPageInput, id: ComponentId): Html {
  const t = text[input.locale];
  const list = uptimeBars(input.snapshot.days, id, input.now);
  return html`<ol class="bars" aria-label="${t.barsLabel}">${list.map((b) => {
    const label = `${formatDate(input.locale, Date.parse(`${b.day}T12:00:00Z`))}: ${b.uptime === undefined ? t.noData : `${percent(input.locale, b.uptime)} — ${stateLabel[input.locale][b.worst ?? 'operational']}`}`;
    return html`<li class="bar s-${b.worst ?? 'none'}" title="${label}"><span class="sr">${label}</span></li>`;
  })}</ol><p class="axis" aria-hidden="true"><span><span class="wide">${t.daysAgo}</span><span class="narrow">${t.days30}</span></span><span>${percent(input.locale, uptimeOverall(input.snapshot.days, id, input.now))} ${t.uptime}</span><span>${t.today}</span></p>`;
}

function entry(input: StatusPageInput, e: StatusEntry): Html {
  const { locale } = input;
  const t = text[locale];
  const when = e.kind === 'maintenance' ? html`<p class="meta">${t.window}: ${formatDateTime(locale, e.startsAt)}${e.endsAt === undefined ? undefined : html` – ${formatDateTime(locale, e.endsAt)}`}</p>` : html`<p class="meta">${t.updated}: ${formatDateTime(locale, e.updatedAt)}</p>`;
  const affects = e.components.length === 0 ? undefined : html`<p class="meta">${t.affects}: ${e.components.map((c) => componentLabel[locale][c]).join(', ')}</p>`;
  return html`<article class="entry k-${e.kind} st-${e.status}" id="${e.id}"><h3>${e.title} <span class="tag">${statusWord[locale][e.status] ?? e.status}</span></h3>${when}${affects}${e.text === '' ? undefined : html`<p class="body">${e.text}</p>`}${
    e.updates.length === 0 ? undefined : html`<ol class="updates">${e.updates.map((u) => html`<li><p class="meta"><strong>${statusWord[locale][u.status] ?? u.status}</strong> · <time datetime="${new Date(u.at).toISOString()}">${formatDateTime(locale, u.at)}</time></p>${u.text === '' ? undefined : html`<p class="body">${u.text}</p>`}</li>`)}</ol>`
  }</article>`;
}

/** The public status page: calm, readable on a phone, no script (nothing to trust but HTML and one stylesheet). */
export function statusPage(input: StatusPageInput): Html {
  const { locale, snapshot: s } = input;
  const t = text[locale];
  const other: Locale = locale === 'en' ? 'de' : 'en';
  const indicator = overallIndicator(s.components, s.entries);
  const incidents = unresolvedIncidents(s);
  const maintenance = openMaintenances(s);
  const notices = s.entries.filter((e) => e.kind === 'notice');
  const past = s.entries.filter((e) => e.kind === 'incident' && e.status === 'resolved');
  return html`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>${t.title} – Tresor</title><link rel="stylesheet" href="/status/status.css"><link rel="alternate" type="application/atom+xml" title="Atom" href="/status/feed.atom"><link rel="alternate" type="application/rss+xml" title="RSS" href="/status/feed.rss"></head>
<body>
<a class="skip" href="#main">${t.skip}</a>
<header class="top"><p class="brand">Tresor <span class="space">${t.title}</span></p><p class="lang"><a href="/status?lang=${other}" lang="${other}" hreflang="${other}">${other === 'de' ? 'Deutsch' : 'English'}</a></p></header>
<main id="main">
<h1>${t.title}</h1>
<p class="banner i-${indicator}" role="status">${indicatorLabel[locale][indicator]}</p>
<p class="meta">${t.checked}: <time datetime="${new Date(s.checkedAt).toISOString()}">${formatDateTime(locale, s.checkedAt)}</time></p>
${s.databaseDown ? html`<p class="stale" role="alert">${t.dbDown} ${s.storedAt > 0 ? formatDateTime(locale, s.storedAt) : '—'}.</p>` : undefined}
${incidents.length === 0 ? undefined : html`<section aria-labelledby="h-incidents"><h2 id="h-incidents">${t.incidents}</h2>${incidents.map((e) => entry(input, e))}</section>`}
${maintenance.length === 0 ? undefined : html`<section aria-labelledby="h-maintenance"><h2 id="h-maintenance">${t.maintenance}</h2>${maintenance.map((e) => entry(input, e))}</section>`}
<section aria-labelledby="h-components"><h2 id="h-components">${t.components}</h2>
<ul class="components">${s.components.map((c) => html`<li class="component" id="component-${c.id}"><p class="row"><span class="name">${componentLabel[locale][c.id]}</span> <span class="state s-${c.state}">${stateLabel[locale][c.state]}</span></p>${c.override === undefined ? undefined : html`<p class="meta">${t.overridden}: ${c.override.note} (${t.until} ${formatDateTime(locale, c.override.until)})</p>`}${bars(input, c.id)}</li>`)}</ul>
</section>
${notices.length === 0 ? undefined : html`<section aria-labelledby="h-notices"><h2 id="h-notices">${t.notices}</h2>${notices.map((e) => entry(input, e))}</section>`}
<section aria-labelledby="h-past"><h2 id="h-past">${t.past}</h2>${past.length === 0 ? html`<p class="meta">${t.noPast}</p>` : past.map((e) => entry(input, e))}</section>
</main>
<footer><p>${t.feeds}: <a href="/status/feed.atom">Atom</a> · <a href="/status/feed.rss">RSS</a> · <a href="/status/api/v2/summary.json">JSON</a>${input.securityTxt ? html` · <a href="/.well-known/security.txt">${t.report}</a>` : undefined}</p></footer>
</body>
</html>`;
}

/** The page's own stylesheet: system fonts, system colours for text, state colours that hold their contrast in light and dark. */
export const statusStylesheet = `:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.5;--line:color-mix(in srgb,CanvasText 18%,Canvas);--muted:color-mix(in srgb,CanvasText 72%,Canvas);--ok:#1a7f37;--minor:#9a6700;--major:#bc4c00;--critical:#c62828;--maint:#0b5cad;--none:color-mix(in srgb,CanvasText 22%,Canvas)}
body{margin:0;background:Canvas;color:CanvasText}
a{color:LinkText}
a:focus-visible{outline:3px solid Highlight;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;padding:.5rem 1rem;background:Canvas}
.skip:focus{left:1rem;z-index:1}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
header.top{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1.25rem;border-bottom:1px solid var(--line)}
header.top p{margin:0}
.brand{font-weight:700;font-size:1.15rem}
.brand .space{font-weight:400;margin-left:.5rem;padding-left:.5rem;border-left:1px solid var(--line)}
main{max-width:52rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.5rem;margin:0 0 1rem}
h2{font-size:1.15rem;margin:2rem 0 .75rem}
h3{font-size:1rem;margin:0 0 .25rem}
.banner{margin:0 0 .5rem;padding:1rem 1.25rem;border-radius:.5rem;color:#fff;font-weight:600;font-size:1.1rem}
.i-none{background:var(--ok)}.i-minor{background:var(--minor)}.i-major{background:var(--major)}.i-critical{background:var(--critical)}.i-maintenance{background:var(--maint)}
.meta{color:var(--muted);font-size:.92rem;margin:.25rem 0}
.stale{border-left:4px solid var(--critical);padding:.5rem .75rem;margin:1rem 0;background:color-mix(in srgb,var(--critical) 10%,Canvas)}
ul.components{list-style:none;margin:0;padding:0;border:1px solid var(--line);border-radius:.5rem}
li.component{padding:.75rem 1rem;border-top:1px solid var(--line)}
li.component:first-child{border-top:0}
.row{display:flex;justify-content:space-between;gap:1rem;margin:0 0 .5rem}
.name{font-weight:600}
.state{font-weight:600}
.state.s-operational{color:var(--ok)}.state.s-degraded_performance{color:var(--minor)}.state.s-partial_outage{color:var(--major)}.state.s-major_outage{color:var(--critical)}.state.s-under_maintenance{color:var(--maint)}
@media (prefers-color-scheme:dark){.state.s-operational{color:#4ac26b}.state.s-degraded_performance{color:#d4a72c}.state.s-partial_outage{color:#f0883e}.state.s-major_outage{color:#ff7b72}.state.s-under_maintenance{color:#79c0ff}}
ol.bars{display:flex;gap:2px;list-style:none;margin:0;padding:0;height:2rem}
.bar{flex:1;border-radius:2px;background:var(--none);min-width:1px}
.bar.s-operational{background:var(--ok)}.bar.s-degraded_performance{background:var(--minor)}.bar.s-partial_outage{background:var(--major)}.bar.s-major_outage{background:var(--critical)}.bar.s-under_maintenance{background:var(--maint)}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8rem;margin:.25rem 0 0}
.axis .narrow{display:none}
@media (max-width:40rem){ol.bars{gap:1px}ol.bars .bar:nth-child(-n+60){display:none}.axis .wide{display:none}.axis .narrow{display:inline}}
article.entry{border:1px solid var(--line);border-left:4px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;margin:0 0 .75rem}
article.k-incident{border-left-color:var(--major)}article.k-incident.st-resolved{border-left-color:var(--ok)}article.k-maintenance{border-left-color:var(--maint)}article.k-notice{border-left-color:var(--minor)}
.tag{font-weight:400;font-size:.85rem;color:var(--muted);margin-left:.5rem}
.body{margin:.25rem 0;white-space:pre-line}
ol.updates{list-style:none;margin:.5rem 0 0;padding:0}
ol.updates li{border-top:1px solid var(--line);padding:.5rem 0 0;margin-top:.5rem}
footer{border-top:1px solid var(--line);padding:.75rem 1.25rem;font-size:.9rem;text-align:center}
`;
