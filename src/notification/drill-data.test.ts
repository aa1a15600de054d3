import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drillPlaces, syntheticPatient, syntheticPerson } from './drill-data.js';
import { contactOf, residencyOf } from './people.js';

describe('synthetic drill people', () => {
  it('are addressed at a reserved domain, spread over every place, and read back as made', () => {
    const people = Array.from({ length: 60 }, (_, n) => syntheticPerson('drill-x', n));
    assert.equal(new Set(people.map((p) => p.key)).size, 60);
    assert.equal(new Set(people.map((p) => p.email)).size, 60, 'one address each');
    assert.ok(people.every((p) => p.email.endsWith('@example.org')), 'RFC 2606: nothing sent there reaches anyone');
    const residency = residencyOf(people);
    assert.deepEqual(Object.keys(residency.byJurisdiction).sort(), drillPlaces.map((p) => `${p.country}/${p.state}`).sort());
    assert.ok(Object.values(residency.byJurisdiction).every((n) => n === 10));
    for (const person of people.slice(0, 12)) {
      const contact = contactOf(syntheticPatient(person) as never, 'en');
      assert.equal(contact.name, person.name);
      assert.equal(contact.email, person.email);
      assert.equal(contact.state, person.state);
      assert.equal(contact.country, person.country);
      assert.equal(contact.language, person.language);
      assert.ok(contact.postal !== null && contact.postal.length === 3);
    }
  });
});
