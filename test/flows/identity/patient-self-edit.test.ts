import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, errorCode, json, patient, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signIn, type Person } from '../../support/people.js';

/**
 * A patient edits their own contact details (telecom, address, communication) and nothing else
 * of their Patient (OWASP ASVS 5 V8.2.3, field level): identity, care relationships, the
 * record's status and its security labels are the clinic's to change. Elements the patient
 * leaves out that they may not change are kept as stored.
 */

const base = '/tenants/clinic/fhir';
const mrn = (value: string) => [{ system: 'urn:oid:1.2.276.0.76.4.8', value }];

for (const engine of engines()) {
  describe(`a patient's own Patient: contact details only [${engine}]`, () => {
    let t: TestApp;
    let service: string;
    let me: Person;
    let dr: Person;
    let mine: string;
    let practitioner: string;

    const stored = async () => json(await t.inject({ method: 'GET', url: `${base}/Patient/${mine}`, key: service }));
    const put = (body: unknown) => as(t, me, { method: 'PUT', url: `${base}/Patient/${mine}`, body });
    const refusedElements = (response: Awaited<ReturnType<typeof put>>): string[] => json(response)['issue'].flatMap((i: { expression?: string[] }) => i.expression ?? []).sort();

    before(async () => {
      t = await startTestApp(engine);
      service = await t.tenant('clinic');
      await t.app.tenants.setMfaPolicy('clinic', 'optional');
      practitioner = json(await t.inject({ method: 'POST', url: `${base}/Practitioner`, key: service, body: { resourceType: 'Practitioner', name: [{ family: 'Berg' }] } }))['id'];
      mine = json(await t.inject({ method: 'POST', url: `${base}/Patient`, key: service, body: patient({ identifier: mrn('MRN-1'), generalPractitioner: [{ reference: `Practitioner/${practitioner}` }], active: true }) }))['id'];
      await t.inject({ method: 'POST', url: `${base}/Patient`, key: service, body: patient({ identifier: mrn('MRN-2'), name: [{ family: 'Other' }] }) });
      me = await signIn(t, 'clinic', 'patient', 'anna@example.org', { patient: `Patient/${mine}` });
      dr = await signIn(t, 'clinic', 'clinician', 'dr@clinic.example', { practitioner: `Practitioner/${practitioner}` });
    });
    after(() => t.close());

    it('changes telecom, address and communication, and the rest stays as it was', async () => {
      const current = json(await as(t, me, { method: 'GET', url: `${base}/Patient/${mine}` }));
      const changed = {
        ...current,
        telecom: [{ system: 'phone', value: '+49 30 7654321' }],
        address: [{ line: ['Hauptstr. 1'], city: 'Berlin' }],
        communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'de' }] }, preferred: true }],
      };
      const response = await put(changed);
      assert.equal(response.statusCode, 200, response.body);
      const after = await stored();
      assert.equal(after['telecom'][0].value, '+49 30 7654321');
      assert.equal(after['address'][0].city, 'Berlin');
      assert.deepEqual(after['identifier'], mrn('MRN-1'));
    });

    it('refuses identity, care, status, link and security-label changes with 403, naming every element', async () => {
      const current = json(await as(t, me, { method: 'GET', url: `${base}/Patient/${mine}` }));
      const cases: Array<[string, Record<string, unknown>, string[]]> = [
        ['another patient’s MRN', { identifier: mrn('MRN-2') }, ['Patient.identifier']],
        ['no general practitioner', { generalPractitioner: [] }, ['Patient.generalPractitioner']],
        ['inactive', { active: false }, ['Patient.active']],
        ['linked', { link: [{ other: { reference: `Patient/${mine}` }, type: 'seealso' }] }, ['Patient.link']],
        ['relabelled', { meta: { ...current['meta'], security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'N' }] } }, ['Patient.meta']],
        ['several at once', { name: [{ family: 'Someone' }], birthDate: '1999-09-09', telecom: [] }, ['Patient.birthDate', 'Patient.name']],
      ];
      for (const [what, change, elements] of cases) {
        const response = await put({ ...current, ...change });
        assert.equal(response.statusCode, 403, `${what}: ${response.body}`);
        assert.equal(errorCode(response), 'forbidden', what);
        assert.deepEqual(refusedElements(response), elements, what);
      }
      const after = await stored();
      assert.deepEqual(after['identifier'], mrn('MRN-1'));
      assert.equal(after['active'], true);
      assert.equal(after['generalPractitioner'][0].reference, `Practitioner/${practitioner}`);
      assert.equal(after['meta']['security'], undefined);
    });

    it('keeps what the patient leaves out and may not change; their clinician keeps access', async () => {
      const response = await put({ resourceType: 'Patient', id: mine, telecom: [{ system: 'email', value: 'anna@example.org' }] });
      assert.equal(response.statusCode, 200, response.body);
      const after = await stored();
      assert.deepEqual(after['identifier'], mrn('MRN-1'));
      assert.deepEqual(after['name'], patient()['name']);
      assert.equal(after['active'], true);
      assert.equal(after['generalPractitioner'][0].reference, `Practitioner/${practitioner}`);
      assert.deepEqual(after['telecom'], [{ system: 'email', value: 'anna@example.org' }]);
      assert.equal((await as(t, dr, { method: 'GET', url: `${base}/Patient/${mine}` })).statusCode, 200);
    });

    it('the same rule holds for PUT entries of a transaction or batch', async () => {
      const current = json(await as(t, me, { method: 'GET', url: `${base}/Patient/${mine}` }));
      for (const type of ['transaction', 'batch']) {
        const response = await as(t, me, {
          method: 'POST',
          url: base,
          body: { resourceType: 'Bundle', type, entry: [{ resource: { ...current, identifier: mrn('MRN-2'), generalPractitioner: [] }, request: { method: 'PUT', url: `Patient/${mine}` } }] },
        });
        const status = type === 'transaction' ? String(response.statusCode) : json(response)['entry'][0].response.status;
        assert.equal(status, '403', `${type}: ${response.body}`);
      }
      assert.deepEqual((await stored())['identifier'], mrn('MRN-1'));
    });
  });
}
