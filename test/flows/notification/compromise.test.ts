import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Scope, ScopeAct } from '../../../src/breach/index.js';
import { residencyOf, type AffectedPerson } from '../../../src/notification/index.js';
import { engines, json, observation, startTestApp, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';

const day = 86_400_000;
const start = Date.parse('2026-05-04T07:00:00Z');
const attacker = '198.51.100.23';

/** Homes of the test's patients: three US states (HIPAA counts residents per State) and two Länder. */
const places = [
  { country: 'US', state: 'CA', city: 'Fresno', postalCode: '93721' },
  { country: 'US', state: 'TX', city: 'El Paso', postalCode: '79901' },
  { country: 'US', state: 'FL', city: 'Tampa', postalCode: '33602' },
  { country: 'DE', state: 'NW', city: 'Bonn', postalCode: '53111' },
  { country: 'DE', state: 'BY', city: 'Passau', postalCode: '94032' },
] as const;

/** What the test wrote into each Patient record: the people resolved must say the same. */
interface Written {
  readonly name: string;
  readonly email: string;
  readonly postal: readonly string[];
  readonly country: string;
  readonly state: string;
  readonly language: 'de' | 'en';
}

function writtenPatient(tenant: string, n: number): { written: Written; stated: boolean; resource: Record<string, unknown> } {
  const place = places[(n * 7 + tenant.length) % places.length] as (typeof places)[number];
  // German, English, or no stated language (the fallback, English, applies).
  const spoken = n % 3 === 0 ? 'de' : n % 3 === 1 ? 'en' : undefined;
  const given = `Vorname${n}`;
  const family = `${tenant === 'north' ? 'Nord' : tenant === 'south' ? 'Süd' : 'West'}mann`;
  const line = `${n} Teststraße`;
  const email = `p${n}.${tenant}@example.org`;
  return {
    written: { name: `${given} ${family}`, email, postal: [line, `${place.postalCode} ${place.city}`, place.country], country: place.country, state: place.state, language: spoken ?? 'en' },
    stated: spoken !== undefined,
    resource: {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:test', value: `${tenant}-${n}` }],
      name: [{ use: 'official', given: [given], family }],
      telecom: [{ system: 'email', value: email, use: 'home' }],
      address: [{ use: 'home', line: [line], city: place.city, postalCode: place.postalCode, state: place.state, country: place.country }],
      ...(spoken === undefined ? {} : { communication: [{ preferred: true, language: { coding: [{ system: 'urn:ietf:bcp:47', code: spoken }] } }] }),
      birthDate: '1975-05-05',
    },
  };
}

/** The test's own log of what the stolen keys got back in clear, per patient: when, and which classes. */
interface Seen {
  first: number;
  last: number;
  health: boolean;
}

/**
 * A simulated compromise end to end: a reading key of each of two tenants reads 1,200 patients'
 * records over three days — one by one, by search, and heart rates by search — among refused
 * attempts; a third tenant is untouched. The operator opens an incident and freezes the scope;
 * it must name exactly the patients, tenants, classes and first/last accesses of the test's own
 * request log. The affected people, read from their records, carry the names, addresses and
 * languages the test wrote, and their residency per state is the test's own count.
 */
for (const engine of engines()) {
  describe(`a simulated compromise, from the trail to the people to notify [${engine}]`, () => {
    let t: TestApp;
    let now = start - 3 * day;
    const clock = { now: () => new Date((now += 1)) };
    let operator: Person;
    const suspects: Record<string, { id: string; key: string }> = {};
    const created: Record<string, string[]> = {};
    const written: Record<string, Map<string, Written>> = {};
    // Patients whose record states no language: their letters take the configured fallback (German).
    const unstated = new Set<string>();
    const heartRates: Record<string, Array<[observationId: string, patientId: string]>> = {};
    const seen: Record<string, Map<string, Seen>> = { north: new Map(), south: new Map() };
    const reads = { north: 700, south: 500 } as const;
    let incidentId = '';
    const by = (): ScopeAct => ({ actor: { id: 'operator:test', role: 'operator', client: 'session' }, sourceIp: '127.0.0.1', requestId: 'compromise-test' });

    const stolen = (tenant: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
      t.app.http.inject({
        method,
        url: `/tenants/${tenant}/fhir/${path}`,
        remoteAddress: attacker,
        headers: { authorization: `Bearer ${(suspects[tenant] as { key: string }).key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    /** Notes a resource the suspect received, at the time the test set for this request. */
    const note = (tenant: string, at: number, resource: { resourceType: string; id: string; subject?: { reference?: string } }) => {
      const patient = resource.resourceType === 'Patient' ? `Patient/${resource.id}` : String(resource.subject?.reference);
      const log = seen[tenant] as Map<string, Seen>;
      const entry = log.get(patient) ?? { first: at, last: at, health: false };
      entry.last = Math.max(entry.last, at);
      entry.first = Math.min(entry.first, at);
      if (resource.resourceType === 'Observation') entry.health = true;
      log.set(patient, entry);
    };
    const call = (method: string, url: string, body?: unknown) => as(t, operator, { method, url, ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
    let lastFrozen = '';
    const summaryId = () => lastFrozen;
    const freeze = async (body: unknown): Promise<Scope> => {
      const frozen = await call('POST', `/platform/incidents/${incidentId}/scopes`, body);
      assert.equal(frozen.statusCode, 201, frozen.body);
      lastFrozen = String(json(frozen)['id']);
      const whole = await call('GET', `/platform/incidents/${incidentId}/scopes/${String(json(frozen)['id'])}`);
      assert.equal(whole.statusCode, 200);
      return json<Scope>(whole);
    };

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      for (const [tenant, count] of [['north', 750], ['south', 550], ['west', 30]] as const) {
        const writer = await t.tenant(tenant);
        created[tenant] = [];
        written[tenant] = new Map();
        // Bulk: a transaction Bundle per hundred patients.
        for (let done = 0; done < count; done += 100) {
          const made = Array.from({ length: Math.min(100, count - done) }, (_, i) => writtenPatient(tenant, done + i));
          const entry = made.map((m) => ({ request: { method: 'POST', url: 'Patient' }, resource: m.resource }));
          const response = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir`, key: writer, body: { resourceType: 'Bundle', type: 'transaction', entry } });
          assert.equal(response.statusCode, 200, response.body);
          json(response)['entry'].forEach((e: { response: { location: string } }, i: number) => {
            const id = e.response.location.split('/')[1] as string;
            created[tenant]?.push(id);
            written[tenant]?.set(`Patient/${id}`, (made[i] as { written: Written }).written);
            if (!(made[i] as { stated: boolean }).stated) unstated.add(`${tenant}/${id}`);
          });
        }
        // Every tenth patient has a heart rate (health data).
        const withHeartRate = (created[tenant] as string[]).filter((_, i) => i % 10 === 0);
        const response = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir`, key: writer, body: { resourceType: 'Bundle', type: 'transaction', entry: withHeartRate.map((id) => ({ request: { method: 'POST', url: 'Observation' }, resource: observation(id) })) } });
        assert.equal(response.statusCode, 200, response.body);
        heartRates[tenant] = json(response)['entry'].map((e: { response: { location: string } }, i: number) => [e.response.location.split('/')[1] as string, withHeartRate[i] as string]);
        const reader = await t.app.apiKeys.create({ tenantId: tenant, role: 'service-reader' });
        suspects[tenant] = { id: reader.info.id, key: reader.key };
      }

      // Before the window: a read of a patient never read again must not count.
      now = start - 2 * day;
      const early = created['north']?.at(-1) as string;
      assert.equal((await stolen('north', 'GET', `Patient/${early}`)).statusCode, 200);

      for (const tenant of ['north', 'south'] as const) {
        const ids = (created[tenant] as string[]).slice(0, reads[tenant]);
        const oneByOne = Math.floor(ids.length * 0.4);
        const bySearch = Math.floor(ids.length * 0.3);
        // Day 1: 40 % one by one, a request every 30 s from 08:00.
        for (const [i, id] of ids.slice(0, oneByOne).entries()) {
          now = start + 3_600_000 + i * 30_000;
          const at = now;
          const response = await stolen(tenant, 'GET', `Patient/${id}`);
          assert.equal(response.statusCode, 200);
          note(tenant, at, json(response) as never);
        }
        // Day 2: 30 % by search (20 a page), then the heart rates of the day-1 patients (one search event, many patients).
        const searched = ids.slice(oneByOne, oneByOne + bySearch);
        for (let i = 0; i < searched.length; i += 20) {
          now = start + day + i * 60_000;
          const at = now;
          const response = await stolen(tenant, 'GET', `Patient?_id=${searched.slice(i, i + 20).join(',')}&_count=50`);
          assert.equal(response.statusCode, 200, response.body);
          for (const e of json(response)['entry'] ?? []) note(tenant, at, e.resource);
        }
        const dayOne = new Set(ids.slice(0, oneByOne));
        const theirs = (heartRates[tenant] as Array<[string, string]>).filter(([, patient]) => dayOne.has(patient)).map(([id]) => id);
        for (let i = 0; i < theirs.length; i += 20) {
          now = start + day + 12 * 3_600_000 + i * 60_000;
          const at = now;
          const response = await stolen(tenant, 'GET', `Observation?_id=${theirs.slice(i, i + 20).join(',')}&_count=50`);
          assert.equal(response.statusCode, 200, response.body);
          for (const e of json(response)['entry'] ?? []) note(tenant, at, e.resource);
        }
        // Refused: a reading key cannot write; a record that is not there; a tenant that is not its own.
        now = start + day + 20 * 3_600_000;
        assert.equal((await stolen(tenant, 'POST', 'Patient', writtenPatient(tenant, 9999).resource)).statusCode, 403);
        assert.equal((await stolen(tenant, 'GET', 'Patient/not-there')).statusCode, 404);
        const elsewhere = await t.app.http.inject({ method: 'GET', url: `/tenants/west/fhir/Patient/${created['west']?.[0]}`, remoteAddress: attacker, headers: { authorization: `Bearer ${(suspects[tenant] as { key: string }).key}` } });
        assert.equal(elsewhere.statusCode, 403, 'a key of one tenant reads nothing of another');
        // Day 3: the rest, one by one.
        for (const [i, id] of ids.slice(oneByOne + bySearch).entries()) {
          now = start + 2 * day + i * 30_000;
          const at = now;
          const response = await stolen(tenant, 'GET', `Patient/${id}`);
          assert.equal(response.statusCode, 200);
          note(tenant, at, json(response) as never);
        }
      }

      // Day 5: the security officer hears of it and opens an incident.
      now = start + 4 * day;
      operator = await signInOperator(t, 'operator', 'security@hosting.example', () => now);
      const opened = await call('POST', '/platform/incidents', { title: 'Integration keys of two clinics leaked', severity: 'critical' });
      assert.equal(opened.statusCode, 201, opened.body);
      incidentId = String(json(opened)['id']);
    });
    after(() => t.close());

    it('the frozen scope names exactly the patients, tenants, classes and first/last accesses of the test’s own log; the people are the ones the records name', { timeout: 600_000 }, async () => {
      const scope = await freeze({ from: new Date(start).toISOString(), to: new Date(start + 3 * day).toISOString(), suspect: { kind: 'api-key', values: [suspects['north']?.id, suspects['south']?.id] }, tenants: 'all' });
      assert.deepEqual(scope.inputs.tenants, ['north', 'south', 'west']);
      assert.equal(scope.totals.tenants, 2, 'west: nothing disclosed, nothing attempted (a refused cross-tenant read is recorded in the key’s own tenant)');
      assert.equal(scope.totals.patients, 1200);
      assert.equal(scope.totals.inClear, true);
      const incident = json(await call('GET', `/platform/incidents/${incidentId}`));
      assert.deepEqual(incident.tenants, ['north', 'south'], 'the tenants the scope touched became affected');

      for (const tenant of ['north', 'south'] as const) {
        const log = seen[tenant] as Map<string, Seen>;
        const found = scope.tenants.find((x) => x.tenantId === tenant);
        assert.ok(found);
        assert.equal(log.size, reads[tenant], 'the test’s own count');
        assert.deepEqual(found.patients.list.map((p) => p.patient), [...log.keys()].sort(), `${tenant}: exactly the patients received`);
        assert.equal(found.patients.truncated, false);
        assert.deepEqual(found.classes.inClear, ['health', 'internal', 'personal']);
        assert.deepEqual(found.classes.ciphertextOnly, []);
        // Refused: the write and the read of another tenant's record (access.denied, in the key's
        // own tenant's trail), and the read of a record that is not there.
        assert.deepEqual(found.attempts.byAction, { 'access.denied': 2, 'record.read': 1 });
        assert.equal(found.attempts.count, 3);
        for (const access of found.patients.list) {
          const mine = log.get(access.patient) as Seen;
          assert.equal(access.disclosure, 'in-clear');
          // The trail's time is the request's time plus the few clock readings the request made.
          assert.ok(access.first !== null && access.first >= mine.first && access.first < mine.first + 1000, `${access.patient}: first access`);
          assert.ok(access.last !== null && access.last >= mine.last && access.last < mine.last + 1000, `${access.patient}: last access`);
          assert.deepEqual(access.classes, mine.health ? ['health', 'internal', 'personal'] : ['internal', 'personal'], `${access.patient}: classes`);
        }
      }
      assert.ok(!scope.tenants.some((x) => x.patients.list.some((p) => p.patient === `Patient/${created['north']?.at(-1)}`)), 'the read before the window is not in it');
      assert.equal(scope.tenants.find((x) => x.tenantId === 'west')?.patients.count, 0);

      // The people to notify, from their own records.
      const people: AffectedPerson[] = [];
      for (const tenant of ['north', 'south'] as const) {
        const resolved = await t.app.affectedPeople.resolve(scope, tenant, by(), 'en');
        assert.equal(resolved.length, reads[tenant]);
        for (const person of resolved) {
          const mine = written[tenant]?.get(person.patient) as Written;
          assert.ok(mine, `${person.patient} is one the test wrote`);
          assert.deepEqual(
            { name: person.name, email: person.email, postal: person.postal, country: person.country, state: person.state, language: person.language, unreachable: person.unreachable, disclosure: person.disclosure },
            { ...mine, unreachable: null, disclosure: 'in-clear' },
            person.patient,
          );
        }
        people.push(...resolved);
      }
      const residency = residencyOf(people);
      const expected: Record<string, number> = {};
      for (const tenant of ['north', 'south'] as const) {
        for (const patient of (seen[tenant] as Map<string, Seen>).keys()) {
          const mine = written[tenant]?.get(patient) as Written;
          expected[`${mine.country}/${mine.state}`] = (expected[`${mine.country}/${mine.state}`] ?? 0) + 1;
        }
      }
      assert.deepEqual(residency, { byJurisdiction: expected, unknown: 0 });
      const usStates = Object.entries(residency.byJurisdiction).filter(([where]) => where.startsWith('US/'));
      assert.ok(usStates.length >= 3, 'at least three US states');
      assert.ok(usStates.every(([, count]) => count > 0 && count < 500), 'no state reaches 500 residents (45 CFR 164.406: no media notice)');

      // The assessment, computed from the frozen scope: per tenant (each clinic is its own
      // controller and covered entity), with the operator as processor / business associate.
      const assessed = await call('POST', `/platform/incidents/${incidentId}/assessment`, {});
      assert.equal(assessed.statusCode, 201, assessed.body);
      const checklist = json<{ awareAt: number; items: Array<{ rule: string; tenantId: string; answer: string; dueAt: number | null; reasoning: string }> }>(assessed);
      const answerOf = (tenant: string, rule: string) => checklist.items.find((i) => i.tenantId === tenant && i.rule === rule);
      for (const tenant of ['north', 'south'] as const) {
        const expectations: Record<string, string> = {
          'gdpr.33-1': 'yes', // the supervisory authority, within 72 h
          'gdpr.33-2': 'yes', // the processor tells the clinic
          'gdpr.34-1': 'yes', // health data in clear: high risk, the patients are told
          'hipaa.164-402': 'yes', // unsecured PHI: no safe harbour
          'hipaa.164-404': 'yes', // the individuals
          'hipaa.164-406': 'no', // no state with more than 500 residents affected
          'hipaa.164-408': 'yes', // HHS, with the individual notices (500 or more)
          'hipaa.164-410': 'yes', // the business associate tells the covered entity
          'pci.12-10-1': 'not-applicable', // no card data
        };
        for (const [rule, answer] of Object.entries(expectations)) assert.equal(answerOf(tenant, rule)?.answer, answer, `${tenant} ${rule}: ${answerOf(tenant, rule)?.reasoning ?? 'missing'}`);
        assert.equal(answerOf(tenant, 'gdpr.33-1')?.dueAt, checklist.awareAt + 72 * 3_600_000, 'Art. 33(1): 72 hours from awareness');
        assert.equal(answerOf(tenant, 'hipaa.164-404')?.dueAt, checklist.awareAt + 60 * day, '164.404(b): at most 60 days');
        assert.equal(answerOf(tenant, 'hipaa.164-408')?.dueAt, checklist.awareAt + 60 * day, `${tenant}: ${reads[tenant]} affected, 500 or more → with the individual notices`);
        assert.match(answerOf(tenant, 'gdpr.33-1')?.reasoning ?? '', new RegExp(String(reads[tenant])), 'the reasoning names the count');
      }
      assert.ok(!checklist.items.some((i) => i.tenantId === 'west'), 'an untouched tenant has no duties');

      // The drafts name the right people: one letter per affected person, in their language, and
      // no one else — every letter of each tenant, rendered as text.
      const drafted = await call('POST', `/platform/incidents/${incidentId}/drafts`, { scopeId: summaryId() });
      assert.equal(drafted.statusCode, 201, drafted.body);
      const drafts = json<{ drafts: Array<{ id: string; kind: string; tenant: string }> }>(drafted).drafts;
      assert.deepEqual(drafts.map((d) => `${d.tenant}:${d.kind}`).sort(), ['north:authority', 'north:customer', 'north:individual', 'south:authority', 'south:customer', 'south:individual']);
      for (const tenant of ['north', 'south'] as const) {
        const letters = drafts.find((d) => d.tenant === tenant && d.kind === 'individual') as { id: string };
        const text = await call('GET', `/platform/incidents/${incidentId}/drafts/${letters.id}?format=text`);
        assert.equal(text.statusCode, 200, text.body);
        const byName = new Map([...(seen[tenant] as Map<string, Seen>).keys()].map((patient) => [(written[tenant]?.get(patient) as Written).name, { ...(written[tenant]?.get(patient) as Written), letterIn: unstated.has(`${tenant}/${patient.slice('Patient/'.length)}`) ? 'de' : (written[tenant]?.get(patient) as Written).language }]));
        const addressed = new Set<string>();
        for (const letter of text.body.split('\n\f\n')) {
          const greeting = /^(?:Dear|Guten Tag) (.+),$/m.exec(letter);
          const person = byName.get(greeting?.[1] ?? '');
          assert.ok(person !== undefined, `${tenant}: a letter to someone the key did not reach: ${greeting?.[1] ?? '(no name)'}`);
          assert.equal(greeting?.[0].startsWith('Guten Tag'), person.letterIn === 'de', `${person.name}: in their language (or the configured fallback, German)`);
          for (const line of person.postal) assert.ok(letter.includes(line), `${person.name}: addressed to ${line}`);
          assert.ok(!addressed.has(person.name), `${person.name}: one letter`);
          addressed.add(person.name);
        }
        assert.equal(addressed.size, reads[tenant], `${tenant}: a letter for every affected person`);
      }

      // The frozen scope verifies against its hash and the trail.
      const [summary] = json(await call('GET', `/platform/incidents/${incidentId}/scopes`)).scopes;
      assert.equal(summary.id, summaryId());
      const check = await call('POST', `/platform/incidents/${incidentId}/scopes/${summary.id}/verify`);
      assert.deepEqual(json(check), { intact: true, matchesTrail: true, recomputedHash: scope.hash, differences: [] });
      // Resolving the people is in each tenant's trail, with the patients as subjects (their "who saw my data").
      await t.app.audit.settle('north');
      const [resolvedEvent] = await t.app.audit.query('north', { actions: ['breach.people_resolved'], count: 1 });
      assert.equal(resolvedEvent?.subjects.length, reads.north);
      assert.equal(resolvedEvent?.purpose, 'HLEGAL');
    });

    it('only ciphertext exposed (raw files, keys safe): every patient ciphertext-only, nothing in clear; with the keys: in clear', { timeout: 300_000 }, async () => {
      const window = { from: new Date(start).toISOString(), to: new Date(start + 3 * day).toISOString(), tenants: ['north', 'south'] };
      const sealed = await freeze({ ...window, suspect: { kind: 'raw-files', keysExposed: false } });
      assert.equal(sealed.totals.patients, 750 + 550, 'every stored patient, read or not, was in the files');
      for (const part of sealed.tenants) {
        assert.ok(part.patients.list.length > 0);
        assert.ok(part.patients.list.every((p) => p.disclosure === 'ciphertext-only' && p.first === null && p.last === null && p.classes.length === 0), `${part.tenantId}: ciphertext only`);
        assert.ok(part.classes.ciphertextOnly.includes('personal') && part.classes.ciphertextOnly.includes('health'), 'personal and health data only sealed');
        assert.ok(!part.classes.inClear.includes('personal') && !part.classes.inClear.includes('health'), 'no personal or health data in clear, only internal ids and codes');
        assert.ok(part.reasoning.rules.length > 0, 'the scope explains itself');
      }
      const people = await t.app.affectedPeople.resolve(sealed, 'south', by(), 'en');
      assert.equal(people.length, 550);
      assert.ok(people.every((p) => p.disclosure === 'ciphertext-only'));
      // The assessment of the ciphertext-only scope: the encryption safe harbour (HIPAA 164.402:
      // secured per HHS guidance is not "unsecured PHI") and GDPR Art. 34(3)(a) (unintelligible:
      // no notice to the patients) apply, and the checklist says why.
      const sealedAssessment = await call('POST', `/platform/incidents/${incidentId}/assessment`, { scopeId: summaryId() });
      assert.equal(sealedAssessment.statusCode, 201, sealedAssessment.body);
      const sealedItems = json<{ items: Array<{ rule: string; tenantId: string; answer: string; reasoning: string }> }>(sealedAssessment).items;
      for (const tenant of ['north', 'south']) {
        const item = (rule: string) => sealedItems.find((i) => i.tenantId === tenant && i.rule === rule);
        assert.equal(item('hipaa.164-402')?.answer, 'no', item('hipaa.164-402')?.reasoning);
        assert.match(item('hipaa.164-402')?.reasoning ?? '', /safe harbou?r/i);
        for (const rule of ['hipaa.164-404', 'hipaa.164-406', 'hipaa.164-408']) assert.equal(item(rule)?.answer, 'no', `${tenant} ${rule}: no notice without unsecured PHI`);
        assert.equal(item('gdpr.34-1')?.answer, 'no', item('gdpr.34-1')?.reasoning);
        assert.match(item('gdpr.34-1')?.reasoning ?? '', /34\(3\)\(a\)/);
        assert.ok(item('gdpr.33-1') !== undefined && item('gdpr.33-1')?.reasoning !== '', 'Art. 33 is still assessed, with its reasons');
      }

      const leaked = await freeze({ ...window, suspect: { kind: 'raw-files', keysExposed: true } });
      assert.equal(leaked.totals.patients, 1300);
      for (const part of leaked.tenants) {
        assert.ok(part.patients.list.every((p) => p.disclosure === 'in-clear'), `${part.tenantId}: the keys went with the files`);
        assert.deepEqual(part.classes.ciphertextOnly, []);
        assert.ok(part.classes.inClear.includes('personal') && part.classes.inClear.includes('health'));
      }
      assert.notEqual(leaked.hash, sealed.hash);
    });
  });
}
