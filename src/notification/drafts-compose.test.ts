import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pdfPages } from '../../test/support/pdf-text.js';
import { composeAuthorityReport, composeCustomerNotice, composeLetter, composeMediaNotice, type TenantFacts } from './drafts-compose.js';
import { defaultFreeText } from './drafts-texts.js';
import type { AffectedPerson } from './people.js';
import { renderPdf } from './pdf.js';
import { renderHtml, renderText } from './render.js';

const day = Date.parse('2026-03-02T10:00:00Z');
const facts: TenantFacts = {
  tenant: { id: 'north', name: 'Praxis <Nord> & Co' },
  incident: { id: '0190f0c0-0000-7000-8000-000000000001', title: 'Leaked integration key', awareAt: day + 3 * 86_400_000 },
  scopeHash: 'a'.repeat(64),
  window: { from: day - 86_400_000, to: day + 2 * 86_400_000 },
  suspect: 'api-key',
  patients: 3,
  records: 7,
  readable: 3,
  encryptedOnly: 0,
  classesInClear: ['health', 'personal'],
  classesEncrypted: [],
  first: day,
  last: day + 86_400_000,
};
const person = (extra: Partial<AffectedPerson> = {}): AffectedPerson => ({
  tenantId: 'north',
  patient: 'Patient/p1',
  name: 'Jörg Größe',
  email: 'joerg@example.org',
  postal: ['Heidestraße 1', '8001 Zürich', 'CH'],
  country: 'CH',
  state: null,
  language: 'de',
  unreachable: null,
  disclosure: 'in-clear',
  classes: ['personal', 'health'],
  first: day,
  last: day + 86_400_000,
  ...extra,
});

describe('breach notices', () => {
  it('writes the letter in the person’s language, naming them, their own classes in words and their dates', () => {
    const de = renderText(composeLetter(person(), facts, defaultFreeText('de', 'Schlüssel abhanden', undefined), 'REF-1'));
    assert.match(de, /Guten Tag Jörg Größe,/);
    assert.match(de, /Gesundheitsdaten wie Messwerte, Befunde und Diagnosen/);
    assert.match(de, /Ihr Name und Ihre Kontaktdaten/);
    assert.doesNotMatch(de, /Zahlungsdaten/, 'not a class of theirs');
    assert.match(de, /zwischen dem 2\. März 2026 und dem 3\. März 2026/);
    assert.match(de, /konnte diese Daten lesen/);
    assert.match(de, /Zeichen: REF-1/);
    const en = renderText(composeLetter(person({ language: 'en', classes: ['payment'], name: null }), facts, defaultFreeText('en', 'Key lost', undefined), 'REF-2'));
    assert.match(en, /^Dear patient,/m);
    assert.match(en, /payment information/);
    assert.match(en, /Check your bank and card statements/);
    assert.match(en, /between 2 March 2026 and 3 March 2026/);
  });

  it('says when data was only encrypted, and that nothing needs doing', () => {
    const text = renderText(composeLetter(person({ language: 'en', disclosure: 'ciphertext-only', first: null, last: null }), facts, defaultFreeText('en', 'Backup copy exposed', undefined), 'R'));
    assert.match(text, /only exposed in encrypted form/);
    assert.match(text, /You do not need to do anything/);
    assert.match(text, /Copies of stored files were exposed between/);
  });

  it('escapes everything in HTML: a tenant name or free text cannot become markup', () => {
    const free = { ...defaultFreeText('en', 'x', undefined), whatHappened: '<script>alert(1)</script>\n\nSecond <b>paragraph</b>' };
    const page = renderHtml([composeCustomerNotice('en', facts, free)]);
    assert.ok(!page.includes('<script>alert'));
    assert.ok(page.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
    assert.ok(page.includes('Praxis &#60;Nord&#62; &#38; Co'));
    assert.ok(!/src=|href=/.test(page), 'no assets, no links');
  });

  it('carries the Art. 33(3) contents and the HHS form’s fields in the authority report; counts only', () => {
    const text = renderText(composeAuthorityReport('en', facts, defaultFreeText('en', 'Key lost', 'dpo@north.example')));
    for (const field of ['Nature of the breach', 'Approximate number of data subjects (individuals): 3', 'Approximate number of records: 7', 'Likely consequences', 'Measures taken or proposed', 'dpo@north.example', 'Type of breach (HHS form)', 'Location of breached information', 'Safeguards in place', 'Date of discovery']) assert.ok(text.includes(field), field);
    assert.ok(!text.includes('Patient/'));
    const media = renderText(composeMediaNotice('de', facts, defaultFreeText('de', 'Schlüssel', undefined)));
    assert.match(media, /Ungefähre Zahl der betroffenen Personen: 3/);
  });

  it('prints German letters to PDF that read back: Zürich, Größe, Heidestraße; one letter per page', async () => {
    const docs = [composeLetter(person(), facts, defaultFreeText('de', 'Vorfall', undefined), 'R1'), composeLetter(person({ name: 'Ada Lovelace', language: 'en', postal: ['1 Main St', 'Springfield'] }), facts, defaultFreeText('en', 'Incident', undefined), 'R2')];
    const pages = pdfPages(await renderPdf(docs));
    assert.ok(pages.length >= 2);
    const first = pages.findIndex((p) => p.includes('Jörg Größe'));
    const second = pages.findIndex((p) => p.includes('Ada Lovelace'));
    assert.ok(first >= 0 && second > first, 'each letter starts on its own page');
    assert.ok(pages[first]?.includes('Heidestraße 1') && pages[first]?.includes('8001 Zürich'));
    assert.ok(!pages[first]?.includes('Ada Lovelace'));
  });
});

describe('the facts of a tenant for its notices', () => {
  it('count as the checklist does, and take a scope of 100,000 listed patients', async () => {
    const { tenantFacts } = await import('./drafts-compose.js');
    const { factsOf } = await import('./assessment-facts.js');
    const listed = 120_000;
    const list = Array.from({ length: listed }, (_, i) => ({ patient: `Patient/${i}`, disclosure: i % 4 === 0 ? ('ciphertext-only' as const) : ('in-clear' as const), first: 1_000 + i, last: 2_000_000 - i, accesses: 1, classes: ['personal'] }));
    const part = {
      tenantId: 'clinic',
      trail: { events: listed, firstSeq: 1, lastSeq: listed },
      // The list was truncated: five more patients were counted than listed.
      patients: { count: listed + 5, truncated: true, list },
      records: { count: listed, truncated: false, list: [] },
      classes: { inClear: ['personal'], ciphertextOnly: ['health'] },
      attempts: { count: 0, first: null, last: null, byAction: {} },
      changes: { count: 0, records: 0 },
      reasoning: { disclosedBy: {}, otherEvents: {}, sealedClasses: [], rules: [] },
    };
    const scope = { format: 'tresor-breach-scope/1' as const, inputs: { from: 0, to: 3_000_000, suspect: { kind: 'api-key' as const, values: ['k'] }, tenants: ['clinic'] }, tenants: [part], totals: { tenants: 1, patients: listed + 5, records: listed, attempts: 0, inClear: true }, computedAt: 0, durationMs: 0, hash: 'h' };
    const facts = tenantFacts(scope, { id: 'clinic', name: 'Clinic' }, { id: 'i', title: 't', awareAt: 0 });
    const checklist = factsOf(scope, part, undefined);
    assert.deepEqual([facts?.readable, facts?.encryptedOnly], [checklist.patientsInClear, checklist.patientsCiphertextOnly]);
    assert.deepEqual([facts?.readable, facts?.encryptedOnly], [90_000 + 5, 30_000], 'those beyond the list count as readable');
    assert.deepEqual([facts?.first, facts?.last], [1_000, 2_000_000]);
  });
});
