import assert from 'node:assert/strict';
import { json, patient, startTestApp, type EngineName, type TestApp } from '../../support/harness.js';
import { as, signInOperator, type Person } from '../../support/people.js';

export const hour = 3_600_000;
export const day = 24 * hour;
/** When the key read the patients; the incident is opened a day later. */
export const start = Date.parse('2026-03-02T08:00:00Z');

export interface Compromise {
  readonly t: TestApp;
  /** The app's clock, in ms: set it to move time. */
  readonly clock: { now: number };
  readonly tenant: string;
  readonly patients: readonly string[];
  readonly incidentId: string;
  readonly scopeId: string;
  /** A fresh operator session (sessions end after idle time; the tests move days). */
  operator(): Promise<Person>;
  call(who: Person, method: string, url: string, payload?: unknown): ReturnType<typeof as>;
}

/**
 * One tenant, a few patients (with US addresses) read by a leaked service key, an incident
 * opened a day later with the key's scope frozen into it: the ground every assessment flow stands on.
 */
export async function compromise(engine: EngineName, options: { patients?: number; tenant?: string } = {}): Promise<Compromise> {
  const clock = { now: start - day };
  const t = await startTestApp(engine, {}, { clock: { now: () => new Date((clock.now += 1)) } });
  const tenant = options.tenant ?? 'clinic';
  const writer = await t.tenant(tenant);
  const reader = await t.app.apiKeys.create({ tenantId: tenant, role: 'service-reader' });
  const patients: string[] = [];
  for (let i = 0; i < (options.patients ?? 4); i++) {
    const created = await t.inject({ method: 'POST', url: `/tenants/${tenant}/fhir/Patient`, key: writer, body: patient({ address: [{ use: 'home', line: [`${i} Main St`], city: 'Sacramento', state: 'CA', postalCode: '95814', country: 'US' }] }) });
    assert.equal(created.statusCode, 201, created.body);
    const id = String(json(created)['id']);
    clock.now = start + i * 1000;
    assert.equal((await t.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient/${id}`, key: reader.key })).statusCode, 200);
    patients.push(`Patient/${id}`);
  }
  clock.now = start + day;
  let n = 0;
  const operator = () => signInOperator(t, 'operator', `ops${(n += 1)}@hosting.example`, () => clock.now);
  const call = (who: Person, method: string, url: string, payload?: unknown) => as(t, who, { method, url, ...(payload === undefined ? {} : { body: payload, headers: { 'content-type': 'application/json' } }) });
  const ops = await operator();
  const opened = await call(ops, 'POST', '/platform/incidents', { title: 'Integration key leaked', severity: 'high', tenants: [tenant] });
  assert.equal(opened.statusCode, 201, opened.body);
  const incidentId = String(json(opened)['id']);
  const frozen = await call(ops, 'POST', `/platform/incidents/${incidentId}/scopes`, { from: new Date(start - 1000).toISOString(), to: new Date(start + hour).toISOString(), suspect: { kind: 'api-key', values: [reader.info.id] }, tenants: [tenant] });
  assert.equal(frozen.statusCode, 201, frozen.body);
  return { t, clock, tenant, patients, incidentId, scopeId: String(json(frozen)['id']), operator, call };
}
