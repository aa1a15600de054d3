import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideConsent, type ConsentCaller, type ConsentQuery } from './consent-decide.js';
import { parseConsent } from './consent-parse.js';

const scope = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] };
const consent = (id: string, provision: unknown, status = 'active') => {
  const parsed = parseConsent(id, { resourceType: 'Consent', status, scope, patient: { reference: 'Patient/p1' }, provision });
  return parsed === undefined ? [] : [parsed];
};
const app = (client: string) => ({ reference: { identifier: { system: 'https://tresor.dev/fhir/NamingSystem/oauth-client', value: client } } });
const practitioner = (id: string) => ({ reference: { reference: `Practitioner/${id}` } });
const klass = (code: string) => ({ system: 'https://tresor.dev/fhir/CodeSystem/data-class', code });
const purpose = (code: string) => ({ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code });
const action = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentaction', code }] });

const clinician: ConsentCaller = { role: 'clinician', practitioner: 'Practitioner/dr1', purpose: 'TREAT' };
const now = Date.parse('2026-06-01T12:00:00Z');
const query = (caller: ConsentCaller, classes = ['internal', 'health'], over: Partial<ConsentQuery> = {}): ConsentQuery => ({ subject: 'Patient/p1', caller, action: 'read', classes, now, ...over });

describe('decideConsent', () => {
  it('permits when there is no consent, or only inactive or other-scope ones', () => {
    assert.deepEqual(decideConsent([], query(clinician)), { kind: 'permit' });
    assert.deepEqual(decideConsent(consent('c1', { type: 'deny' }, 'inactive'), query(clinician)), { kind: 'permit' });
    assert.deepEqual(decideConsent(consent('c1', { type: 'deny' }, 'proposed'), query(clinician)), { kind: 'permit' });
    const other = parseConsent('c2', { status: 'active', scope: { coding: [{ code: 'research' }] }, provision: { type: 'deny' } });
    assert.equal(other, undefined);
  });

  it('denies a named app for every access, and nobody else', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', actor: [app('app-1')] }] });
    assert.deepEqual(decideConsent(consents, query({ ...clinician, client: 'app-1' })), { kind: 'deny', consent: 'Consent/c1' });
    assert.deepEqual(decideConsent(consents, query({ ...clinician, client: 'app-2' })), { kind: 'permit' });
    assert.deepEqual(decideConsent(consents, query(clinician)), { kind: 'permit' });
    // The patient's own app that they denied is refused too; their own sign-in is not.
    const self: ConsentCaller = { role: 'patient', patient: 'Patient/p1', purpose: 'PATRQT' };
    assert.deepEqual(decideConsent(consents, query({ ...self, client: 'app-1' })), { kind: 'deny', consent: 'Consent/c1' });
    assert.deepEqual(decideConsent(consent('c9', { type: 'deny' }), query(self)), { kind: 'permit' });
    assert.deepEqual(decideConsent(consent('c9', { type: 'deny' }), query({ ...self, client: 'app-3' })), { kind: 'permit' }, 'a deny of everyone does not name the app');
  });

  it('redacts the classes a provision limits a clinician to', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', actor: [practitioner('dr1')], class: [klass('health')] }] });
    assert.deepEqual(decideConsent(consents, query(clinician)), { kind: 'redact', classes: ['health'], consent: 'Consent/c1' });
    assert.deepEqual(decideConsent(consents, query({ ...clinician, practitioner: 'Practitioner/dr2' })), { kind: 'permit' });
    assert.deepEqual(decideConsent(consents, query(clinician, ['internal', 'personal'])), { kind: 'permit' }, 'a record without health data is untouched');
    assert.deepEqual(decideConsent(consents, query(clinician, ['health'])), { kind: 'deny', consent: 'Consent/c1' }, 'nothing left to show is a deny');
  });

  it('denies research use by purpose, not treatment', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', purpose: [purpose('HRESCH')] }] });
    assert.deepEqual(decideConsent(consents, query({ ...clinician, purpose: 'HRESCH' })), { kind: 'deny', consent: 'Consent/c1' });
    assert.deepEqual(decideConsent(consents, query(clinician)), { kind: 'permit' });
  });

  it('reads nested provisions as exceptions: deny all but one practitioner, but not their payment data', () => {
    const consents = consent('c1', {
      type: 'deny',
      provision: [{ type: 'permit', actor: [practitioner('dr1')], provision: [{ type: 'deny', class: [klass('payment')] }] }],
    });
    assert.deepEqual(decideConsent(consents, query(clinician)), { kind: 'permit' });
    assert.deepEqual(decideConsent(consents, query(clinician, ['internal', 'payment'])), { kind: 'redact', classes: ['payment'], consent: 'Consent/c1' });
    assert.deepEqual(decideConsent(consents, query({ ...clinician, practitioner: 'Practitioner/dr2' })), { kind: 'deny', consent: 'Consent/c1' });
  });

  it('applies periods of the consent and of each provision', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', actor: [app('a')], period: { start: '2026-01-01', end: '2026-03-31' } }] });
    const caller = { ...clinician, client: 'a' };
    assert.deepEqual(decideConsent(consents, query(caller)), { kind: 'permit' }, 'after the period');
    assert.deepEqual(decideConsent(consents, query(caller, undefined, { now: Date.parse('2026-03-31T23:00:00Z') })).kind, 'deny', 'the end date is inclusive');
    const later = consent('c2', { type: 'deny', period: { start: '2027-01-01' } });
    assert.deepEqual(decideConsent(later, query(clinician)), { kind: 'permit' }, 'before the consent starts');
  });

  it('limits a deny to the actions it names', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', actor: [app('a')], action: [action('correct')] }] });
    const caller = { ...clinician, client: 'a' };
    assert.equal(decideConsent(consents, query(caller)).kind, 'permit');
    assert.equal(decideConsent(consents, query(caller, undefined, { action: 'update' })).kind, 'deny');
  });

  it('a stated ETREAT purpose lifts nothing (only the guard’s break-the-glass does), and the first consent that denies is named', () => {
    const consents = [...consent('b', { type: 'deny' }), ...consent('a', { type: 'deny' })];
    assert.deepEqual(decideConsent(consents, query({ ...clinician, purpose: 'ETREAT' })), { kind: 'deny', consent: 'Consent/a' });
    assert.deepEqual(decideConsent(consents, query(clinician)), { kind: 'deny', consent: 'Consent/a' });
  });

  it('never widens: unknown actors and classes match nobody', () => {
    const consents = consent('c1', { type: 'permit', provision: [{ type: 'deny', actor: [{ reference: { reference: 'Organization/x' } }] }, { type: 'deny', class: [klass('genome')] }] });
    assert.equal(decideConsent(consents, query(clinician)).kind, 'permit');
  });
});
