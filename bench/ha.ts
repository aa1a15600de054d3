/**
 * `npm run bench -- ha`: the high-availability cluster (issue 8), on loopback, measured in one run:
 *
 * 1. API throughput through HAProxy with one Tresor node (the second stopped) against two nodes,
 *    same cluster, same load (autocannon, BENCH_CONNECTIONS connections, BENCH_SECONDS each):
 *    FHIR creates, and reads of existing records.
 * 2. Replication lag under the create load: pg_stat_replication sampled every 250 ms on the
 *    primary (bytes not yet replayed, replay lag in seconds), for the synchronous and the DR
 *    standby.
 * 3. Failover RTO over BENCH_DRILLS drills (default 10): `tresor drill failover` each time,
 *    median and max, RPO of each.
 *
 * Everything (PostgreSQL ×3, etcd, Patroni ×3, HAProxy, Tresor ×2, autocannon) shares this
 * machine's cores: two Tresor nodes cannot be faster than the CPUs they share with the rest;
 * the result says how much a second node costs or gains here. Results: stdout and
 * bench/results/<date>-ha.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildCore } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { currentPrimary, nodeSuperuserUrl, readCluster, runFailoverDrill, startCluster, stopCluster, tresorEnvironment, type FailoverReport } from '../src/ha/index.js';
import { startTresorNode } from '../src/ha/cluster.js';
import { stopProcess, waitFor, getJson } from '../src/ha/processes.js';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const connections = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const drills = Number(process.env['BENCH_DRILLS'] ?? 10);

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  duration: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: object) => PromiseLike<CannonResult>;

const dir = mkdtempSync(join(os.tmpdir(), 'tresor-bench-ha-'));
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};

try {
  console.log(`starting the cluster in ${dir}`);
  const { state, secrets } = await startCluster({ dir, tresorNodes: 2, log: (l) => console.log(`  ${l}`) });
  const core = await buildCore(loadConfig({ env: tresorEnvironment(state, secrets, { dataDir: join(dir, 'bench-cli') }) }));
  await core.tenants.create('bench', 'Bench');
  await core.tenants.create('drill', 'Failover drills');
  const { key } = await core.apiKeys.create({ tenantId: 'bench', role: 'service', label: 'bench' });
  const drillKey = (await core.apiKeys.create({ tenantId: 'drill', role: 'service', label: 'bench drills' })).key;
  const base = `https://127.0.0.1:${state.haproxy.httpPort}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
  const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench', given: ['Ada'] }], birthDate: '1980-02-03', gender: 'female' });

  console.log('tenants and keys made; creating 200 records to read');
  // Records to read.
  const ids: string[] = [];
  const https = await import('node:https');
  const agent = new https.Agent({ keepAlive: true, ca: (await import('node:fs')).readFileSync(state.tls.certFile, 'utf8'), servername: 'localhost' });
  const { requestJson } = await import('../src/ha/processes.js');
  for (let i = 0; i < 200; i++) ids.push(((await requestJson(`${base}/tenants/bench/fhir/Patient`, { method: 'POST', agent, headers, body: JSON.parse(patient) })).body as { id: string }).id);
  agent.destroy();

  // Write transactions on the primary: transaction ids handed out (each commit of a write takes
  // one), read without taking one, exact at once (the statistics views lag by up to 10 s).
  let sampler: pg.Client | undefined;
  const xids = async () => Number((await sampler!.query<{ x: string }>('SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x')).rows[0]!.x);
  const run = async (requests: object[]): Promise<CannonResult & { writeTxPerRequest: number }> => {
    // autocannon checks no certificate (its client sets rejectUnauthorized: false); loopback only.
    await autocannon({ url: base, connections, duration: 2, headers, requests });
    const before = await xids();
    const r = await autocannon({ url: base, connections, duration: seconds, headers, requests });
    return { ...r, writeTxPerRequest: ((await xids()) - before) / Math.max(1, r['2xx']) };
  };
  const creates = [{ method: 'POST', path: '/tenants/bench/fhir/Patient', body: patient }];
  let next = 0;
  const reads = [{ method: 'GET', setupRequest: (r: object) => ({ ...r, path: `/tenants/bench/fhir/Patient/${ids[next++ % ids.length]}` }) }];

  // Replication lag sampler on the primary, during the create load.
  const primary = (await currentPrimary(state))!;
  sampler = new pg.Client({ connectionString: nodeSuperuserUrl(state, secrets, primary) });
  await sampler.connect();
  const lag: Record<string, { bytes: number[]; seconds: number[] }> = {};
  let sampling = false;
  const sample = async () => {
    while (sampling) {
      const { rows } = await sampler!.query<{ name: string; sync: string; bytes: string | null; secs: number | null }>(
        'SELECT application_name AS name, sync_state AS sync, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS bytes, EXTRACT(EPOCH FROM replay_lag)::float8 AS secs FROM pg_stat_replication',
      );
      for (const r of rows) {
        const k = `${r.name} (${r.sync})`;
        lag[k] ??= { bytes: [], seconds: [] };
        lag[k].bytes.push(Number(r.bytes ?? 0));
        lag[k].seconds.push(r.secs ?? 0);
      }
      await sleep(250);
    }
  };

  const results: Array<{ name: string; r: CannonResult & { writeTxPerRequest: number } }> = [];
  const measure = async (name: string, requests: object[], withLag = false) => {
    process.stdout.write(`  ${name} … `);
    let sampled: Promise<void> | undefined;
    if (withLag) {
      sampling = true;
      sampled = sample();
    }
    const r = await run(requests);
    sampling = false;
    await sampled;
    console.log(`${r.requests.average.toFixed(0)} req/s, p99 ${r.latency.p99} ms, failed ${r.non2xx + r.errors + r.timeouts}, ${r.writeTxPerRequest.toFixed(2)} write transactions per request`);
    results.push({ name, r });
    return r;
  };

  console.log('throughput: one Tresor node behind HAProxy (the second stopped)');
  const second = state.tresor[1]!;
  await stopProcess(second.pid, 10_000);
  await waitFor(async () => (await getJson(`${base}/healthz`, 1000, (await import('node:fs')).readFileSync(state.tls.certFile, 'utf8'))).status === 200, 10_000);
  await sleep(2500); // HAProxy marks it down
  const oneCreate = await measure('1 node: FHIR create', creates);
  const oneRead = await measure('1 node: FHIR read', reads);
  console.log('throughput: two Tresor nodes behind HAProxy');
  startTresorNode(state, secrets, second);
  await waitFor(async () => (await getJson(`https://127.0.0.1:${second.port}/readyz`, 1000, (await import('node:fs')).readFileSync(state.tls.certFile, 'utf8'))).status === 200, 60_000, 200);
  await sleep(2500); // HAProxy marks it up
  const twoCreate = await measure('2 nodes: FHIR create', creates, true);
  const twoRead = await measure('2 nodes: FHIR read', reads);
  await sampler.end();
  sampler = undefined;

  console.log(`failover drills: ${drills}`);
  const reports: FailoverReport[] = [];
  for (let i = 1; i <= drills; i++) {
    const report = await runFailoverDrill({
      state: readCluster(dir).state,
      secrets,
      tenant: 'drill',
      apiKey: drillKey,
      verifyAudit: async () => {
        const v = await core.audit.verify('drill');
        return { events: v.events, findings: v.findings.map((f) => `${f.seq} ${f.kind}`) };
      },
    });
    console.log(`  drill ${i}: ${report.passed ? 'passed' : 'FAILED'}, RTO ${((report.rtoMs ?? NaN) / 1000).toFixed(1)} s, RPO ${report.rpoLostWrites} lost of ${report.acknowledged}, ${report.killed.node} → ${report.promoted}`);
    reports.push(report);
  }
  await core.audit.close();
  await core.storage.close();

  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  };
  const rtos = reports.map((r) => r.rtoMs).filter((v): v is number => v !== undefined);
  const date = new Date().toISOString().slice(0, 10);
  say(`# High-availability cluster bench, ${date}`);
  say('');
  say(`- Command: \`npm run bench -- ha\` (BENCH_SECONDS=${seconds}, BENCH_CONNECTIONS=${connections}, BENCH_DRILLS=${drills})`);
  say(`- Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`);
  say('- Cluster: etcd, PostgreSQL 15 primary + synchronous standby + async DR standby under Patroni (ttl 8 s, loop_wait 1 s), HAProxy (TLS in front, TLS to the nodes), two Tresor nodes; all on this machine, loopback. Load: autocannon in this process, HTTPS through HAProxy.');
  say('');
  say('## Throughput: two nodes against one (same cluster, same run)');
  say('');
  say('| scenario | 1 node req/s | 2 nodes req/s | ratio | 1 node p50 / p99 ms | 2 nodes p50 / p99 ms | failed (1 / 2) | write transactions per request (1 / 2) |');
  say('|---|---:|---:|---:|---|---|---|---|');
  for (const [name, one, two] of [['FHIR create (write, synchronous commit)', oneCreate, twoCreate], ['FHIR read', oneRead, twoRead]] as const) {
    say(`| ${name} | ${one.requests.average.toFixed(0)} | ${two.requests.average.toFixed(0)} | ${ratio(two.requests.average, one.requests.average)}× | ${one.latency.p50} / ${one.latency.p99} | ${two.latency.p50} / ${two.latency.p99} | ${one.non2xx + one.errors + one.timeouts} / ${two.non2xx + two.errors + two.timeouts} | ${one.writeTxPerRequest.toFixed(2)} / ${two.writeTxPerRequest.toFixed(2)} |`);
  }
  say('');
  say('## Replication lag under the create load (2 nodes), sampled every 250 ms');
  say('');
  say('| standby | samples | lag bytes p50 / p99 / max | replay lag s p50 / p99 / max |');
  say('|---|---:|---|---|');
  for (const [name, l] of Object.entries(lag)) {
    say(`| ${name} | ${l.bytes.length} | ${pct(l.bytes, 50)} / ${pct(l.bytes, 99)} / ${Math.max(...l.bytes)} | ${pct(l.seconds, 50).toFixed(4)} / ${pct(l.seconds, 99).toFixed(4)} / ${Math.max(...l.seconds).toFixed(4)} |`);
  }
  say('');
  say(`## Failover: ${reports.length} drills (SIGKILL of the primary's Patroni and PostgreSQL under a write load)`);
  say('');
  say(`- RTO (kill → first acknowledged write begun after it): median ${(pct(rtos, 50) / 1000).toFixed(1)} s, max ${(Math.max(...rtos) / 1000).toFixed(1)} s, min ${(Math.min(...rtos) / 1000).toFixed(1)} s (target ≤ 15 s)`);
  say(`- RPO: ${reports.reduce((s, r) => s + r.rpoLostWrites, 0)} acknowledged writes lost of ${reports.reduce((s, r) => s + r.acknowledged, 0)}; answers neither 201 nor 503: ${reports.reduce((s, r) => s + r.wrongAnswers, 0)}; drills passed: ${reports.filter((r) => r.passed).length} of ${reports.length}`);
  say(`- Each: ${rtos.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`);
  say(`- Old primary back as a standby (pg_rewind): median ${(pct(reports.map((r) => r.rejoinedMs ?? NaN), 50) / 1000).toFixed(1)} s`);
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${date}-ha.md`;
  writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`\nwritten to ${file}`);
} finally {
  await stopCluster(dir).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
