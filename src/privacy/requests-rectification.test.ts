import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changesFromForm, checkChanges, elementText, rectified } from './requests-rectification.js';
import { rectificationTag } from './requests-types.js';

describe('rectification changes', () => {
  it('turns the form’s fields into Patient elements, empty fields proposing nothing', () => {
    const changes = changesFromForm({ family: ' Schmidt ', given: 'Anna Maria', phone: '', city: 'Köln', birthDate: '1980-02-04', gender: 'female' });
    assert.deepEqual(changes, {
      name: [{ use: 'official', family: 'Schmidt', given: ['Anna', 'Maria'] }],
      address: [{ city: 'Köln' }],
      birthDate: '1980-02-04',
      gender: 'female',
    });
    assert.deepEqual(changesFromForm({}), {});
  });

  it('refuses other elements, wrong shapes and control characters', () => {
    assert.throws(() => checkChanges({ identifier: [{ value: 'x' }] }), (e: { code?: string }) => e.code === 'request-invalid');
    assert.throws(() => checkChanges({ gender: 'robot' }), (e: { code?: string }) => e.code === 'request-invalid');
    assert.throws(() => checkChanges({ birthDate: '3 Feb 1980' }), (e: { code?: string }) => e.code === 'request-invalid');
    assert.throws(() => checkChanges({ telecom: 'x' }), (e: { code?: string }) => e.code === 'request-invalid');
    assert.throws(() => changesFromForm({ family: 'a\u0007b' }), (e: { code?: string }) => e.code === 'request-invalid');
  });

  it('replaces the proposed elements, keeps the rest and tags the version once', () => {
    const current = { resourceType: 'Patient', id: 'p1', meta: { versionId: '3', lastUpdated: 'x', tag: [{ system: 'urn:other', code: 'a' }, { ...rectificationTag }] }, gender: 'male', birthDate: '1980-02-03' };
    const next = rectified(current, { gender: 'female' });
    assert.equal(next['gender'], 'female');
    assert.equal(next['birthDate'], '1980-02-03');
    assert.deepEqual((next['meta'] as { tag: unknown[] }).tag, [{ system: 'urn:other', code: 'a' }, { ...rectificationTag }]);
    assert.equal((next['meta'] as Record<string, unknown>)['versionId'], undefined);
  });

  it('corrects part of a name or an address and keeps the rest; a phone replaces phones only', () => {
    const current = { resourceType: 'Patient', name: [{ family: 'Müller', given: ['Anna'] }, { use: 'maiden', family: 'Klein' }], telecom: [{ system: 'phone', value: '1' }, { system: 'email', value: 'a@b.example' }], address: [{ line: ['Hauptstr. 1'], city: 'Bonn' }] };
    const next = rectified(current, changesFromForm({ family: 'Schmidt', phone: '2', city: 'Köln' }));
    assert.deepEqual(next['name'], [{ family: 'Schmidt', given: ['Anna'], use: 'official' }, { use: 'maiden', family: 'Klein' }]);
    assert.deepEqual(next['telecom'], [{ system: 'email', value: 'a@b.example' }, { system: 'phone', value: '2' }]);
    assert.deepEqual(next['address'], [{ line: ['Hauptstr. 1'], city: 'Köln' }]);
  });

  it('shows elements as one line', () => {
    assert.equal(elementText([{ family: 'Schmidt', given: ['Anna'] }]), 'Anna Schmidt');
    assert.equal(elementText([{ system: 'phone', value: '+49 1' }]), 'phone: +49 1');
    assert.equal(elementText([{ line: ['Hauptstr. 1'], postalCode: '50667', city: 'Köln' }]), 'Hauptstr. 1, 50667, Köln');
    assert.equal(elementText(undefined), '—');
  });
});
