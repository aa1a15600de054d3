import type { FastifyInstance } from 'fastify';
import { formatDate, formatDateTime, formatNumber, html, timeSeriesChart, type ChartPoint, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { portalCaller, portalContext, portalPath, sendPortalPage, type PortalDeps } from './portal-page.js';

/** The measurement ranges offered as links (the default keeps a year: recent enough to read, long enough to see a trend). */
export const ranges = ['30d', '1y', 'all'] as const;
export type Range = (typeof ranges)[number];
const rangeDays: Readonly<Record<Range, number | undefined>> = { '30d': 30, '1y': 365, all: undefined };

/**
 * At most this many measurements per page view, newest first: a device patient can have tens of
 * thousands, and one search of this size keeps the page fast; the page says when the range holds more.
 */
export const measurementLimit = 500;

const text: Texts<
  | 'demographics'
  | 'name'
  | 'birthDate'
  | 'gender'
  | 'phone'
  | 'email'
  | 'address'
  | 'measurements'
  | 'range'
  | 'range30d'
  | 'range1y'
  | 'rangeall'
  | 'noMeasurements'
  | 'limited'
  | 'valuesOf'
  | 'date'
  | 'value'
  | 'otherResults'
  | 'result'
  | 'appointments'
  | 'upcoming'
  | 'past'
  | 'noAppointments'
  | 'when'
  | 'what'
  | 'status'
  | 'consents'
  | 'noConsents'
  | 'agreed'
  | 'since'
  | 'yourData'
  | 'yourDataText'
  | 'unknown'
> = {
  en: {
    demographics: 'About me',
    name: 'Name',
    birthDate: 'Date of birth',
    gender: 'Gender',
    phone: 'Phone',
    email: 'E-mail',
    address: 'Address',
    measurements: 'Measurements',
    range: 'Period',
    range30d: 'Last 30 days',
    range1y: 'Last year',
    rangeall: 'All',
    noMeasurements: 'No measurements in this period.',
    limited: 'This period holds more measurements than one page shows: the charts show the latest {n}.',
    valuesOf: 'The values of this chart',
    date: 'Date',
    value: 'Value',
    otherResults: 'Other results',
    result: 'Result',
    appointments: 'Appointments',
    upcoming: 'Upcoming',
    past: 'Past',
    noAppointments: 'None.',
    when: 'When',
    what: 'What',
    status: 'Status',
    consents: 'Consents',
    noConsents: 'No consents on record.',
    agreed: 'What was agreed',
    since: 'Date',
    yourData: 'Export my data / Erase my data',
    yourDataText: 'Coming soon: you will be able to download all your records here, and ask for them to be erased. Until then, your clinic can do both for you.',
    unknown: '–',
  },
  de: {
    demographics: 'Über mich',
    name: 'Name',
    birthDate: 'Geburtsdatum',
    gender: 'Geschlecht',
    phone: 'Telefon',
    email: 'E-Mail',
    address: 'Adresse',
    measurements: 'Messwerte',
    range: 'Zeitraum',
    range30d: 'Letzte 30 Tage',
    range1y: 'Letztes Jahr',
    rangeall: 'Alle',
    noMeasurements: 'Keine Messwerte in diesem Zeitraum.',
    limited: 'Dieser Zeitraum enthält mehr Messwerte, als eine Seite zeigt: Die Diagramme zeigen die letzten {n}.',
    valuesOf: 'Die Werte dieses Diagramms',
    date: 'Datum',
    value: 'Wert',
    otherResults: 'Weitere Befunde',
    result: 'Befund',
    appointments: 'Termine',
    upcoming: 'Anstehend',
    past: 'Vergangen',
    noAppointments: 'Keine.',
    when: 'Wann',
    what: 'Was',
    status: 'Status',
    consents: 'Einwilligungen',
    noConsents: 'Keine Einwilligungen erfasst.',
    agreed: 'Was vereinbart wurde',
    since: 'Datum',
    yourData: 'Meine Daten exportieren / löschen',
    yourDataText: 'Demnächst: Hier können Sie alle Ihre Daten herunterladen und ihre Löschung verlangen. Bis dahin erledigt Ihre Praxis beides für Sie.',
    unknown: '–',
  },
};

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A CodeableConcept as people read it: its text, else its first coding's display, else its code. */
function conceptText(concept: unknown): string | undefined {
  const c = obj(concept);
  const coding = obj(arr(c['coding'])[0]);
  return str(c['text']) ?? str(coding['display']) ?? str(coding['code']);
}

function humanName(patient: Json): string | undefined {
  const name = obj(arr(patient['name'])[0]);
  return str(name['text']) ?? ([...arr(name['given']), name['family']].filter((p): p is string => typeof p === 'string').join(' ') || undefined);
}

const whenOf = (observation: Json): string | undefined => str(observation['effectiveDateTime']) ?? str(obj(observation['effectivePeriod'])['start']) ?? str(observation['effectiveInstant']) ?? str(observation['issued']);

interface Series {
  readonly key: string;
  readonly title: string;
  readonly unit: string;
  readonly points: ChartPoint[];
}

/** Numeric measurements grouped by code (one chart per code and unit); the rest as results. */
function groupObservations(observations: readonly Json[]): { series: Series[]; others: Array<{ at: string | undefined; what: string; value: string }> } {
  const series = new Map<string, Series>();
  const others: Array<{ at: string | undefined; what: string; value: string }> = [];
  for (const o of observations) {
    const coding = obj(arr(obj(o['code'])['coding'])[0]);
    const title = conceptText(o['code']) ?? '?';
    const at = whenOf(o);
    const quantity = obj(o['valueQuantity']);
    const value = quantity['value'];
    if (typeof value === 'number' && at !== undefined && !Number.isNaN(Date.parse(at))) {
      const unit = str(quantity['unit']) ?? str(quantity['code']) ?? '';
      const key = `${str(coding['system']) ?? ''}|${str(coding['code']) ?? title}|${unit}`;
      let s = series.get(key);
      if (s === undefined) {
        s = { key, title, unit, points: [] };
        series.set(key, s);
      }
      s.points.push({ at: new Date(at), value });
    } else {
      others.push({ at, what: title, value: str(o['valueString']) ?? conceptText(o['valueCodeableConcept']) ?? (typeof value === 'number' ? String(value) : '') });
    }
  }
  return { series: [...series.values()], others };
}

function seriesBlock(s: Series, index: number, locale: Locale): Html {
  const t = text[locale];
  const newestFirst = [...s.points].sort((a, b) => b.at.getTime() - a.at.getTime());
  return html`<section class="series" aria-labelledby="series-${index}-h">
<h3 id="series-${index}-h">${s.title}${s.unit === '' ? undefined : ` (${s.unit})`}</h3>
${timeSeriesChart({ locale, title: s.title, unit: s.unit, points: s.points, id: `series-${index}` })}
<details><summary>${t.valuesOf}: ${s.title}</summary>
<table><caption>${s.title}</caption><thead><tr><th scope="col">${t.date}</th><th scope="col" class="num">${t.value} (${s.unit})</th></tr></thead>
<tbody>${newestFirst.map((p) => html`<tr><th scope="row">${formatDateTime(locale, p.at)}</th><td class="num">${formatNumber(locale, p.value)}</td></tr>`)}</tbody></table>
</details>
</section>`;
}

function demographicsBlock(patient: Json, locale: Locale): Html {
  const t = text[locale];
  const telecom = arr(patient['telecom']).map(obj);
  const phone = telecom.find((c) => c['system'] === 'phone');
  const email = telecom.find((c) => c['system'] === 'email');
  const address = obj(arr(patient['address'])[0]);
  const addressText = str(address['text']) ?? ([...arr(address['line']), address['postalCode'], address['city']].filter((p): p is string => typeof p === 'string').join(', ') || undefined);
  const birth = str(patient['birthDate']);
  const row = (label: string, value: string | undefined) => html`<dt>${label}</dt><dd>${value ?? t.unknown}</dd>`;
  return html`<section aria-labelledby="about-h"><h2 id="about-h">${t.demographics}</h2>
<dl class="facts">${row(t.name, humanName(patient))}${row(t.birthDate, birth === undefined ? undefined : /^\d{4}-\d{2}-\d{2}$/.test(birth) ? formatDate(locale, `${birth}T12:00:00Z`) : birth)}${row(t.gender, str(patient['gender']))}${row(t.phone, str(phone?.['value']))}${row(t.email, str(email?.['value']))}${row(t.address, addressText)}</dl>
</section>`;
}

function appointmentsBlock(appointments: readonly Json[], now: Date, locale: Locale): Html {
  const t = text[locale];
  const withStart = appointments.map((a) => ({ a, start: str(a['start']) }));
  const upcoming = withStart.filter((x) => x.start !== undefined && Date.parse(x.start) >= now.getTime()).sort((x, y) => Date.parse(x.start as string) - Date.parse(y.start as string));
  const past = withStart.filter((x) => x.start === undefined || Date.parse(x.start) < now.getTime()).sort((x, y) => Date.parse(y.start ?? '0') - Date.parse(x.start ?? '0'));
  const table = (id: string, heading: string, rows: typeof withStart) =>
    rows.length === 0
      ? html`<h3 id="${id}">${heading}</h3><p>${t.noAppointments}</p>`
      : html`<h3 id="${id}">${heading}</h3><table aria-labelledby="${id}"><thead><tr><th scope="col">${t.when}</th><th scope="col">${t.what}</th><th scope="col">${t.status}</th></tr></thead>
<tbody>${rows.map(({ a, start }) => html`<tr><th scope="row">${start === undefined ? t.unknown : formatDateTime(locale, start)}</th><td>${str(a['description']) ?? conceptText(arr(a['serviceType'])[0]) ?? conceptText(a['appointmentType']) ?? t.unknown}</td><td>${str(a['status']) ?? t.unknown}</td></tr>`)}</tbody></table>`;
  return html`<section aria-labelledby="appointments-h"><h2 id="appointments-h">${t.appointments}</h2>${table('upcoming-h', t.upcoming, upcoming)}${table('past-h', t.past, past)}</section>`;
}

function consentsBlock(consents: readonly Json[], locale: Locale): Html {
  const t = text[locale];
  return html`<section aria-labelledby="consents-h"><h2 id="consents-h">${t.consents}</h2>
${
  consents.length === 0
    ? html`<p>${t.noConsents}</p>`
    : html`<table aria-labelledby="consents-h"><thead><tr><th scope="col">${t.agreed}</th><th scope="col">${t.status}</th><th scope="col">${t.since}</th></tr></thead>
<tbody>${consents.map((c) => {
        const date = str(c['dateTime']);
        const what = [conceptText(c['scope']), ...arr(c['category']).map(conceptText), conceptText(arr(obj(c['provision'])['purpose'])[0])].filter((x): x is string => x !== undefined);
        return html`<tr><th scope="row">${what.length === 0 ? t.unknown : what.join(' – ')}</th><td>${str(c['status']) ?? t.unknown}</td><td>${date === undefined ? t.unknown : formatDate(locale, date)}</td></tr>`;
      })}</tbody></table>`
}
</section>`;
}

/**
 * `/tenants/{t}/me/`: the patient's own records, readable. Every read is the records service's
 * read as this patient (the permission matrix, their compartment, the data classes they see) and
 * is audited exactly as the same search over FHIR — a page view is five audited accesses.
 */
export function portalRecordsPage({ guard, realm, access, clock }: PortalDeps) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/me/', async (request, reply) => {
      const found = await portalCaller(guard, realm, request, reply, 'records');
      if (found === undefined) return reply;
      const { caller, patient } = found;
      const { locale } = caller;
      const t = text[locale];
      const chosen = (request.query as Record<string, unknown>)['range'];
      const range: Range = (ranges as readonly unknown[]).includes(chosen) ? (chosen as Range) : '1y';
      const now = clock.now();
      const days = rangeDays[range];
      const ctx = portalContext(request, caller);
      const parse = (content: string) => JSON.parse(content) as Json;

      const me = parse((await access.read(ctx, 'Patient', patient.replace(/^Patient\//, ''))).content);
      const observations = await access.search(ctx, 'Observation', [
        ['patient', patient],
        ...(days === undefined ? [] : ([['date', `ge${new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10)}`]] as Array<[string, string]>)),
        ['_sort', '-date'],
        ['_count', String(measurementLimit)],
        ['_total', 'none'],
      ]);
      const appointments = await access.search(ctx, 'Appointment', [
        ['patient', patient],
        ['_count', '100'],
      ]);
      const consents = await access.search(ctx, 'Consent', [
        ['patient', patient],
        ['_count', '100'],
      ]);

      const { series, others } = groupObservations(observations.matches.map((m) => parse(m.content)));
      const base = portalPath(caller.me.realmId, 'records');
      const body = html`${demographicsBlock(me, locale)}
<section aria-labelledby="measurements-h"><h2 id="measurements-h">${t.measurements}</h2>
<nav aria-label="${t.range}" ><ul>${ranges.map((r) => html`<li><a href="${base}?range=${r}"${r === range ? html` aria-current="page"` : undefined}>${t[`range${r}`]}</a></li>`)}</ul></nav>
${observations.hasMore ? html`<p class="hint">${t.limited.replace('{n}', formatNumber(locale, measurementLimit))}</p>` : undefined}
${series.length === 0 && others.length === 0 ? html`<p>${t.noMeasurements}</p>` : series.map((s, i) => seriesBlock(s, i, locale))}
${
  others.length === 0
    ? undefined
    : html`<h3 id="other-h">${t.otherResults}</h3><table aria-labelledby="other-h"><thead><tr><th scope="col">${t.date}</th><th scope="col">${t.what}</th><th scope="col">${t.result}</th></tr></thead>
<tbody>${others.map((o) => html`<tr><th scope="row">${o.at === undefined ? t.unknown : formatDateTime(locale, o.at)}</th><td>${o.what}</td><td>${o.value}</td></tr>`)}</tbody></table>`
}
</section>
${appointmentsBlock(appointments.matches.map((m) => parse(m.content)), now, locale)}
${consentsBlock(consents.matches.map((m) => parse(m.content)), locale)}
<section aria-labelledby="your-data-h"><h2 id="your-data-h">${t.yourData}</h2><p>${t.yourDataText}</p></section>`;
      return sendPortalPage(request, reply, caller, { section: 'records', body });
    });
  };
}
