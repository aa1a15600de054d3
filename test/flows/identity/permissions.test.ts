import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { grantOf, keyRoles, matrixMarkdown, mayDo, personRoles, recordActions, roles, type RecordAction, type Role } from '../../../src/identity/index.js';
import { classify, resourceTypes, supportedTypes } from '../../../src/records/index.js';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, type Person } from '../../support/people.js';

/**
 * The permission matrix is the truth (OWASP ASVS 5 V8.1.1, V8.1.2: documented; V8.2.1–3:
 * enforced at function, data and field level). The role × record type × action checks below
 * are generated from it, for people (sessions) and for API keys alike.
 */

/**
 * The sensitive cells, written out by hand from the roles' promises (the role descriptions in
 * docs/permissions.md), not derived from `matrix`: a change to the matrix that hands a role
 * patient records, health values and notes, payment data, the audit trail, people or apps fails
 * here even though the generated checks would follow it. Reading covers search and history.
 */
type Cell = 'Patient.read' | 'Patient.delete' | 'Observation.read' | 'Observation.create' | 'Observation.update' | 'Observation.delete' | 'Invoice.read' | 'Invoice.create' | 'Invoice.update' | 'Invoice.delete';
type Expected = Record<Cell, boolean> & { readonly seesHealth: boolean; readonly seesPayment: boolean; readonly audit: boolean; readonly review: boolean; readonly accounts: boolean; readonly apps: boolean; readonly alerts: boolean; readonly incidents: boolean };
const no = { 'Patient.read': false, 'Patient.delete': false, 'Observation.read': false, 'Observation.create': false, 'Observation.update': false, 'Observation.delete': false, 'Invoice.read': false, 'Invoice.create': false, 'Invoice.update': false, 'Invoice.delete': false, seesHealth: false, seesPayment: false, audit: false, review: false, accounts: false, apps: false, alerts: false, incidents: false } as const satisfies Expected;
const expected: Record<Role, Expected> = {
  'tenant-admin': { ...no, accounts: true, apps: true, alerts: true, incidents: true },
  clinician: { ...no, 'Patient.read': true, 'Patient.delete': true, 'Observation.read': true, 'Observation.create': true, 'Observation.update': true, 'Observation.delete': true, seesHealth: true },
  'front-desk': { ...no, 'Patient.read': true },
  billing: { ...no, 'Invoice.read': true, 'Invoice.create': true, 'Invoice.update': true, 'Invoice.delete': true, seesPayment: true },
  auditor: { ...no, audit: true, review: true, alerts: true, incidents: true },
  patient: { ...no, 'Patient.read': true, 'Observation.read': true, 'Observation.create': true, 'Invoice.read': true, seesHealth: true, seesPayment: true },
  service: { ...no, 'Patient.read': true, 'Patient.delete': true, 'Observation.read': true, 'Observation.create': true, 'Observation.update': true, 'Observation.delete': true, 'Invoice.read': true, 'Invoice.create': true, 'Invoice.update': true, 'Invoice.delete': true, seesHealth: true, seesPayment: true },
  'service-reader': { ...no, 'Patient.read': true, 'Observation.read': true, 'Invoice.read': true, seesHealth: true, seesPayment: true },
};
const handCell = (role: Role, type: string, action: RecordAction): boolean | undefined => {
  const cell = `${type}.${action === 'search' || action === 'history' ? 'read' : action}`;
  return cell in expected[role] ? expected[role][cell as Cell] : undefined;
};

type Caller = { readonly role: Role; readonly how: 'session' | 'API key'; readonly call: (method: string, url: string, body?: unknown, headers?: Record<string, string>) => Promise<LightMyRequestResponse> };

const base = '/tenants/clinic/fhir';

describe('the permission matrix, as documented (OWASP ASVS 5 V8.1.1, V8.1.2)', () => {
  it('V8.1.1: docs/permissions.md is the matrix that is enforced (generated from it)', () => {
    const doc = readFileSync(new URL('../../../docs/permissions.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(matrixMarkdown()), 'docs/permissions.md must contain the output of `tresor roles` verbatim');
  });

  it('V8.2.3: no role may search a type by a parameter that reads a class it cannot see', () => {
    for (const role of roles) {
      for (const definition of resourceTypes) {
        if (!mayDo(role, definition.type, 'search')) continue;
        const readable = new Set(grantOf(role, definition.type)?.read);
        for (const param of definition.searchParams) {
          const element = param.expression.split('.')[1] as string;
          const dataClass = classify(definition.type, element) === 'health' && classify(definition.type, `${element}X`) !== 'health' ? classify(definition.type, `${element}X`) : classify(definition.type, element);
          assert.ok(readable.has(dataClass), `${role} searches ${definition.type} by ${param.name} (${dataClass})`);
        }
      }
    }
  });

  it('V8.2.1: every role that writes a type may write its internal elements, and sees what it writes', () => {
    for (const role of roles) {
      for (const type of supportedTypes) {
        const grant = grantOf(role, type);
        if (grant === undefined || grant.write.length === 0) continue;
        assert.ok(grant.write.includes('internal'), `${role} ${type}`);
        for (const c of grant.write) assert.ok(grant.read.includes(c), `${role} writes ${c} of ${type} without seeing it`);
      }
    }
  });
});

for (const engine of engines()) {
  describe(`the permission matrix, enforced (OWASP ASVS 5 V8.2, V8.3) [${engine}]`, () => {
    let t: TestApp;
    let service: string;
    const callers: Caller[] = [];
    const ids: Record<string, string> = {};
    const people: Partial<Record<Role, Person>> = {};

    const create = async (type: string, body: Record<string, unknown>): Promise<string> => {
      const response = await t.inject({ method: 'POST', url: `${base}/${type}`, key: service, body });
      assert.equal(response.statusCode, 201, response.body);
      return json(response)['id'];
    };

    // One of each type, about the patient in the clinician's care (X) and whose account is the patient's.
    const fixture = (type: string): Record<string, unknown> => {
      const X = { reference: `Patient/${ids['Patient']}` };
      const P1 = { reference: `Practitioner/${ids['Practitioner']}` };
      switch (type) {
        case 'Practitioner':
          return { resourceType: 'Practitioner', name: [{ family: 'Berg', given: ['Jana'] }] };
        case 'Patient':
          return patient({ generalPractitioner: [P1], deceasedBoolean: false });
        case 'Observation':
          return { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: X, valueQuantity: { value: 72, unit: '/min' } };
        case 'Appointment':
          return { resourceType: 'Appointment', status: 'booked', description: 'Follow-up: blood pressure', participant: [{ actor: X, status: 'accepted' }, { actor: P1, status: 'accepted' }] };
        case 'Consent':
          return {
            resourceType: 'Consent',
            status: 'active',
            scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
            category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
            patient: X,
          };
        case 'Invoice':
          return { resourceType: 'Invoice', status: 'issued', subject: X, date: '2026-01-02', totalGross: { value: 120, currency: 'EUR' }, note: [{ text: 'knee' }] };
        default:
          throw new Error(type);
      }
    };

    /** What a client of this role would send: only the classes it may write. */
    const writable = (role: Role, type: string, body: Record<string, unknown>) => {
      const grant = grantOf(role, type);
      if (grant === undefined) return body;
      return Object.fromEntries(Object.entries(body).filter(([k]) => (grant.write as string[]).includes(classify(type, k))));
    };

    before(async () => {
      t = await startTestApp(engine);
      service = await t.tenant('clinic');
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      ids['Practitioner'] = await create('Practitioner', fixture('Practitioner'));
      ids['Patient'] = await create('Patient', fixture('Patient'));
      for (const type of ['Observation', 'Appointment', 'Consent', 'Invoice']) ids[type] = await create(type, fixture(type));
      for (const role of personRoles) {
        const links = role === 'patient' ? { patient: `Patient/${ids['Patient']}` } : role === 'clinician' ? { practitioner: `Practitioner/${ids['Practitioner']}` } : {};
        const person = await signIn(t, 'clinic', role, `${role}@clinic.example`, links);
        people[role] = person;
        callers.push({ role, how: 'session', call: (method, url, body, headers) => as(t, person, { method, url, ...(body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) }) });
      }
      for (const role of keyRoles) {
        const key = await t.key('clinic', role);
        callers.push({ role, how: 'API key', call: (method, url, body, headers) => t.inject({ method, url, key, ...(body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) }) });
      }
    });
    after(() => t.close());

    const request = async (caller: Caller, type: string, action: RecordAction): Promise<LightMyRequestResponse> => {
      const id = ids[type] as string;
      switch (action) {
        case 'read':
          return caller.call('GET', `${base}/${type}/${id}`);
        case 'search':
          return caller.call('GET', `${base}/${type}?_count=5`);
        case 'history':
          return caller.call('GET', `${base}/${type}/${id}/_history`);
        case 'create':
          return caller.call('POST', `${base}/${type}`, writable(caller.role, type, fixture(type)));
        case 'update': {
          // The body a client of this role has: what it reads (or, if it cannot read, the whole).
          const mine = await caller.call('GET', `${base}/${type}/${id}`);
          const current = mine.statusCode === 200 ? json(mine) : json(await t.inject({ method: 'GET', url: `${base}/${type}/${id}`, key: service }));
          return caller.call('PUT', `${base}/${type}/${id}`, current);
        }
        case 'delete': {
          const fresh = await create(type, fixture(type));
          return caller.call('DELETE', `${base}/${type}/${fresh}`);
        }
      }
    };

    /** Every resource returned carries only the classes the role may read (field level). */
    const assertRedacted = (role: Role, type: string, response: LightMyRequestResponse) => {
      const body = json(response);
      const resources = body['resourceType'] === 'Bundle' ? (body['entry'] ?? []).map((e: { resource?: unknown }) => e.resource).filter(Boolean) : [body];
      const readable = new Set(grantOf(role, type)?.read);
      for (const resource of resources) {
        for (const key of Object.keys(resource)) assert.ok(readable.has(classify(type, key)), `${role} was shown ${type}.${key} (${classify(type, key)})`);
      }
    };

    for (const role of roles) {
      for (const how of ['session', 'API key'] as const) {
        if (how === 'session' ? !(personRoles as readonly string[]).includes(role) : !(keyRoles as readonly string[]).includes(role)) continue;
        it(`V8.2.1, V8.2.3: ${role} (${how}) — every record type × action, the audit trail and account administration as the matrix says, and only the classes it may see`, async () => {
          const caller = callers.find((c) => c.role === role && c.how === how) as Caller;
          for (const type of supportedTypes) {
            for (const action of recordActions) {
              const response = await request(caller, type, action);
              const allowed = handCell(role, type, action) ?? mayDo(role, type, action);
              if (!allowed) {
                assert.equal(response.statusCode, 403, `${role} ${action} ${type}: ${response.body}`);
                continue;
              }
              assert.ok(response.statusCode >= 200 && response.statusCode < 300, `${role} ${action} ${type}: ${response.statusCode} ${response.body}`);
              if (response.statusCode !== 204) assertRedacted(role, type, response);
              if (action === 'read' && type === 'Observation') assert.equal('valueQuantity' in json(response), expected[role].seesHealth, `${role} sees an Observation's value`);
              if (action === 'read' && type === 'Invoice') assert.equal('totalGross' in json(response), expected[role].seesPayment, `${role} sees an Invoice's amount`);
            }
          }
          // Beyond records: the audit trail and the review of emergency access.
          const trail = await caller.call('GET', '/tenants/clinic/audit?limit=1');
          assert.equal(trail.statusCode, expected[role].audit ? 200 : 403, `${role} audit`);
          const fhirTrail = await caller.call('GET', `${base}/AuditEvent?_count=1`);
          assert.equal(fhirTrail.statusCode, expected[role].audit ? 200 : 403, `${role} AuditEvent`);
          const review = await caller.call('GET', '/tenants/clinic/audit/emergency-access');
          assert.equal(review.statusCode, expected[role].review ? 200 : 403, `${role} emergency review`);
          // People and settings: only with accounts:manage.
          const manages = expected[role].accounts;
          assert.equal((await caller.call('GET', '/tenants/clinic/accounts')).statusCode, manages ? 200 : 403, `${role} accounts`);
          assert.equal((await caller.call('GET', '/tenants/clinic/settings/mfa')).statusCode, manages ? 200 : 403, `${role} settings`);
          // Third-party apps: only with apps:manage.
          assert.equal((await caller.call('GET', '/tenants/clinic/apps')).statusCode, expected[role].apps ? 200 : 403, `${role} apps`);
          // Alerts: only with alerts:read.
          assert.equal((await caller.call('GET', '/tenants/clinic/alerts')).statusCode, expected[role].alerts ? 200 : 403, `${role} alerts`);
          // Incidents: only with incidents:read.
          assert.equal((await caller.call('GET', '/tenants/clinic/incidents')).statusCode, expected[role].incidents ? 200 : 403, `${role} incidents`);
        });
      }
    }

    it('V8.2.3: the front desk reads a Patient without its health elements (tagged REDACTED), and a change keeps them', async () => {
      const frontDesk = people['front-desk'] as Person;
      const read = await as(t, frontDesk, { method: 'GET', url: `${base}/Patient/${ids['Patient']}` });
      const shown = json(read);
      assert.equal(shown['deceasedBoolean'], undefined);
      assert.deepEqual(shown['meta']['security'], [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED', display: 'redacted' }]);
      const event = (await t.app.audit.query('clinic', { count: 1, actions: ['record.read'] }))[0];
      assert.deepEqual(event?.classes, ['internal', 'personal'], 'the audit trail records what was disclosed, not what is stored');

      const renamed = await as(t, frontDesk, { method: 'PUT', url: `${base}/Patient/${ids['Patient']}`, body: { ...shown, telecom: [{ system: 'phone', value: '+49 30 1234567' }] } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(json(renamed)['deceasedBoolean'], undefined);
      const full = json(await t.inject({ method: 'GET', url: `${base}/Patient/${ids['Patient']}`, key: service }));
      assert.equal(full['deceasedBoolean'], false, 'the element the front desk could not see is kept');
      assert.equal(full['telecom'][0].value, '+49 30 1234567');
      assert.equal(full['meta']['security'], undefined, 'the REDACTED tag is never stored');

      const changed = await as(t, frontDesk, { method: 'PUT', url: `${base}/Patient/${ids['Patient']}`, body: { ...shown, deceasedBoolean: true } });
      assert.equal(changed.statusCode, 403);
      assert.match(json(changed)['issue'][0].details.text, /Patient\.deceasedBoolean \(health data\)/);
      const created = await as(t, frontDesk, { method: 'POST', url: `${base}/Appointment`, body: fixture('Appointment') });
      assert.equal(created.statusCode, 403, 'an appointment with a health description is beyond the front desk');
    });

    it('V8.2.2: a patient reaches their own compartment only — reads, searches and writes', async () => {
      const me = people['patient'] as Person;
      const other = await create('Patient', patient({ name: [{ family: 'Other' }] }));
      const theirs = await create('Observation', { ...fixture('Observation'), subject: { reference: `Patient/${other}` } });
      assert.equal((await as(t, me, { method: 'GET', url: `${base}/Observation/${ids['Observation']}` })).statusCode, 200);
      const denied = await as(t, me, { method: 'GET', url: `${base}/Observation/${theirs}` });
      assert.equal(denied.statusCode, 403);
      assert.equal(errorCode(denied), 'outside-compartment');
      assert.equal((await as(t, me, { method: 'GET', url: `${base}/Patient/${other}/_history` })).statusCode, 403);
      const found = json(await as(t, me, { method: 'GET', url: `${base}/Observation?_count=100` }));
      assert.ok(found['entry'].length >= 1);
      for (const entry of found['entry']) assert.equal(entry.resource.subject.reference, `Patient/${ids['Patient']}`);
      const patients = json(await as(t, me, { method: 'GET', url: `${base}/Patient` }));
      assert.deepEqual(patients['entry'].map((e: { resource: { id: string } }) => e.resource.id), [ids['Patient']]);
      const forOther = await as(t, me, { method: 'POST', url: `${base}/Observation`, body: { ...fixture('Observation'), subject: { reference: `Patient/${other}` } } });
      assert.equal(forOther.statusCode, 403, 'no writing into another patient’s record');
      const deniedBefore = (await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'], actor: `account:${me.accountId}` })).length;
      const bundle = await as(t, me, {
        method: 'POST',
        url: base,
        body: {
          resourceType: 'Bundle',
          type: 'batch',
          entry: [
            { request: { method: 'GET', url: `Observation/${theirs}` } },
            { request: { method: 'GET', url: 'Observation' } },
            { resource: { ...fixture('Observation'), subject: { reference: `Patient/${other}` } }, request: { method: 'POST', url: 'Observation' } },
          ],
        },
      });
      const entries = json(bundle)['entry'];
      assert.equal(entries[0].response.status, '403');
      for (const e of entries[1].resource.entry) assert.equal(e.resource.subject.reference, `Patient/${ids['Patient']}`);
      assert.equal(entries[2].response.status, '403');
      const deniedAfter = (await t.app.audit.query('clinic', { count: 100, actions: ['access.denied'], actor: `account:${me.accountId}` })).length;
      assert.equal(deniedAfter - deniedBefore, 2, 'each refused entry is an access.denied event');
      const denials = await t.app.audit.query('clinic', { count: 5, actions: ['access.denied'], actor: `account:${me.accountId}` });
      assert.ok(denials.length >= 2, 'refusals are audit events');
    });

    it('V8.2.2: a clinician reaches the patients in their care (generalPractitioner or an appointment) and no others', async () => {
      const dr = people['clinician'] as Person;
      const stranger = await create('Patient', patient({ name: [{ family: 'Fremd' }] }));
      const strangersObservation = await create('Observation', { ...fixture('Observation'), subject: { reference: `Patient/${stranger}` } });
      const denied = await as(t, dr, { method: 'GET', url: `${base}/Observation/${strangersObservation}` });
      assert.equal(denied.statusCode, 403);
      assert.equal(errorCode(denied), 'not-in-care');
      assert.match(json(denied)['issue'][0].details.text, /X-Break-Glass-Reason/);
      const ids1 = (await as(t, dr, { method: 'GET', url: `${base}/Patient?_count=100` }).then(json))['entry'].map((e: { resource: { id: string } }) => e.resource.id);
      assert.ok(ids1.includes(ids['Patient']) && !ids1.includes(stranger));
      assert.equal((await as(t, dr, { method: 'POST', url: `${base}/Observation`, body: { ...fixture('Observation'), subject: { reference: `Patient/${stranger}` } } })).statusCode, 403);

      // The front desk books the stranger with this clinician: now in care.
      const frontDesk = people['front-desk'] as Person;
      const booked = await as(t, frontDesk, {
        method: 'POST',
        url: `${base}/Appointment`,
        body: { resourceType: 'Appointment', status: 'booked', participant: [{ actor: { reference: `Patient/${stranger}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${ids['Practitioner']}` }, status: 'accepted' }] },
      });
      assert.equal(booked.statusCode, 201, booked.body);
      assert.equal((await as(t, dr, { method: 'GET', url: `${base}/Observation/${strangersObservation}` })).statusCode, 200);
      const ids2 = (await as(t, dr, { method: 'GET', url: `${base}/Observation?_count=100` }).then(json))['entry'].map((e: { resource: { id: string } }) => e.resource.id);
      assert.ok(ids2.includes(strangersObservation));
    });

    it('break-the-glass: a clinician opens a record outside their care only with a reason; each grant is its own audit event, listed for review', async () => {
      const dr = people['clinician'] as Person;
      const unconscious = await create('Patient', patient({ name: [{ family: 'Notfall' }] }));
      const vitals = await create('Observation', { ...fixture('Observation'), subject: { reference: `Patient/${unconscious}` } });
      const reason = 'Unconscious in the emergency room; need prior vitals';
      assert.equal((await as(t, dr, { method: 'GET', url: `${base}/Observation/${vitals}` })).statusCode, 403);
      const short = await as(t, dr, { method: 'GET', url: `${base}/Observation/${vitals}`, headers: { 'x-break-glass-reason': 'because' } });
      assert.equal(short.statusCode, 400);
      assert.equal(errorCode(short), 'break-glass-invalid');
      const opened = await as(t, dr, { method: 'GET', url: `${base}/Observation/${vitals}`, headers: { 'x-break-glass-reason': reason } });
      assert.equal(opened.statusCode, 200, opened.body);
      const searched = await as(t, dr, { method: 'GET', url: `${base}/Observation?patient=${unconscious}`, headers: { 'x-break-glass-reason': reason } });
      assert.equal(json(searched)['entry'].length, 1);
      // Not for roles without the capability.
      const frontDesk = await as(t, people['front-desk'] as Person, { method: 'GET', url: `${base}/Patient/${unconscious}`, headers: { 'x-break-glass-reason': reason } });
      assert.equal(frontDesk.statusCode, 403);

      const grants = await t.app.audit.query('clinic', { count: 10, actions: ['access.emergency_granted'] });
      assert.equal(grants.length, 2, 'the read and the search');
      for (const grant of grants) {
        assert.equal(grant.detail, reason);
        assert.equal(grant.purpose, 'ETREAT');
        assert.deepEqual(grant.subjects, [`Patient/${unconscious}`]);
        assert.equal(grant.actor.id, `account:${dr.accountId}`);
      }
      const read = (await t.app.audit.query('clinic', { count: 1, actions: ['record.read'], actor: `account:${dr.accountId}` }))[0];
      assert.equal(read?.purpose, 'ETREAT', 'the access itself says emergency treatment');
      // The auditor reviews them; the clinician cannot.
      const auditor = people['auditor'] as Person;
      const review = json(await as(t, auditor, { method: 'GET', url: '/tenants/clinic/audit/emergency-access' }));
      assert.deepEqual(review['events'].map((e: { action: string; detail: string }) => [e.action, e.detail]), [['access.emergency_granted', reason], ['access.emergency_granted', reason]]);
      assert.equal((await as(t, dr, { method: 'GET', url: '/tenants/clinic/audit/emergency-access' })).statusCode, 403);
    });

    it('V3.5.1 (CSRF): a session’s change without its X-CSRF-Token is refused, and so is another session’s token', async () => {
      const dr = people['clinician'] as Person;
      const body = fixture('Observation');
      const bare = await t.inject({ method: 'POST', url: `${base}/Observation`, body, headers: { cookie: dr.cookie } });
      assert.equal(bare.statusCode, 403);
      assert.equal(errorCode(bare), 'csrf-invalid');
      const crossed = await t.inject({ method: 'POST', url: `${base}/Observation`, body, headers: { cookie: dr.cookie, 'x-csrf-token': (people['patient'] as Person).csrf } });
      assert.equal(errorCode(crossed), 'csrf-invalid');
      assert.equal((await t.inject({ method: 'GET', url: `${base}/Observation/${ids['Observation']}`, headers: { cookie: dr.cookie } })).statusCode, 200, 'reads need no CSRF token');
    });

    it('V6.3.3, V8.3.2: under the tenant policy "staff", a staff session without a second factor reaches nothing until one is enrolled; patients are not asked', async () => {
      await t.app.tenants.setMfaPolicy('clinic', 'staff');
      try {
        const dr = await as(t, people['clinician'] as Person, { method: 'GET', url: `${base}/Observation/${ids['Observation']}` });
        assert.equal(dr.statusCode, 403);
        assert.equal(errorCode(dr), 'second-factor-required');
        assert.equal((await as(t, people['patient'] as Person, { method: 'GET', url: `${base}/Observation/${ids['Observation']}` })).statusCode, 200);
        await t.app.tenants.setMfaPolicy('clinic', 'everyone');
        assert.equal((await as(t, people['patient'] as Person, { method: 'GET', url: `${base}/Observation/${ids['Observation']}` })).statusCode, 403);
      } finally {
        await t.app.tenants.setMfaPolicy('clinic', 'optional');
      }
    });

    it('V8.4.1: a session of one tenant is nothing at another', async () => {
      await t.app.tenants.create('other-clinic');
      await t.app.tenants.setMfaPolicy('other-clinic', 'optional');
      const response = await as(t, people['clinician'] as Person, { method: 'GET', url: `/tenants/other-clinic/fhir/Patient` });
      assert.equal(response.statusCode, 401);
    });
  });
}
