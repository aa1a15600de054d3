import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contactOf, residencyOf } from './people.js';

test('a Patient record gives the official name, home mail and address, preferred language', () => {
  const contact = contactOf(
    {
      name: [{ use: 'old', given: ['Erika'], family: 'Gabler' }, { use: 'official', given: ['Erika', 'Maria'], family: 'Mustermann' }],
      telecom: [{ system: 'phone', value: '+49 30 1234' }, { system: 'email', value: 'work@example.org', use: 'work' }, { system: 'email', value: 'erika@example.org', use: 'home' }],
      address: [{ use: 'old', city: 'Bonn', country: 'DE' }, { use: 'home', line: ['Heidestraße 17'], postalCode: '51147', city: 'Köln', state: 'NW', country: 'DE' }],
      communication: [{ language: { coding: [{ code: 'en' }] } }, { preferred: true, language: { coding: [{ code: 'de-DE' }] } }],
    },
    'en',
  );
  assert.deepEqual(contact, { name: 'Erika Maria Mustermann', email: 'erika@example.org', postal: ['Heidestraße 17', '51147 Köln', 'DE'], country: 'DE', state: 'NW', language: 'de' });
});

test('a bare record leaves everything unknown and takes the fallback language', () => {
  assert.deepEqual(contactOf({ communication: [{ language: { coding: [{ code: 'fr' }] } }] }, 'de'), { name: null, email: null, postal: null, country: null, state: null, language: 'de' });
});

test('residency counts per country and state, and those without an address apart', () => {
  const residency = residencyOf([
    { country: 'US', state: 'CA' },
    { country: 'us', state: 'ca' },
    { country: 'US', state: 'NY' },
    { country: 'DE', state: null },
    { country: null, state: 'TX' },
    { country: null, state: null },
  ]);
  assert.deepEqual(residency, { byJurisdiction: { 'US/CA': 2, 'US/NY': 1, DE: 1, '?/TX': 1 }, unknown: 1 });
});
