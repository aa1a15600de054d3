import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordActions } from '../identity/permissions.js';
import { supportedTypes } from '../records/resource-types.js';
import {
  allowedScopes,
  allResourceScopeStrings,
  contextsPermitting,
  covers,
  describeScope,
  nonResourceScopes,
  parseResourceScope,
  permissionOf,
  type ResourceScope,
} from './scopes.js';

const scope = (text: string): ResourceScope => {
  const parsed = parseResourceScope(text);
  assert.ok(parsed !== undefined, `${text} parses`);
  return parsed;
};
const letters = (text: string) => [...scope(text).permissions].sort().join('');

describe('SMART on FHIR scopes (SMART App Launch 2.2, Scopes and Launch Context)', () => {
  it('parses v2 scopes: context, type, the cruds letters and the text as given', () => {
    const s = scope('patient/Observation.rs');
    assert.equal(s.context, 'patient');
    assert.equal(s.type, 'Observation');
    assert.deepEqual([...s.permissions].sort(), ['r', 's']);
    assert.equal(s.text, 'patient/Observation.rs');
    assert.equal(letters('user/Patient.cruds'), 'cdrsu');
    assert.equal(letters('system/Invoice.cud'), 'cdu');
    assert.equal(letters('patient/Consent.r'), 'r');
    assert.equal(letters('user/Appointment.s'), 's');
  });

  it('refuses out-of-order or repeated letters, unknown letters, an empty suffix and malformed strings', () => {
    for (const text of [
      'patient/Observation.sr',
      'patient/Observation.rr',
      'patient/Observation.x',
      'patient/Observation.rsx',
      'patient/Observation.scrud',
      'patient/Observation.',
      'patient/Observation',
      'patient/Observation.RS',
      'Observation.rs',
      'encounter/Observation.rs',
      '/Observation.rs',
      'patient/.rs',
      ' patient/Observation.rs',
      'patient/Observation.rs ',
      '',
    ]) {
      assert.equal(parseResourceScope(text), undefined, JSON.stringify(text));
    }
  });

  it('refuses types Tresor does not serve, and reads the served types from resource-types.ts', () => {
    assert.equal(parseResourceScope('patient/MedicationRequest.rs'), undefined);
    assert.equal(parseResourceScope('patient/observation.rs'), undefined, 'types are case-sensitive');
    for (const type of supportedTypes) assert.equal(scope(`user/${type}.rs`).type, type);
  });

  it('refuses fine-grained v2 scopes with a query (not supported, so never granted)', () => {
    assert.equal(parseResourceScope('patient/Observation.rs?category=laboratory'), undefined);
    assert.equal(parseResourceScope('patient/Observation.rs?'), undefined);
    assert.equal(parseResourceScope('user/*.cruds?_security=R'), undefined);
  });

  it('reads v1 suffixes as their v2 equivalents: .read = rs, .write = cud, .* = cruds', () => {
    assert.equal(letters('patient/Observation.read'), 'rs');
    assert.equal(letters('user/Patient.write'), 'cdu');
    assert.equal(letters('system/Invoice.*'), 'cdrsu');
    assert.equal(parseResourceScope('patient/Observation.Read'), undefined);
  });

  it('accepts * as the type, with v2 and v1 suffixes', () => {
    assert.equal(scope('patient/*.rs').type, '*');
    assert.equal(letters('user/*.cruds'), 'cdrsu');
    assert.equal(letters('patient/*.*'), 'cdrsu');
    assert.equal(letters('system/*.read'), 'rs');
  });

  it('permissionOf maps every record action to its SMART letter (history counts as read)', () => {
    const table = { read: 'r', history: 'r', search: 's', create: 'c', update: 'u', delete: 'd' } as const;
    for (const action of recordActions) assert.equal(permissionOf(action), table[action], action);
  });

  it('contextsPermitting returns the contexts whose scopes allow the action on the type, * matching every type', () => {
    const scopes = ['patient/Observation.rs', 'user/*.r', 'system/Invoice.cud', 'user/Patient.s'].map(scope);
    assert.deepEqual(contextsPermitting(scopes, 'Observation', 'read'), new Set(['patient', 'user']));
    assert.deepEqual(contextsPermitting(scopes, 'Observation', 'history'), new Set(['patient', 'user']));
    assert.deepEqual(contextsPermitting(scopes, 'Observation', 'search'), new Set(['patient']));
    assert.deepEqual(contextsPermitting(scopes, 'Patient', 'search'), new Set(['user']));
    assert.deepEqual(contextsPermitting(scopes, 'Invoice', 'update'), new Set(['system']));
    assert.deepEqual(contextsPermitting(scopes, 'Invoice', 'read'), new Set(['user']));
    assert.deepEqual(contextsPermitting(scopes, 'Consent', 'delete'), new Set());
    assert.deepEqual(contextsPermitting([], 'Observation', 'read'), new Set());
  });

  it('covers: a narrower request is covered; a wider one, another context or another type is not', () => {
    assert.ok(covers(scope('patient/Observation.rs'), scope('patient/Observation.r')), 'narrower');
    assert.ok(covers(scope('patient/Observation.rs'), scope('patient/Observation.rs')), 'equal');
    assert.ok(covers(scope('patient/Observation.read'), scope('patient/Observation.rs')), 'v1 registration, v2 request');
    assert.ok(!covers(scope('patient/Observation.rs'), scope('patient/Observation.cruds')), 'wider');
    assert.ok(!covers(scope('patient/Observation.rs'), scope('patient/Observation.write')), 'v1 write is wider than rs');
    assert.ok(!covers(scope('patient/Observation.rs'), scope('user/Observation.r')), 'other context');
    assert.ok(!covers(scope('user/*.cruds'), scope('system/Observation.r')), 'user does not cover system');
    assert.ok(!covers(scope('patient/Observation.rs'), scope('patient/Patient.r')), 'other type');
  });

  it('covers: a registered * covers Observation, a registered Observation does not cover *', () => {
    assert.ok(covers(scope('patient/*.rs'), scope('patient/Observation.rs')));
    assert.ok(!covers(scope('patient/Observation.rs'), scope('patient/*.rs')));
    assert.ok(!covers(scope('patient/*.r'), scope('patient/Observation.rs')), 'still no more letters than registered');
  });

  it('allowedScopes grants what the registration covers and refuses escalation', () => {
    const registered = 'openid patient/*.rs patient/Observation.cruds';
    assert.deepEqual(allowedScopes('patient/Observation.c patient/Consent.r patient/Consent.d user/Observation.r patient/*.cruds', registered), {
      granted: ['patient/Observation.c', 'patient/Consent.r'],
      refused: ['patient/Consent.d', 'user/Observation.r', 'patient/*.cruds'],
    });
  });

  it('allowedScopes grants a non-resource scope only when Tresor supports it and the client registered it', () => {
    const registered = 'openid fhirUser launch patient/Observation.rs';
    assert.deepEqual(allowedScopes('openid fhirUser profile offline_access launch', registered), {
      granted: ['openid', 'fhirUser'],
      refused: ['profile', 'offline_access', 'launch'],
    });
    assert.deepEqual(allowedScopes('launch/patient offline_access', 'launch/patient offline_access').granted, ['launch/patient', 'offline_access']);
    assert.deepEqual(allowedScopes('online_access', 'online_access').refused, ['online_access'], 'not supported even when registered');
  });

  it('allowedScopes refuses unparsable and fine-grained scopes even when registered literally', () => {
    const registered = 'patient/Observation.rs?category=laboratory patient/Observation.sr made-up';
    assert.deepEqual(allowedScopes('patient/Observation.rs?category=laboratory patient/Observation.sr made-up', registered), {
      granted: [],
      refused: ['patient/Observation.rs?category=laboratory', 'patient/Observation.sr', 'made-up'],
    });
  });

  it('allowedScopes keeps the requested order, drops duplicates and ignores extra whitespace', () => {
    assert.deepEqual(allowedScopes('  patient/Observation.r   openid patient/Observation.r\topenid bogus bogus ', 'openid patient/Observation.rs'), {
      granted: ['patient/Observation.r', 'openid'],
      refused: ['bogus'],
    });
    assert.deepEqual(allowedScopes('', 'openid'), { granted: [], refused: [] });
  });

  it('allResourceScopeStrings lists every valid resource scope, no invalid one, the same on every call', () => {
    const all = allResourceScopeStrings().split(' ');
    const set = new Set(all);
    for (const text of ['patient/Observation.rs', 'system/*.cruds', 'user/Patient.read', 'patient/*.*', 'user/Invoice.write', 'system/Consent.d']) {
      assert.ok(set.has(text), text);
    }
    for (const text of ['patient/Observation.sr', 'patient/Observation.rr', 'patient/Observation.', 'user/MedicationRequest.rs']) {
      assert.ok(!set.has(text), text);
    }
    assert.equal(all.length, 3 * (supportedTypes.length + 1) * 34, '3 contexts × (types + *) × (31 v2 + 3 v1 suffixes)');
    assert.equal(set.size, all.length, 'no duplicates');
    for (const text of all) assert.ok(parseResourceScope(text) !== undefined, `${text} parses`);
    // Built apart from the code: every non-empty subsequence of "cruds" (SMART v2 keeps the letters in order), the v1 suffixes.
    const subsequences = (letters: string): string[] => (letters === '' ? [''] : subsequences(letters.slice(1)).flatMap((rest) => [letters[0] + rest, rest]));
    const suffixes = [...subsequences('cruds').filter((x) => x !== ''), 'read', 'write', '*'];
    const expected = ['patient', 'user', 'system'].flatMap((context) => [...supportedTypes, '*'].flatMap((type) => suffixes.map((suffix) => `${context}/${type}.${suffix}`)));
    assert.deepEqual([...all].sort(), expected.sort());
  });

  it('describeScope words resource scopes for a patient: the actions, the data, and whose', () => {
    assert.equal(describeScope('patient/Observation.rs'), 'Read and search your observations (measurements and test results)');
    assert.equal(describeScope('user/*.cruds'), 'Create, read, change, delete and search every kind of record you can access');
    assert.equal(describeScope('system/Patient.r'), 'Read patient records (as a backend service, without a person present)');
    assert.equal(describeScope('patient/Patient.ru'), 'Read and change your patient details (name, contact, birth date)');
    assert.equal(describeScope('patient/Invoice.read'), 'Read and search your invoices and payment details');
    assert.equal(describeScope('user/Appointment.write'), 'Create, change and delete appointments you can access');
    assert.equal(describeScope('user/Practitioner.s'), 'Search practitioner (staff) details you can access');
    assert.equal(describeScope('patient/*.rs'), 'Read and search every kind of record about you');
  });

  it('describeScope words every supported non-resource scope', () => {
    const expected = {
      openid: 'Confirm who you are',
      fhirUser: 'Know which person or practitioner record is yours',
      profile: 'See your name',
      'launch/patient': 'Know which patient record it is working with',
      offline_access: 'Keep access when you are not using it, until you revoke it',
    };
    for (const text of nonResourceScopes) assert.equal(describeScope(text), expected[text], text);
  });

  it('describeScope says "Unrecognised permission" for anything unknown or unparsable', () => {
    for (const text of ['launch', 'patient/Observation.sr', 'patient/Observation.rs?category=laboratory', 'user/MedicationRequest.r', '']) {
      assert.equal(describeScope(text), `Unrecognised permission "${text}"`);
    }
  });
});
