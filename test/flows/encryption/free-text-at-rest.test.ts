import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sealResource } from '../../../src/records/sealing.js';
import { engines, errorCode, json, startTestApp, type TestApp } from '../../support/harness.js';

/**
 * Free text is health data wherever it sits: the `text` of a CodeableConcept and the `display`
 * of a Coding or Reference inside elements whose coded values stay searchable (Observation.code,
 * category, subject, Appointment.serviceType, …). None of it may be readable in the raw storage,
 * and a destroyed key must take it with the rest of the record.
 */
const markers: string[] = [];
const m = (field: string) => {
  const marker = `Fx${field.replace(/[^A-Za-z]/g, '')}Tq${markers.length}w`;
  markers.push(marker);
  return marker;
};

function resources(patientId: string, practitionerId: string) {
  return {
    Patient: {
      resourceType: 'Patient',
      name: [{ family: 'Kern' }],
      generalPractitioner: [{ reference: `Practitioner/${practitionerId}`, display: m('gpdisplay') }],
      managingOrganization: { display: m('orgdisplay') },
      meta: { tag: [{ system: 'http://example.org/tags', code: 'x', display: m('tagdisplay') }] },
    },
    Observation: {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory', display: m('catdisplay') }], text: m('cattext') }],
      code: { coding: [{ system: 'http://loinc.org', code: '5221-7', display: m('codedisplay') }], text: `HIV confirmatory western blot positive ${m('codetext')}` },
      subject: { reference: `Patient/${patientId}`, display: m('subjectdisplay') },
      performer: [{ reference: `Practitioner/${practitionerId}`, display: m('performerdisplay') }],
      effectiveDateTime: '2025-01-01T00:00:00Z',
      valueString: 'positive',
    },
    Appointment: {
      resourceType: 'Appointment',
      status: 'booked',
      serviceType: [{ text: m('servicetype') }],
      appointmentType: { text: m('appointmenttype') },
      specialty: [{ coding: [{ system: 'http://snomed.info/sct', code: '394585009', display: m('specialty') }] }],
      start: '2026-02-01T09:00:00Z',
      end: '2026-02-01T09:30:00Z',
      participant: [{ actor: { reference: `Patient/${patientId}`, display: m('actordisplay') }, type: [{ text: m('participanttype') }], status: 'accepted' }],
    },
    Consent: {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }], text: m('scopetext') },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }], text: m('consentcategory') }],
      patient: { reference: `Patient/${patientId}`, display: m('consentpatient') },
    },
    Invoice: {
      resourceType: 'Invoice',
      status: 'issued',
      type: { text: m('invoicetype') },
      subject: { reference: `Patient/${patientId}`, display: m('invoicesubject') },
      date: '2026-01-05',
    },
  };
}

function findMarkers(haystack: Buffer, among: readonly string[] = markers): string[] {
  return among.filter((marker) => haystack.includes(Buffer.from(marker, 'utf8')) || haystack.includes(Buffer.from(marker, 'utf16le')));
}

for (const engine of engines()) {
  describe(`free text in coded and reference elements is sealed [${engine}]`, () => {
    let t: TestApp;
    let key: string;
    let patientId: string;
    const ids: Record<string, string> = {};
    const base = '/tenants/clinic/fhir';

    const rawStorage = (): Buffer => {
      if (engine === 'sqlite') {
        const files = [join(t.dataDir, 'platform.db'), join(t.dataDir, 'keys.db'), ...readdirSync(join(t.dataDir, 'tenants')).map((f) => join(t.dataDir, 'tenants', f))];
        return Buffer.concat(files.flatMap((f) => [f, `${f}-wal`]).filter((f) => existsSync(f)).map((f) => readFileSync(f)));
      }
      const pgDump = readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin', 'pg_dump')).find((p) => existsSync(p)) ?? 'pg_dump';
      // This app's schemas only: other test files drop theirs while they run.
      return execFileSync(pgDump, ['--no-owner', '--schema', `${t.schemaPrefix}_*`, process.env['TRESOR_TEST_PG_URL'] as string], { maxBuffer: 256 * 1024 * 1024 });
    };

    before(async () => {
      markers.length = 0;
      t = await startTestApp(engine, {}, { rotationOptions: { settleMs: 50 } });
      key = await t.tenant('clinic');
      const practitioner = await t.inject({ method: 'POST', url: `${base}/Practitioner`, key, body: { resourceType: 'Practitioner', name: [{ family: 'Weber' }] } });
      assert.equal(practitioner.statusCode, 201, practitioner.body);
      const patient = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: { resourceType: 'Patient', name: [{ family: 'Kern' }] } });
      assert.equal(patient.statusCode, 201, patient.body);
      patientId = json(patient)['id'] as string;
      const all = resources(patientId, json(practitioner)['id'] as string);
      for (const body of Object.values(all)) {
        const url = body.resourceType === 'Patient' ? `${base}/Patient/${patientId}` : `${base}/${body.resourceType}`;
        const written = await t.inject({ method: body.resourceType === 'Patient' ? 'PUT' : 'POST', url, key, body: body.resourceType === 'Patient' ? { ...body, id: patientId } : body });
        assert.ok([200, 201].includes(written.statusCode), `${body.resourceType}: ${written.body}`);
        ids[body.resourceType] = json(written)['id'] as string;
        const read = await t.inject({ method: 'GET', url: `${base}/${body.resourceType}/${ids[body.resourceType]}`, key });
        const { meta: readMeta, id: _id, ...rest } = json<Record<string, unknown>>(read);
        const { meta: sentMeta, ...sent } = body as Record<string, unknown>;
        assert.deepEqual(rest, sent, 'reads give back exactly what was written');
        if (sentMeta !== undefined) assert.deepEqual((readMeta as Record<string, unknown>)['tag'], (sentMeta as Record<string, unknown>)['tag']);
      }
    });
    after(() => t.close());

    it('no free text of any served type is readable in the raw storage', () => {
      assert.deepEqual(findMarkers(rawStorage()), []);
    });

    it('coded values stay searchable by system and code', async () => {
      const byCode = await t.inject({ method: 'GET', url: `${base}/Observation?code=http://loinc.org|5221-7&category=laboratory`, key });
      assert.equal(json(byCode)['total'], 1, byCode.body);
      assert.equal(json(await t.inject({ method: 'GET', url: `${base}/Observation?status=final&patient=${patientId}`, key }))['total'], 1);
    });

    it('a key rotation seals free text that versions from before kept in clear', async () => {
      const other = await t.inject({ method: 'POST', url: `${base}/Patient`, key, body: { resourceType: 'Patient', name: [{ family: 'Ost' }] } });
      const otherId = json(other)['id'] as string;
      // Not among the markers: SQLite may keep the old page's bytes in its free list until reused.
      const text = `FxlegacyTq${Date.now()}w`;
      const created = await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: { resourceType: 'Observation', status: 'final', code: { text }, subject: { reference: `Patient/${otherId}` }, valueString: 'x' } });
      assert.equal(created.statusCode, 201, created.body);
      const { id, ...rest } = json<Record<string, unknown>>(created);
      // The shape an older version stored: code (with its text) in clear beside the sealed elements.
      const { code, ...withoutCode } = rest;
      const db = await t.app.storage.tenant('clinic');
      const dataKey = await t.app.keys.dataKeyFor('clinic', `Patient/${otherId}`);
      const legacy = sealResource({ tenantId: 'clinic', type: 'Observation', id: id as string, versionId: 1 }, { ...withoutCode, id }, dataKey);
      const plain = JSON.stringify({ ...JSON.parse(legacy.plain), code });
      for (const table of ['resources', 'resource_versions']) {
        await db.execute(`UPDATE ${db.table(table)} SET content = ?, sealed = ? WHERE resource_type = 'Observation' AND id = ?`, [plain, legacy.sealed, id as string]);
      }
      const before = await t.inject({ method: 'GET', url: `${base}/Observation/${id as string}`, key });
      assert.equal(json(before)['code'].text, text, 'the older version reads as written');
      assert.deepEqual(findMarkers(rawStorage(), [text]), [text], 'the older shape is in clear (the scan sees it)');

      // And a version that had nothing sealed at all (no key recorded): an Observation without a value.
      const bare = await t.inject({ method: 'POST', url: `${base}/Observation`, key, body: { resourceType: 'Observation', status: 'registered', code: { text }, subject: { reference: `Patient/${otherId}` } } });
      assert.equal(bare.statusCode, 201, bare.body);
      const bareId = json(bare)['id'] as string;
      const bareRead = json<Record<string, unknown>>(await t.inject({ method: 'GET', url: `${base}/Observation/${bareId}`, key }));
      for (const table of ['resources', 'resource_versions']) {
        await db.execute(`UPDATE ${db.table(table)} SET content = ?, sealed = NULL, key_id = NULL, key_version = NULL WHERE resource_type = 'Observation' AND id = ?`, [JSON.stringify(bareRead), bareId]);
      }
      assert.equal(json(await t.inject({ method: 'GET', url: `${base}/Observation/${bareId}`, key }))['code'].text, text);

      const { job } = await t.app.rotation.start('tenant', 'clinic');
      const done = await t.app.rotation.run(job.id);
      assert.equal(done.phase, 'done', JSON.stringify(done));
      const after = await t.inject({ method: 'GET', url: `${base}/Observation/${id as string}`, key });
      assert.equal(json(after)['code'].text, text, 'still reads as written');
      assert.equal(json(after)['valueString'], 'x');
      assert.deepEqual(json(await t.inject({ method: 'GET', url: `${base}/Observation/${bareId}`, key })), bareRead, 'the version without a key reads as before');
      for (const table of ['resources', 'resource_versions']) {
        for (const observationId of [id as string, bareId]) {
          const rows = await db.query<{ content: string }>(`SELECT content FROM ${db.table(table)} WHERE resource_type = 'Observation' AND id = ?`, [observationId]);
          assert.equal(rows.length, 1);
          assert.ok(rows.every((row) => !row.content.includes(text) && !row.content.includes('"code"')), `${table} ${observationId}: no clear free text left`);
        }
      }
    });

    it('crypto-shredding makes the free text unreadable with the rest of the record', async () => {
      assert.ok((await t.app.keys.shred('clinic', `Patient/${patientId}`)) >= 1);
      await t.app.records.erase({ tenantId: 'clinic', db: await t.app.storage.tenant('clinic') }, `Patient/${patientId}`);
      for (const type of ['Observation', 'Appointment', 'Consent', 'Invoice']) {
        const response = await t.inject({ method: 'GET', url: `${base}/${type}/${ids[type]}`, key });
        assert.equal(response.statusCode, 410, `${type}: ${response.body}`);
        assert.equal(errorCode(response), 'erased');
      }
      assert.deepEqual(findMarkers(rawStorage()), []);
    });

    it('the scan would see a marker stored in clear (the test can fail)', () => {
      const canary = markers[0] as string;
      assert.deepEqual(findMarkers(Buffer.from(`{"display":"${canary}"}`)), [canary]);
    });
  });
}
