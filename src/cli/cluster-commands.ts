import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { buildCore, type Core } from '../app.js';
import { operatorEvent } from '../audit/index.js';
import { loadConfig } from '../config/index.js';
import { clusterStatus, readCluster, startCluster, stopCluster, tresorEnvironment, failoverMarkdown, runFailoverDrill, type ClusterState, type ClusterSecrets } from '../ha/index.js';
import type { CliIo, CliValues } from './io.js';
import { UsageError } from './usage-error.js';


const dirOf = (values: CliValues): string => {
  const dir = values['dir'];
  if (typeof dir !== 'string' || dir === '') throw new UsageError('missing --dir DIR (where the cluster keeps its state, data and logs)');
  return resolve(dir);
};

const positive = (value: string | boolean | string[] | undefined, what: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,4}$/.test(value) || Number(value) < 1) throw new UsageError(`${what} takes a whole number from 1`);
  return Number(value);
};

/** `tresor cluster start|stop|status --dir DIR`: the loopback high-availability cluster (src/ha/cluster.ts). */
export async function clusterCommand(io: CliIo, sub: string | undefined, values: CliValues): Promise<number> {
  const dir = dirOf(values);
  if (sub === 'start') {
    const tresorNodes = values['nodes'] === '0' ? 0 : positive(values['nodes'], '--nodes', 2);
    const started = performance.now();
    const { state } = await startCluster({ dir, tresorNodes, log: (line) => io.stderr(line) });
    io.stdout(`cluster ${state.scope} running in ${state.dir} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    io.stdout(`Tresor:     https://127.0.0.1:${state.haproxy.httpPort} (certificate ${state.tls.certFile})`);
    io.stdout(`PostgreSQL: 127.0.0.1:${state.haproxy.postgresPort} (the primary, through HAProxy)`);
    io.stdout(`stop it with: tresor cluster stop --dir ${state.dir}`);
    return 0;
  }
  if (sub === 'stop') {
    await stopCluster(dir, (line) => io.stderr(line));
    io.stdout(`cluster in ${dir} stopped`);
    return 0;
  }
  if (sub === 'env') {
    // For a shell on this machine: `eval "$(tresor cluster env --dir DIR)"`, then any tresor command
    // works on the cluster's database. It prints the cluster's secrets: loopback demos only.
    const { state, secrets } = readCluster(dir);
    const env = tresorEnvironment(state, secrets, { dataDir: join(state.dir, 'cli') });
    for (const [name, value] of Object.entries(env)) if (name.startsWith('TRESOR_') && name !== 'TRESOR_PORT' && name !== 'TRESOR_HOST') io.stdout(`export ${name}='${String(value).replace(/'/g, `'\\''`)}'`);
    return 0;
  }
  if (sub === 'status') {
    const status = await clusterStatus(dir);
    if (values['json'] === true) {
      io.stdout(JSON.stringify(status, null, 2));
    } else {
      for (const m of status.members) io.stdout(`${m.name}\t${m.role}\t${m.state}\ttimeline ${m.timeline ?? '-'}\tlag ${m.lag ?? '-'}`);
      for (const p of status.processes) io.stdout(`${p.name}\tpid ${p.pid}\t${p.running ? 'running' : 'not running'}`);
      io.stdout(`Tresor ${status.endpoints.https}; PostgreSQL ${status.endpoints.postgres}`);
    }
    return status.members.some((m) => m.role === 'leader' && m.state === 'running') ? 0 : 1;
  }
  throw new UsageError('tresor cluster start|stop|status|env --dir DIR');
}

/** A Core on the cluster's database, as its Tresor nodes see it (for the drill's own tenant, key and audit check). */
async function clusterCore(state: ClusterState, secrets: ClusterSecrets): Promise<Core> {
  const env = tresorEnvironment(state, secrets, { dataDir: join(state.dir, 'drill-cli') });
  return buildCore(loadConfig({ env }));
}

/** `tresor drill failover --dir DIR [--runs N]`: exit 1 when any run fails. */
export async function failoverDrillCommand(io: CliIo, values: CliValues): Promise<number> {
  const { state, secrets } = readCluster(dirOf(values));
  const runs = positive(values['runs'], '--runs', 1);
  const core = await clusterCore(state, secrets);
  let failed = 0;
  const rtos: number[] = [];
  try {
    const tenant = 'drill';
    const actor = { id: `cli:${userInfo().username}`, role: 'operator' as const, client: 'tresor-cli' };
    if ((await core.tenants.get(tenant)) === undefined) {
      await core.tenants.create(tenant, 'Failover drills');
      await core.audit.record(tenant, [operatorEvent('tenant.created', actor)]);
    }
    const { key, info } = await core.apiKeys.create({ tenantId: tenant, role: 'service', label: 'failover drill' });
    await core.audit.record(tenant, [operatorEvent('apikey.created', actor, { detail: `${info.id} ${info.role}` })]);
    try {
      for (let run = 1; run <= runs; run++) {
        io.stderr(`drill ${run} of ${runs}`);
        const report = await runFailoverDrill({
          state,
          secrets,
          tenant,
          apiKey: key,
          log: (line) => io.stderr(`  ${line}`),
          verifyAudit: async () => {
            const result = await core.audit.verify(tenant);
            return { events: result.events, findings: result.findings.map((f) => `event ${f.seq}: ${f.kind}`) };
          },
        });
        io.stdout(failoverMarkdown(report).trimEnd());
        io.stdout(`report: ${report.reportFiles.join(', ')}`);
        if (!report.passed) failed++;
        if (report.rtoMs !== undefined) rtos.push(report.rtoMs);
      }
    } finally {
      await core.apiKeys.revoke(info.id).catch(() => undefined);
    }
  } finally {
    await core.audit.close();
    await core.storage.close();
  }
  if (runs > 1 && rtos.length > 0) {
    const sorted = [...rtos].sort((a, b) => a - b);
    io.stdout(`RTO over ${rtos.length} drills: median ${(sorted[Math.floor((sorted.length - 1) / 2)]! / 1000).toFixed(1)} s, max ${(sorted.at(-1)! / 1000).toFixed(1)} s; ${failed} failed`);
  }
  return failed > 0 ? 1 : 0;
}
