/**
 * Synthetic patients for the incident drill: made-up people, never anyone's data. Mail at
 * `example.org` and streets that do not exist (RFC 2606 reserves the domain: nothing sent there
 * reaches a person); homes spread over US states and German Länder, so the residency count per
 * jurisdiction (HIPAA 45 CFR 164.406 counts residents per State) has something to count.
 */

/** Where the synthetic people live: jurisdiction, city, postal code, notice language. */
export const drillPlaces = [
  { country: 'US', state: 'CA', city: 'Sacramento', postalCode: '95814', language: 'en' },
  { country: 'US', state: 'TX', city: 'Austin', postalCode: '78701', language: 'en' },
  { country: 'US', state: 'NY', city: 'Albany', postalCode: '12207', language: 'en' },
  { country: 'DE', state: 'BY', city: 'München', postalCode: '80331', language: 'de' },
  { country: 'DE', state: 'NW', city: 'Köln', postalCode: '50667', language: 'de' },
  { country: 'DE', state: 'BE', city: 'Berlin', postalCode: '10115', language: 'de' },
] as const;

const given = ['Alex', 'Sam', 'Robin', 'Kim', 'Jo', 'Charlie', 'Maxi', 'Toni', 'Luca', 'Noa'] as const;
const family = ['Beispiel', 'Muster', 'Probe', 'Sample', 'Testfall', 'Example', 'Drill', 'Placeholder'] as const;

/** What a synthetic Patient says about the person, for checking the resolved people against it. */
export interface SyntheticPerson {
  /** The `urn:tresor:drill` identifier: finds the created record again. */
  readonly key: string;
  readonly name: string;
  readonly email: string;
  readonly country: string;
  readonly state: string;
  readonly language: 'de' | 'en';
}

/** The n-th synthetic person of a drill (`label` keeps two drills' people apart). */
export function syntheticPerson(label: string, n: number): SyntheticPerson {
  const place = drillPlaces[n % drillPlaces.length] as (typeof drillPlaces)[number];
  const first = given[n % given.length] as string;
  const last = `${family[Math.floor(n / given.length) % family.length] as string}-${n}`;
  return { key: `${label}-${n}`, name: `${first} ${last}`, email: `${first.toLowerCase()}.${last.toLowerCase()}@example.org`, country: place.country, state: place.state, language: place.language };
}

/** The person as a FHIR Patient resource (name, home address, mail, preferred language). */
export function syntheticPatient(person: SyntheticPerson): Record<string, unknown> {
  const place = drillPlaces.find((p) => p.country === person.country && p.state === person.state) ?? drillPlaces[0];
  const [first, last] = person.name.split(' ') as [string, string];
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:tresor:drill', value: person.key }],
    name: [{ use: 'official', given: [first], family: last }],
    telecom: [{ system: 'email', value: person.email, use: 'home' }],
    address: [{ use: 'home', line: [`${Number(person.key.split('-').at(-1)) + 1} Nowhere Lane`], city: place.city, postalCode: place.postalCode, state: place.state, country: place.country }],
    communication: [{ preferred: true, language: { coding: [{ system: 'urn:ietf:bcp:47', code: person.language }] } }],
    birthDate: '1970-01-01',
  };
}
