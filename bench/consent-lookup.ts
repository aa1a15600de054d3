/**
 * `node --import tsx bench/consent-lookup.ts`: what the guard's per-request consent lookup costs
 * (src/privacy/consent-policies.ts), on SQLite, per patient looked up: a patient with no consent
 * (the indexed lookup alone), a patient with one consent whose parsed form is cached under its
 * version (the lookup plus a version compare), and the same with the cache off (every request
 * reads and decrypts the Consent again). Medians of BENCH_ROUNDS rounds of BENCH_LOOKUPS lookups.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createConsentPolicies } from '../src/privacy/index.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 5);
const lookups = Number(process.env['BENCH_LOOKUPS'] ?? 2000);
const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-consent-bench-'));
const config = loadConfig({ env: {}, overrides: { dataDir, server: { tls: { enabled: false } }, log: { level: 'silent' }, storage: { engine: 'sqlite' } } });
const app = await buildApp(config);
try {
  await app.tenants.create('bench');
  const { key } = await app.apiKeys.create({ tenantId: 'bench', role: 'service' });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json' };
  const post = async (body: Record<string, unknown>) => (JSON.parse((await app.http.inject({ method: 'POST', url: `/tenants/bench/fhir/${String(body['resourceType'])}`, headers, payload: JSON.stringify(body) })).body) as { id: string }).id;
  const plain = await post({ resourceType: 'Patient', name: [{ family: 'Plain' }] });
  const withConsent = await post({ resourceType: 'Patient', name: [{ family: 'Consenting' }] });
  for (const p of [plain, withConsent]) for (let n = 0; n < 200; n += 1) await post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${p}` }, valueQuantity: { value: n } });
  await post({
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${withConsent}` },
    provision: { type: 'permit', provision: [{ type: 'deny', purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }] }] },
  });
  const t = { tenantId: 'bench', db: await app.storage.tenant('bench') };
  const caller = { role: 'clinician' as const, purpose: 'TREAT' };
  const cached = createConsentPolicies({ records: app.records, clock: { now: () => new Date() } });
  const uncached = createConsentPolicies({ records: app.records, clock: { now: () => new Date() }, cacheSize: 0 });
  const scenarios = [
    ['no consent', cached, `Patient/${plain}`],
    ['one consent, cached by version', cached, `Patient/${withConsent}`],
    ['one consent, read every time', uncached, `Patient/${withConsent}`],
  ] as const;
  console.log(`| scenario | µs per lookup (median of ${rounds} × ${lookups}) |\n|---|---:|`);
  for (const [label, policies, subject] of scenarios) {
    const times: number[] = [];
    for (let r = 0; r < rounds; r += 1) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < lookups; i += 1) (await policies.of(t, [subject], caller)).get(subject)?.decide('read', ['internal', 'health']);
      times.push(Number(process.hrtime.bigint() - start) / 1000 / lookups);
    }
    times.sort((a, b) => a - b);
    console.log(`| ${label} | ${(times[Math.floor(times.length / 2)] as number).toFixed(1)} |`);
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
