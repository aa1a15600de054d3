import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeScopeFor } from './scope-texts.js';
import { scopesForRole } from './scopes.js';

describe('describeScopeFor', () => {
  it('words a scope for patients and for staff, in English and German', () => {
    assert.equal(describeScopeFor('en', 'patient/Observation.rs', 'patient'), 'Read and search your observations (measurements and test results)');
    assert.equal(describeScopeFor('en', 'patient/Observation.rs', 'staff'), 'Read and search observations (measurements and test results) of the patient you choose');
    assert.equal(describeScopeFor('de', 'patient/Observation.rs', 'patient'), 'Ihre Beobachtungen (Messwerte und Befunde) lesen und durchsuchen');
    assert.equal(describeScopeFor('de', 'patient/*.rs', 'staff'), 'Alle Arten von Daten aus der Akte, die Sie wählen, lesen und durchsuchen');
    assert.equal(describeScopeFor('en', 'user/Invoice.c', 'staff'), 'Create invoices and payment details you can access');
    assert.equal(describeScopeFor('de', 'offline_access', 'patient'), 'Zugriff behalten, auch wenn Sie sie nicht nutzen, bis Sie ihn widerrufen');
  });
});

describe('scopesForRole', () => {
  it('never offers system/ scopes to a person, nor patient/ scopes to a role that reads no Patient', () => {
    assert.deepEqual(scopesForRole('service', ['system/Patient.rs']).unusable, ['system/Patient.rs'], 'not even to a role that could');
    assert.deepEqual(scopesForRole('tenant-admin', ['openid', 'patient/*.rs', 'user/*.rs']), { usable: ['openid', 'user/*.rs'], unusable: ['patient/*.rs'] });
    assert.deepEqual(scopesForRole('auditor', ['fhirUser', 'user/*.cruds']), { usable: ['fhirUser'], unusable: ['user/*.cruds'] });
    assert.deepEqual(scopesForRole('patient', ['patient/Observation.d']), { usable: [], unusable: ['patient/Observation.d'] }, 'a patient deletes no observation');
    assert.deepEqual(scopesForRole('patient', ['unknown-scope']), { usable: [], unusable: ['unknown-scope'] });
  });
});
