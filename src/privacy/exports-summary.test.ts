import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conceptText, humanName, observationRow, summaryHtml, summaryTexts } from './exports-summary.js';

describe('the readable summary', () => {
  it('names and concepts as people read them', () => {
    assert.equal(humanName({ name: [{ given: ['Anna', 'Maria'], family: 'Müller' }] }), 'Anna Maria Müller');
    assert.equal(humanName({ name: [{ text: 'Dr. A. Müller', family: 'X' }] }), 'Dr. A. Müller');
    assert.equal(humanName({}), '');
    assert.equal(conceptText({ coding: [{ code: '8867-4', display: 'Heart rate' }] }), 'Heart rate');
    assert.equal(conceptText({ text: 'Puls', coding: [{ display: 'Heart rate' }] }), 'Puls');
    assert.equal(conceptText(undefined), '');
  });

  it('an Observation row: date, what, value and unit, from whichever value[x] it has', () => {
    assert.deepEqual(observationRow({ code: { text: 'Weight' }, effectiveDateTime: '2026-01-01T10:00:00Z', valueQuantity: { value: 61.5, unit: 'kg' } }), { date: '2026-01-01T10:00:00Z', what: 'Weight', value: '61.5', unit: 'kg' });
    assert.deepEqual(observationRow({ code: { text: 'Smoker' }, effectivePeriod: { start: '2026-02-01' }, valueBoolean: false }), { date: '2026-02-01', what: 'Smoker', value: 'false', unit: '' });
  });

  it('the HTML page escapes what records hold', () => {
    const page = summaryHtml(
      { name: '<script>x</script>', birthDate: '1980-02-03', generatedAt: 'now', observations: [{ date: 'd', what: '"><img>', value: '1', unit: 'u' }], appointments: [], consents: [], invoices: [], apps: [], accesses: 0 },
      summaryTexts.en,
      'en',
    );
    assert.doesNotMatch(page, /<script>|<img>/);
    assert.match(page, /&#60;script&#62;/);
  });
});
