import { html, type Html } from '../platform/pages/index.js';
import { createPdfWriter } from '../platform/pages/pdf-writer.js';

/** What the readable summary shows: drawn from the patient's own records, nothing else. */
export interface SubjectSummary {
  readonly name: string;
  readonly birthDate: string;
  readonly generatedAt: string;
  readonly observations: ReadonlyArray<{ readonly date: string; readonly what: string; readonly value: string; readonly unit: string }>;
  readonly appointments: ReadonlyArray<{ readonly start: string; readonly status: string; readonly description: string }>;
  readonly consents: ReadonlyArray<{ readonly date: string; readonly status: string; readonly about: string }>;
  readonly invoices: ReadonlyArray<{ readonly date: string; readonly status: string; readonly total: string }>;
  readonly apps: ReadonlyArray<{ readonly name: string; readonly since: string; readonly scopes: string }>;
  readonly accesses: number;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '');

/** A CodeableConcept as people read it: its text, else the first coding's display, else its code. */
export function conceptText(value: unknown): string {
  const concept = obj(value);
  if (str(concept['text']) !== '') return str(concept['text']);
  const coding = obj(arr(concept['coding'])[0]);
  return str(coding['display']) || str(coding['code']);
}

export function humanName(patient: Json): string {
  const name = obj(arr(patient['name'])[0]);
  if (str(name['text']) !== '') return str(name['text']);
  return [...arr(name['given']).map(str), str(name['family'])].filter((p) => p !== '').join(' ');
}

/** An Observation's value and unit as a row of the summary's table. */
export function observationRow(o: Json): SubjectSummary['observations'][number] {
  const quantity = obj(o['valueQuantity']);
  const value = quantity['value'] !== undefined ? str(quantity['value']) : str(o['valueString']) || conceptText(o['valueCodeableConcept']) || str(o['valueBoolean']) || str(o['valueInteger']);
  return {
    date: str(o['effectiveDateTime']) || str(obj(o['effectivePeriod'])['start']) || str(o['issued']),
    what: conceptText(o['code']),
    value,
    unit: str(quantity['unit']) || str(quantity['code']),
  };
}

/**
 * The summary as a PDF (standard Helvetica with WinAnsi, as the breach letters: German text needs
 * no embedded font; a character outside it prints as "?"). Observations are a table of date,
 * measurement, value and unit, one row per line, continuing on new pages.
 */
export async function summaryPdf(summary: SubjectSummary, texts: SummaryTexts): Promise<Uint8Array> {
  const pdf = await createPdfWriter({ title: `${texts.title}: ${summary.name}`, margin: 56, leading: 1.5 });
  const { regular, bold } = pdf;
  const line = (text: string, font = regular, size = 10.5) => pdf.wrap(text, font, size);
  const table = (heading: string, head: readonly string[], widths: readonly number[], rows: ReadonlyArray<readonly string[]>) => {
    pdf.down(6);
    line(heading, bold, 12.5);
    if (rows.length === 0) {
      line(texts.none);
      return;
    }
    pdf.row(head, widths, bold, 9.5, 14);
    for (const cells of rows) pdf.row(cells, widths, regular, 9.5, 14);
  };
  line(texts.title, bold, 16);
  line(`${texts.name}: ${summary.name}`);
  line(`${texts.birthDate}: ${summary.birthDate}`);
  line(`${texts.generated}: ${summary.generatedAt}`);
  table(texts.observations, [texts.date, texts.what, texts.value, texts.unit], [0.28, 0.37, 0.15, 0.2], summary.observations.map((o) => [o.date, o.what, o.value, o.unit]));
  table(texts.appointments, [texts.date, texts.status, texts.what], [0.3, 0.2, 0.5], summary.appointments.map((a) => [a.start, a.status, a.description]));
  table(texts.consents, [texts.date, texts.status, texts.what], [0.3, 0.2, 0.5], summary.consents.map((c) => [c.date, c.status, c.about]));
  table(texts.invoices, [texts.date, texts.status, texts.total], [0.3, 0.3, 0.4], summary.invoices.map((i) => [i.date, i.status, i.total]));
  table(texts.apps, [texts.what, texts.date, texts.scopes], [0.35, 0.25, 0.4], summary.apps.map((a) => [a.name, a.since, a.scopes]));
  pdf.down(6);
  line(texts.accessesLine(summary.accesses));
  return pdf.save();
}

/** The summary as a standalone HTML page: no script, no external resource (opens offline). */
export function summaryHtml(summary: SubjectSummary, texts: SummaryTexts, lang: string): string {
  const table = (heading: string, head: readonly string[], rows: ReadonlyArray<readonly string[]>): Html =>
    html`<h2>${heading}</h2>${
      rows.length === 0
        ? html`<p>${texts.none}</p>`
        : html`<table><thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</tbody></table>`
    }`;
  const body = html`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>${texts.title}: ${summary.name}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>${texts.title}</h1>
<dl><dt>${texts.name}</dt><dd>${summary.name}</dd><dt>${texts.birthDate}</dt><dd>${summary.birthDate}</dd><dt>${texts.generated}</dt><dd>${summary.generatedAt}</dd></dl>
${table(texts.observations, [texts.date, texts.what, texts.value, texts.unit], summary.observations.map((o) => [o.date, o.what, o.value, o.unit]))}
${table(texts.appointments, [texts.date, texts.status, texts.what], summary.appointments.map((a) => [a.start, a.status, a.description]))}
${table(texts.consents, [texts.date, texts.status, texts.what], summary.consents.map((c) => [c.date, c.status, c.about]))}
${table(texts.invoices, [texts.date, texts.status, texts.total], summary.invoices.map((i) => [i.date, i.status, i.total]))}
${table(texts.apps, [texts.what, texts.date, texts.scopes], summary.apps.map((a) => [a.name, a.since, a.scopes]))}
<p>${texts.accessesLine(summary.accesses)}</p></main></body></html>
`;
  return body.toString();
}

export interface SummaryTexts {
  readonly title: string;
  readonly name: string;
  readonly birthDate: string;
  readonly generated: string;
  readonly observations: string;
  readonly appointments: string;
  readonly consents: string;
  readonly invoices: string;
  readonly apps: string;
  readonly date: string;
  readonly what: string;
  readonly value: string;
  readonly unit: string;
  readonly status: string;
  readonly total: string;
  readonly scopes: string;
  readonly none: string;
  accessesLine(count: number): string;
}

export const summaryTexts: Readonly<Record<'en' | 'de', SummaryTexts>> = {
  en: {
    title: 'Your data held by the clinic',
    name: 'Name',
    birthDate: 'Date of birth',
    generated: 'Prepared',
    observations: 'Measurements and results',
    appointments: 'Appointments',
    consents: 'Consents',
    invoices: 'Invoices',
    apps: 'Connected apps',
    date: 'Date',
    what: 'What',
    value: 'Value',
    unit: 'Unit',
    status: 'Status',
    total: 'Total',
    scopes: 'Access granted',
    none: 'None.',
    accessesLine: (n) => `Accesses to your records listed in access-log.json: ${n}.`,
  },
  de: {
    title: 'Ihre Daten bei der Praxis',
    name: 'Name',
    birthDate: 'Geburtsdatum',
    generated: 'Erstellt',
    observations: 'Messwerte und Befunde',
    appointments: 'Termine',
    consents: 'Einwilligungen',
    invoices: 'Rechnungen',
    apps: 'Verbundene Apps',
    date: 'Datum',
    what: 'Was',
    value: 'Wert',
    unit: 'Einheit',
    status: 'Status',
    total: 'Summe',
    scopes: 'Erlaubter Zugriff',
    none: 'Keine.',
    accessesLine: (n) => `Zugriffe auf Ihre Daten, aufgeführt in access-log.json: ${n}.`,
  },
};
