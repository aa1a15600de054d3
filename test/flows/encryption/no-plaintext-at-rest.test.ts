import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { engines, json, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * SPEC E1/E2: a database file, its WAL, or a PostgreSQL dump reveals no personal or health
 * value. Every personal and health element of every served type gets a marker through the API;
 * then the raw storage is scanned for each marker as UTF-8, UTF-16 and base64.
 */
const markers: string[] = [];
const m = (field: string) => {
  const marker = `Zq${field.replace(/[^A-Za-z]/g, '')}Mk${markers.length}x`;
  markers.push(marker);
  return marker;
};

/** A money amount that is its own marker: digits no other value of the test has. */
const amount = (): number => {
  const value = Number(`${7_310_000 + markers.length * 1_009}.${String(markers.length).padStart(2, '0')}`);
  markers.push(String(value));
  return value;
};

function resources(patientId: string) {
  const narrative = () => ({ status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${m('text')}</div>` });
  return {
    Patient: {
      resourceType: 'Patient',
      text: narrative(),
      extension: [{ url: 'http://example.org/x', valueString: m('extension') }],
      identifier: [{ system: 'urn:oid:1.2.3', value: m('identifier') }],
      name: [{ family: m('family'), given: [m('given')], text: m('nametext') }],
      telecom: [{ system: 'email', value: `${m('telecom')}@example.org` }],
      gender: 'female',
      birthDate: '1917-03-04',
      address: [{ line: [m('line')], city: m('city'), postalCode: m('postal') }],
      maritalStatus: { text: m('marital') },
      contact: [{ name: { family: m('contact') } }],
      communication: [{ language: { text: m('language') } }],
      photo: [{ title: m('photo') }],
    },
    Practitioner: {
      resourceType: 'Practitioner',
      identifier: [{ value: m('pracid') }],
      name: [{ family: m('pracname') }],
      telecom: [{ system: 'phone', value: m('pracphone') }],
      address: [{ city: m('praccity') }],
      qualification: [{ code: { text: m('qualification') } }],
    },
    Observation: {
      resourceType: 'Observation',
      text: narrative(),
      identifier: [{ value: m('obsid') }],
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: '2025-01-01T00:00:00Z',
      valueString: m('value'),
      interpretation: [{ text: m('interpretation') }],
      note: [{ text: m('note') }],
      bodySite: { text: m('bodysite') },
      method: { text: m('method') },
      referenceRange: [{ text: m('range') }],
      component: [{ code: { text: 'c' }, valueString: m('component') }],
    },
    Appointment: {
      resourceType: 'Appointment',
      identifier: [{ value: m('apptid') }],
      status: 'booked',
      description: m('description'),
      comment: m('comment'),
      patientInstruction: m('instruction'),
      reasonCode: [{ text: m('reason') }],
      start: '2026-02-01T09:00:00Z',
      end: '2026-02-01T09:30:00Z',
      participant: [{ actor: { reference: `Patient/${patientId}` }, status: 'accepted' }],
    },
    Consent: {
      resourceType: 'Consent',
      identifier: [{ value: m('consentid') }],
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${patientId}` },
      policyRule: { text: m('policy') },
      sourceAttachment: { title: m('source') },
      provision: { type: 'permit', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT', display: m('provision') }] },
    },
    // The payment class: amounts and what was charged are as sensitive as the diagnosis they imply.
    Invoice: {
      resourceType: 'Invoice',
      identifier: [{ value: m('invoiceid') }],
      status: 'issued',
      subject: { reference: `Patient/${patientId}` },
      date: '2026-01-02',
      lineItem: [{ sequence: 1, chargeItemCodeableConcept: { text: m('charge') }, priceComponent: [{ type: 'base', amount: { value: amount(), currency: 'EUR' } }] }],
      totalNet: { value: amount(), currency: 'EUR' },
      totalGross: { value: amount(), currency: 'EUR' },
      paymentTerms: m('terms'),
      note: [{ text: m('invoicenote') }],
    },
  };
}

function encodings(marker: string): Buffer[] {
  const out = [Buffer.from(marker, 'utf8'), Buffer.from(marker, 'utf16le'), Buffer.from(Buffer.from(marker, 'utf16le').swap16())];
  // base64 of the marker wherever it sits in a longer string: its middle is stable per alignment.
  for (let shift = 0; shift < 3; shift += 1) {
    const encoded = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(marker, 'utf8')]).toString('base64');
    out.push(Buffer.from(encoded.slice(4, -4)), Buffer.from(encoded.slice(4, -4).replace(/\+/g, '-').replace(/\//g, '_')));
  }
  return out;
}

function findMarkers(haystack: Buffer, extra: string[] = []): string[] {
  return [...markers, ...extra].filter((marker) => encodings(marker).some((needle) => haystack.includes(needle)));
}

for (const engine of engines()) {
  describe(`no personal or health value at rest [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    before(async () => {
      markers.length = 0;
      t = await startTestApp(engine);
      key = await t.tenant('clinic');
      const placeholder = resources('x');
      const patient = await t.inject({ method: 'POST', url: '/tenants/clinic/fhir/Patient', key, body: placeholder.Patient });
      assert.equal(patient.statusCode, 201, patient.body);
      const patientId = json(patient)['id'] as string;
      markers.length = 0;
      const all = resources(patientId);
      for (const body of Object.values(all)) {
        const created = await t.inject({ method: 'POST', url: `/tenants/clinic/fhir/${body.resourceType}`, key, body });
        assert.equal(created.statusCode, 201, `${body.resourceType}: ${created.body}`);
        // Updates write a second version, which must be sealed too.
        const id = json(created)['id'];
        const updated = await t.inject({ method: 'PUT', url: `/tenants/clinic/fhir/${body.resourceType}/${id}`, key, body: { ...body, id } });
        assert.equal(updated.statusCode, 200, updated.body);
        const read = await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/${body.resourceType}/${id}`, key });
        assert.deepEqual({ ...json<Record<string, unknown>>(read), meta: undefined, id: undefined }, { ...body, meta: undefined, id: undefined }, 'reads give back exactly what was written');
      }
      assert.ok(markers.length >= 35, `every personal and health element carries a marker (${markers.length})`);
    });
    after(() => t.close());

    it('the API still finds the patient by its encrypted fields', async () => {
      const identifier = markers.find((x) => x.includes('identifier')) as string;
      assert.equal(json(await t.inject({ method: 'GET', url: `/tenants/clinic/fhir/Patient?identifier=${identifier}&birthdate=1917-03`, key }))['total'], 2);
    });

    it('stores no element name of a sealed field: not even which fields a record has', async () => {
      const db = await t.app.storage.tenant('clinic');
      const rows = await db.query<{ content: string; sealed: string | null }>(`SELECT content, sealed FROM ${db.table('resource_versions')}`);
      assert.ok(rows.length >= 10);
      for (const row of rows) {
        for (const name of ['valueString', 'telecom', 'address', 'note', 'description', 'policyRule', 'birthDate', 'text']) {
          assert.ok(!row.content.includes(`"${name}"`) && !(row.sealed ?? '').includes(name), `${name} visible`);
        }
      }
    });

    if (engine === 'sqlite') {
      it('no marker in any SQLite file (database, -wal, -shm) of the running server', async () => {
        const scan = () => {
          const files = [join(t.dataDir, 'platform.db'), join(t.dataDir, 'keys.db'), ...readdirSync(join(t.dataDir, 'tenants')).map((f) => join(t.dataDir, 'tenants', f))];
          const all = files.flatMap((f) => [f, `${f}-wal`, `${f}-shm`]).filter((f) => existsSync(f));
          assert.ok(all.some((f) => f.endsWith('-wal')), 'the WAL is scanned while open');
          return all.map((f) => ({ file: f, found: findMarkers(readFileSync(f), ['1917-03-04']) })).filter((r) => r.found.length > 0);
        };
        assert.deepEqual(scan(), []);
        assert.ok(readdirSync(join(t.dataDir, 'tenants')).length > 0);
      });
    } else {
      it('no marker in a pg_dump of every schema of the deployment', () => {
        const pgDump = readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin', 'pg_dump')).find((p) => existsSync(p)) ?? 'pg_dump';
        // This deployment's schemas only: other test files drop theirs while they run, and a
        // schema dropped in the middle of a whole-database dump fails it.
        const dump = execFileSync(pgDump, ['--no-owner', '--schema', `${t.schemaPrefix}_*`, process.env['TRESOR_TEST_PG_URL'] as string], { maxBuffer: 256 * 1024 * 1024 });
        assert.ok(dump.includes(Buffer.from('search_index')), 'the dump holds our tables');
        assert.deepEqual(findMarkers(dump, ['1917-03-04']), []);
      });
    }

    it('the scan would see a marker stored in clear (the test can fail)', () => {
      const canary = markers[0] as string;
      assert.deepEqual(findMarkers(Buffer.from(`prefix ${Buffer.from(`ab${canary}`).toString('base64')} suffix`)), [canary]);
      assert.deepEqual(findMarkers(Buffer.from(canary, 'utf16le')), [canary]);
    });
  });
}
