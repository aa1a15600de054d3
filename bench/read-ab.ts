/**
 * `node --import tsx bench/read-ab.ts <dist-a> <dist-b>`: the read path of two builds of Tresor
 * (each a compiled dist/ directory, e.g. an older commit's and this one's) in one process, each
 * driven through Fastify's inject by 32 concurrent callers, in alternating rounds: both see the
 * same machine at nearly the same moment, which a busy shared machine does not give two runs of
 * `npm run bench`. Reported per build and scenario: the process's CPU time per request (all
 * threads), median over the rounds, and the ratio b ÷ a. Inject skips the sockets, so the
 * figures are below the HTTP bench's; the ratio is what counts.
 *
 *   BENCH_ROUNDS=6        rounds per build and scenario
 *   BENCH_REQUESTS=3000   requests per round
 *   BENCH_CONNECTIONS=32  concurrent callers
 *
 * Scenarios: /healthz, read Observation with an API key, the same read with an OAuth access token
 * (client credentials), with every security step on (durable audit, sealing, the guard).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as AppModule from '../src/app.js';
import type * as ConfigModule from '../src/config/index.js';
import type * as RecordsModule from '../src/records/index.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 6);
const requests = Number(process.env['BENCH_REQUESTS'] ?? 3000);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const tenantId = 'bench';
const scope = 'system/Observation.rs';

type App = Awaited<ReturnType<typeof AppModule.buildApp>>;
interface Subject {
  readonly label: string;
  readonly app: App;
  readonly dataDir: string;
  readonly key: string;
  readonly token: string;
  readonly ids: readonly string[];
}

async function start(label: string, dist: string): Promise<Subject> {
  const base = pathToFileURL(resolve(dist)).href;
  const [appModule, configModule, recordsModule] = (await Promise.all([import(`${base}/app.js`), import(`${base}/config/index.js`), import(`${base}/records/index.js`)])) as [typeof AppModule, typeof ConfigModule, typeof RecordsModule];
  const dataDir = mkdtempSync(join(os.tmpdir(), 'tresor-read-ab-'));
  const publicUrl = 'http://127.0.0.1:9';
  const config = configModule.loadConfig({ env: {}, overrides: { dataDir, server: { host: '127.0.0.1', port: 9, publicUrl, tls: { enabled: false }, trustProxy: true }, log: { level: 'silent' }, storage: { engine: 'sqlite' } } });
  recordsModule.warmFhirValidator(['Patient', 'Observation']);
  const app = await appModule.buildApp(config);
  await app.tenants.create(tenantId);
  const { key } = await app.apiKeys.create({ tenantId, role: 'service' });
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
  const created = await app.http.inject({ method: 'POST', url: `/tenants/${tenantId}/fhir/Patient`, headers, payload: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench', given: ['Anna'] }], birthDate: '1970-01-01' }) });
  const patientId = (JSON.parse(created.body) as { id: string }).id;
  const ids: string[] = [];
  for (let n = 0; n < 64; n += 1) {
    const body = {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }], text: 'Heart rate' },
      subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString(),
      valueQuantity: { value: 55 + n, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    };
    const answer = await app.http.inject({ method: 'POST', url: `/tenants/${tenantId}/fhir/Observation`, headers, payload: JSON.stringify(body) });
    ids.push((JSON.parse(answer.body) as { id: string }).id);
  }
  const { client, clientSecret } = await app.clients.create(tenantId, { name: 'Read A/B', publisher: 'bench', kind: 'backend', authMethod: 'client_secret_basic', scope, role: 'service-reader' }, 'bench');
  const form = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  const tokenAnswer = await app.http.inject({
    method: 'POST',
    url: `/tenants/${tenantId}/oauth/token`,
    headers: { authorization: `Basic ${Buffer.from(`${form(client.clientId)}:${form(clientSecret as string)}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
  const token = (JSON.parse(tokenAnswer.body) as { access_token?: string }).access_token;
  if (token === undefined) throw new Error(`${label}: no access token (${tokenAnswer.statusCode})`);
  return { label, app, dataDir, key, token, ids };
}

type Scenario = 'healthz' | 'read' | 'token read';
const scenarios: readonly Scenario[] = ['healthz', 'read', 'token read'];

/** CPU µs per request over one round of `requests` requests. */
async function round(subject: Subject, scenario: Scenario): Promise<number> {
  let next = 0;
  const caller = async () => {
    while (next < requests) {
      const n = next++;
      const response =
        scenario === 'healthz'
          ? await subject.app.http.inject({ method: 'GET', url: '/healthz' })
          : await subject.app.http.inject({
              method: 'GET',
              url: `/tenants/${tenantId}/fhir/Observation/${subject.ids[n % subject.ids.length] as string}`,
              headers: { authorization: `Bearer ${scenario === 'read' ? subject.key : subject.token}`, accept: 'application/fhir+json' },
            });
      if (response.statusCode !== 200) throw new Error(`${subject.label} ${scenario}: status ${response.statusCode}`);
    }
  };
  const before = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, caller));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / requests;
}

const median = (values: readonly number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] as number;

const [distA, distB] = process.argv.slice(2);
if (distA === undefined || distB === undefined) {
  console.error('usage: node --import tsx bench/read-ab.ts <dist-a> <dist-b>');
  process.exit(2);
}
const subjects = [await start('a', distA), await start('b', distB)];
try {
  const cpu = new Map<string, number[]>();
  for (const scenario of scenarios) for (const s of subjects) await round(s, scenario); // warm-up
  for (let r = 0; r < rounds; r += 1) {
    for (const scenario of scenarios) {
      const order = r % 2 === 0 ? subjects : [...subjects].reverse();
      for (const s of order) {
        const key = `${s.label}|${scenario}`;
        cpu.set(key, [...(cpu.get(key) ?? []), await round(s, scenario)]);
      }
    }
  }
  console.log(`a = ${distA}, b = ${distB}; ${rounds} alternating rounds of ${requests} requests, ${connections} concurrent callers, in one process`);
  console.log('| scenario | a: CPU µs/req (median) | b: CPU µs/req (median) | b ÷ a | a ÷ /healthz | b ÷ /healthz | a rounds | b rounds |');
  console.log('|---|---:|---:|---:|---:|---:|---|---|');
  const of = (label: string, scenario: Scenario) => cpu.get(`${label}|${scenario}`) ?? [];
  for (const scenario of scenarios) {
    const a = median(of('a', scenario));
    const b = median(of('b', scenario));
    const list = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
    console.log(`| ${scenario} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / a).toFixed(3)} | ${(a / median(of('a', 'healthz'))).toFixed(2)} | ${(b / median(of('b', 'healthz'))).toFixed(2)} | ${list(of('a', scenario))} | ${list(of('b', scenario))} |`);
  }
} finally {
  for (const s of subjects) {
    await s.app.close();
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}
