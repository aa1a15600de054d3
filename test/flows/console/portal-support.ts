import assert from 'node:assert/strict';
import { generate } from 'otplib';
import { observation, patient } from '../../support/harness.js';
import { person, type OAuthTestApp } from '../../support/oauth.js';
import { testPassword } from '../../support/people.js';

export interface Session {
  readonly cookie: string;
  readonly csrf: string;
}

const post = (t: OAuthTestApp, tenantId: string, url: string, body: unknown, headers: Record<string, string> = {}) =>
  t.inject({ method: 'POST', url: `/tenants/${tenantId}${url}`, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

/** A session of the JSON API (the same cookie the pages read). */
export async function signIn(t: OAuthTestApp, tenantId: string, email: string): Promise<Session> {
  const login = await post(t, tenantId, '/auth/login', { email, password: testPassword });
  assert.equal(login.statusCode, 200, `setup: ${email} signs in`);
  return { cookie: String(login.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(login.body) as { csrfToken: string }).csrfToken };
}

/** A staff member with TOTP enrolled; their session has passed the second factor. Returns the session and the TOTP secret. */
export async function staffWithTotp(t: OAuthTestApp, tenantId: string, role: 'clinician' | 'auditor' | 'tenant-admin', email: string, links: { practitioner?: string } = {}): Promise<Session & { secret: string }> {
  await person(t, tenantId, role, email, links);
  const session = await signIn(t, tenantId, email);
  const headers = { cookie: session.cookie, 'x-csrf-token': session.csrf };
  const { secret } = JSON.parse((await post(t, tenantId, '/auth/totp', { password: testPassword }, headers)).body) as { secret: string };
  const confirmed = await post(t, tenantId, '/auth/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }, headers);
  assert.equal(confirmed.statusCode, 200, 'setup: TOTP confirmed');
  // The session passed both factors under a new token.
  return { cookie: String(confirmed.headers['set-cookie']).split(';')[0] as string, csrf: (JSON.parse(confirmed.body) as { csrfToken: string }).csrfToken, secret };
}

export interface PortalWorld {
  readonly key: string;
  readonly practitioner: string;
  readonly alice: string;
  readonly bob: string;
  readonly clinician: Session;
  readonly auditor: Session;
}

/** Weights over the last months (kg), newest last. */
export const weights = [
  { daysAgo: 400, kg: 81.4 },
  { daysAgo: 90, kg: 80.2 },
  { daysAgo: 20, kg: 79.1 },
  { daysAgo: 3, kg: 78.6 },
] as const;

export const weightObservation = (patientId: string, at: Date, kg: number) =>
  observation(patientId, {
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }], text: 'Body weight' },
    effectiveDateTime: at.toISOString(),
    valueQuantity: { value: kg, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  });

/**
 * A clinic with a clinician (Dr. Erika Mustermann, Alice's general practitioner), an auditor,
 * two patients with accounts — Alice with weights, an appointment and a consent; Bob with a
 * heart rate — and the clinician's read of Alice's weight over the API.
 */
export async function portalWorld(t: OAuthTestApp, tenantId = 'clinic'): Promise<PortalWorld> {
  const key = await t.tenant(tenantId);
  const create = async (type: string, body: unknown) => {
    const created = await t.inject({ method: 'POST', url: `/tenants/${tenantId}/fhir/${type}`, key, body });
    assert.equal(created.statusCode, 201, `setup: ${type} created: ${created.body}`);
    return (JSON.parse(created.body) as { id: string }).id;
  };
  const practitioner = await create('Practitioner', { resourceType: 'Practitioner', name: [{ prefix: ['Dr.'], given: ['Erika'], family: 'Mustermann' }] });
  const alice = await create('Patient', patient({ name: [{ family: 'Schmidt', given: ['Alice'] }], generalPractitioner: [{ reference: `Practitioner/${practitioner}` }] }));
  const bob = await create('Patient', patient({ name: [{ family: 'Becker', given: ['Bob'] }], identifier: [{ system: 'urn:oid:1.2.276.0.76.4.8', value: 'B987654321' }] }));
  const now = Date.now();
  const weightIds: string[] = [];
  for (const w of weights) weightIds.push(await create('Observation', weightObservation(alice, new Date(now - w.daysAgo * 86_400_000), w.kg)));
  await create('Observation', observation(bob, { effectiveDateTime: new Date(now - 86_400_000).toISOString(), valueQuantity: { value: 64, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' } }));
  await create('Appointment', {
    resourceType: 'Appointment',
    status: 'booked',
    description: 'Check-up',
    start: new Date(now + 7 * 86_400_000).toISOString(),
    end: new Date(now + 7 * 86_400_000 + 1_800_000).toISOString(),
    participant: [{ actor: { reference: `Patient/${alice}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${practitioner}` }, status: 'accepted' }],
  });
  await create('Consent', {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }], text: 'Privacy consent' },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }], text: 'Share my weight with my GP' }],
    patient: { reference: `Patient/${alice}` },
    dateTime: new Date(now - 30 * 86_400_000).toISOString(),
  });
  await person(t, tenantId, 'patient', 'alice@example.org', { patient: `Patient/${alice}` });
  await person(t, tenantId, 'patient', 'bob@example.org', { patient: `Patient/${bob}` });
  const clinician = await staffWithTotp(t, tenantId, 'clinician', 'erika@example.org', { practitioner: `Practitioner/${practitioner}` });
  const auditor = await staffWithTotp(t, tenantId, 'auditor', 'audit@example.org');
  // The clinician reads Alice's latest weight over the API, a moment before Alice looks.
  const read = await t.inject({ method: 'GET', url: `/tenants/${tenantId}/fhir/Observation/${weightIds.at(-1)}`, headers: { cookie: clinician.cookie } });
  assert.equal(read.statusCode, 200, `setup: the clinician reads Alice's weight: ${read.body}`);
  return { key, practitioner, alice, bob, clinician, auditor };
}
