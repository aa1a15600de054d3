import assert from 'node:assert/strict';
import { observation, patient } from '../../support/harness.js';
import type { OAuthTestApp } from '../../support/oauth.js';
import { as, signInWithTotp, type Person } from '../../support/people.js';

export type Role = 'tenant-admin' | 'clinician' | 'front-desk' | 'billing' | 'auditor' | 'patient';
export const roles: readonly Role[] = ['tenant-admin', 'clinician', 'front-desk', 'billing', 'auditor', 'patient'];

/** A clinic with a practitioner, a patient in their care with weights over time, one outside it, and its people. */
export interface Clinic {
  readonly tenantId: string;
  readonly key: string;
  readonly practitioner: string;
  readonly inCare: string;
  readonly outside: string;
  readonly people: Record<Role, Person>;
  /** A second clinician who is nobody's practitioner. */
  readonly stranger: Person;
}

export const weight = (patientId: string, at: string, kg: number) =>
  observation(patientId, {
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    effectiveDateTime: at,
    valueQuantity: { value: kg, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  });

export async function create(t: OAuthTestApp, tenantId: string, key: string, type: string, body: unknown): Promise<string> {
  const created = await t.inject({ method: 'POST', url: `/tenants/${tenantId}/fhir/${type}`, key, body });
  assert.equal(created.statusCode, 201, `setup: ${type} created: ${created.body}`);
  return (JSON.parse(created.body) as { id: string }).id;
}

export async function makeClinic(t: OAuthTestApp, tenantId: string, prefix: string, family: string): Promise<Clinic> {
  const key = await t.tenant(tenantId);
  const practitioner = await create(t, tenantId, key, 'Practitioner', { resourceType: 'Practitioner', name: [{ family: 'Heiler' }] });
  const inCare = await create(t, tenantId, key, 'Patient', patient({ name: [{ family, given: ['Erika'] }], identifier: [{ system: 'urn:mrn', value: `${prefix}-MRN-1` }], generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] }));
  const outside = await create(t, tenantId, key, 'Patient', patient({ name: [{ family: 'Fremd', given: ['Otto'] }], identifier: [{ system: 'urn:mrn', value: `${prefix}-MRN-2` }] }));
  for (const [at, kg] of [['2026-01-05T09:00:00Z', 82.4], ['2026-03-02T09:00:00Z', 80.9], ['2026-06-01T09:00:00Z', 79.5]] as const) await create(t, tenantId, key, 'Observation', weight(inCare, at, kg));
  await create(t, tenantId, key, 'Observation', weight(outside, '2026-05-05T09:00:00Z', 91.2));
  await create(t, tenantId, key, 'Appointment', {
    resourceType: 'Appointment',
    status: 'booked',
    description: 'Check-up',
    start: '2026-12-10T09:00:00Z',
    end: '2026-12-10T09:30:00Z',
    participant: [{ actor: { reference: `Patient/${inCare}` }, status: 'accepted' }],
  });
  const now = () => Date.now();
  const people = {} as Record<Role, Person>;
  for (const role of roles) {
    const email = `${prefix}-${role}@example.org`;
    const links = role === 'clinician' ? { practitioner: `Practitioner/${practitioner}` } : role === 'patient' ? { patient: `Patient/${inCare}` } : {};
    people[role] = await signInWithTotp(t, tenantId, role, email, now, links);
  }
  const stranger = await signInWithTotp(t, tenantId, 'clinician', `${prefix}-stranger@example.org`, now);
  return { tenantId, key, practitioner, inCare, outside, people, stranger };
}


/** A page's form POST as the person (urlencoded, with the session's CSRF token in the form). */
export function postForm(t: OAuthTestApp, who: Person, url: string, fields: Record<string, string>, csrf = who.csrf) {
  return t.inject({ method: 'POST', url, headers: { cookie: who.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, ...fields }).toString() });
}

export const get = (t: OAuthTestApp, who: Person, url: string) => as(t, who, { method: 'GET', url });
